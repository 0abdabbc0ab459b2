"""Every capture of ../shared/fixtures/netflow through the decoder: record counts and key fields.

The akvorado captures are pcap files (Ethernet/IPv4/UDP); the logstash-codec-netflow ones raw UDP
payloads, fed templates first (``*_tpl*`` before ``*_data*``). The expected values were read from
the decoder and checked by hand against the templates (field by field for the NAT, sampling,
IPv6, variable-length and reduced-size cases); a change of any of them is a change of behaviour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mango_netflow.decode import DecodeError, Decoder
from mango_netflow.decode.pcap import read_pcap
from mango_netflow.flows import unpack_address

ADDRESSES = ("src", "dst", "nat_src", "nat_dst")
RAW_EXPORTER = "192.0.2.1"

# (pcap files in order, flows, the first flow's non-zero fields)
AKVORADO = [
    (
        ("template", "data"),
        4,
        {
            "first": 1647285925050,
            "last": 1647285925050,
            "src": "198.38.121.178",
            "dst": "91.170.143.87",
            "sport": 443,
            "dport": 19624,
            "proto": 6,
            "octets": 1500,
            "packets": 1,
            "in_if": 335,
            "out_if": 450,
            "sampling": 1,
        },
    ),
    (
        ("datalink-template", "datalink-data"),
        1,
        {"first": 1690728616000, "last": 1690728616000, "octets": 0, "in_if": 582, "sampling": 1},
    ),
    (
        ("ethernet-over-mpls-with-control-word-template", "ethernet-over-mpls-with-control-word-data"),
        10,
        {"first": 1782629172000, "last": 1782629172000, "octets": 0, "in_if": 1091, "sampling": 1},
    ),
    (
        ("icmp-template", "icmp-data"),
        4,
        {
            "first": 1685867993216,
            "last": 1685867993216,
            "src": "2001:db8::",
            "dst": "2001:db8::1",
            "dport": 32768,
            "proto": 58,
            "octets": 104,
            "packets": 1,
            "sampling": 1,
        },
    ),
    (
        ("ipfix-srv6-template", "ipfix-srv6-data"),
        1,
        {"first": 1763461484000, "last": 1763461484000, "octets": 0, "sampling": 1},
    ),
    (
        ("ipfixprobe-templates", "ipfixprobe-data"),
        4,
        {
            "first": 1254722767492,
            "last": 1254722767526,
            "src": "10.10.1.4",
            "dst": "10.10.1.1",
            "sport": 56166,
            "dport": 53,
            "proto": 17,
            "octets": 62,
            "packets": 1,
            "in_if": 10,
            "sampling": 1,
        },
    ),
    (
        ("juniper-cpid-template", "juniper-cpid-data"),
        1,
        {"first": 1769092514000, "last": 1769092514000, "octets": 0, "in_if": 737, "sampling": 1},
    ),
    (
        (
            "multiplesamplingrates-template",
            "multiplesamplingrates-options-template",
            "multiplesamplingrates-options-data",
            "multiplesamplingrates-data",
        ),
        12,
        {
            "first": 1701360969980,
            "last": 1701360974891,
            "src": "ffff::68",
            "dst": "ffff::1a",
            "sport": 443,
            "dport": 52616,
            "proto": 6,
            "octets": 1348,
            "packets": 18,
            "in_if": 97,
            "out_if": 6,
            "sampling": 4000,
        },
    ),
    (("options-template", "options-data"), 0, {}),
    (
        ("samplingrate-template", "samplingrate-data"),
        6,
        {
            "first": 1691746198012,
            "last": 1691746198012,
            "src": "232.131.215.65",
            "dst": "142.183.180.65",
            "sport": 13245,
            "dport": 10907,
            "proto": 6,
            "octets": 160,
            "packets": 1,
            "in_if": 13,
            "sampling": 2048,
        },
    ),
    (
        ("data+templates",),
        21,
        {
            "first": 1684085310480,
            "last": 1684085310480,
            "src": "120.120.28.238",
            "dst": "120.120.244.112",
            "sport": 63308,
            "dport": 31424,
            "proto": 17,
            "octets": 48,
            "packets": 1,
            "in_if": 701,
            "out_if": 946,
            "sampling": 100,
        },
    ),
    (
        ("mpls",),
        2,
        {
            "first": 1699893330381,
            "last": 1699893330381,
            "src": "fd00::1:0:1:7:1",
            "dst": "fd00::1:0:1:5:1",
            "sport": 49153,
            "dport": 862,
            "proto": 17,
            "octets": 89,
            "packets": 1,
            "out_if": 16,
            "sampling": 10,
        },
    ),
    (
        ("nat",),
        9,
        {
            "first": 1749049740450,
            "last": 1749049740450,
            "src": "172.16.100.198",
            "dst": "10.89.87.1",
            "sport": 35303,
            "dport": 53,
            "proto": 17,
            "octets": 0,
            "nat_src": "10.143.52.29",
            "nat_dst": "10.89.87.1",
            "nat_sport": 35303,
            "nat_dport": 53,
            "nat_event": 1,
            "sampling": 1,
        },
    ),
    (
        ("nfv5",),
        29,
        {
            "first": 1680626664000,
            "last": 1680626664000,
            "src": "161.202.212.212",
            "dst": "202.152.70.24",
            "sport": 30104,
            "dport": 11963,
            "proto": 6,
            "octets": 133,
            "packets": 1,
            "in_if": 117,
            "out_if": 86,
            "sampling": 1,
        },
    ),
    (
        ("physicalinterfaces",),
        8,
        {
            "first": 1737739081621,
            "last": 1737739081621,
            "src": "147.53.240.75",
            "dst": "212.82.101.24",
            "sport": 55629,
            "dport": 993,
            "proto": 6,
            "octets": 4506,
            "packets": 3,
            "in_if": 1342177291,
            "sampling": 1000,
        },
    ),
]

# (payload files in order, flows, data sets still waiting for a template, the first flow's non-zero fields)
LOGSTASH = [
    (
        ("ipfix.dat",),
        6,
        0,
        {
            "first": 1431516013506,
            "last": 1431516026232,
            "src": "192.168.253.1",
            "dst": "192.168.253.128",
            "sport": 60560,
            "dport": 22,
            "proto": 6,
            "octets": 260,
            "packets": 5,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat"),
        8,
        0,
        {
            "first": 1498744708000,
            "last": 1498744708000,
            "src": "10.99.130.239",
            "dst": "10.99.252.50",
            "sport": 65105,
            "dport": 53,
            "proto": 17,
            "octets": 0,
            "in_if": 48660,
            "out_if": 26092,
            "sampling": 1,
        },
    ),
    (
        (
            "ipfix_test_barracuda_extended_uniflow_tpl256.dat",
            "ipfix_test_barracuda_extended_uniflow_data256.dat",
        ),
        2,
        0,
        {
            "first": 1524039407000,
            "last": 1524039407000,
            "src": "10.236.5.4",
            "dst": "64.235.151.76",
            "sport": 51917,
            "dport": 443,
            "proto": 6,
            "octets": 0,
            "in_if": 35233,
            "out_if": 3689,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_ixia_tpldata256.dat", "ipfix_test_ixia_tpldata271.dat"),
        3,
        0,
        {
            "first": 1540470259882,
            "last": 1540470272022,
            "src": "119.103.128.175",
            "dst": "202.170.60.247",
            "sport": 51695,
            "dport": 36197,
            "proto": 17,
            "octets": 360,
            "packets": 4,
            "in_if": 1,
            "out_if": 1,
            "sampling": 1,
        },
    ),
    (
        (
            "ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
            "ipfix_test_juniper_mx240_junos151r6s3_data512.dat",
        ),
        0,
        0,
        {},
    ),
    (
        ("ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat", "ipfix_test_mikrotik_data259.dat"),
        46,
        0,
        {
            "first": 1500481088000,
            "last": 1500481088000,
            "src": "10.10.8.197",
            "dst": "192.168.128.17",
            "sport": 123,
            "dport": 123,
            "proto": 17,
            "octets": 152,
            "packets": 2,
            "nat_src": "192.168.230.216",
            "nat_dst": "192.168.128.17",
            "in_if": 13,
            "out_if": 7,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_netscaler_tpl.dat", "ipfix_test_netscaler_data.dat"),
        3,
        1,
        {
            "first": 1478866159000,
            "last": 1478866159000,
            "src": "192.168.0.1",
            "dst": "10.0.0.1",
            "sport": 51053,
            "dport": 443,
            "proto": 6,
            "octets": 40,
            "packets": 1,
            "in_if": 8,
            "out_if": 2147483651,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat"),
        1,
        0,
        {
            "first": 1513236225148,
            "last": 1513236225148,
            "src": "10.0.1.228",
            "dst": "10.0.0.34",
            "sport": 5878,
            "dport": 80,
            "proto": 6,
            "octets": 0,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_openbsd_pflow_tpl.dat", "ipfix_test_openbsd_pflow_data.dat"),
        26,
        0,
        {
            "first": 1469107799000,
            "last": 1469107799000,
            "src": "192.168.0.17",
            "dst": "192.168.0.1",
            "sport": 64020,
            "dport": 80,
            "proto": 6,
            "octets": 373,
            "packets": 7,
            "in_if": 1,
            "out_if": 1,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_procera_tpl52935.dat", "ipfix_test_procera_data52935.dat"),
        8,
        0,
        {
            "first": 1523762810000,
            "last": 1523762942000,
            "src": "181.214.87.71",
            "dst": "138.44.161.14",
            "sport": 53787,
            "dport": 47838,
            "proto": 6,
            "octets": 0,
            "sampling": 1,
        },
    ),
    (
        ("ipfix_test_viptela_tpl257.dat", "ipfix_test_viptela_data257.dat"),
        1,
        0,
        {
            "first": 1511274735000,
            "last": 1511274735000,
            "src": "10.113.7.54",
            "dst": "172.16.21.27",
            "sport": 41717,
            "dport": 443,
            "proto": 6,
            "octets": 775,
            "packets": 8,
            "in_if": 11,
            "out_if": 3,
            "sampling": 1,
        },
    ),
    (
        (
            "ipfix_test_vmware_vds_tpl.dat",
            "ipfix_test_vmware_vds_data264.dat",
            "ipfix_test_vmware_vds_data266.dat",
            "ipfix_test_vmware_vds_data266_267.dat",
        ),
        5,
        0,
        {
            "first": 1482409057000,
            "last": 1482409057000,
            "src": "172.18.65.21",
            "dst": "172.18.65.211",
            "sport": 61209,
            "dport": 5985,
            "proto": 6,
            "octets": 100,
            "packets": 2,
            "in_if": 3,
            "out_if": 11,
            "sampling": 1,
        },
    ),
    (
        (
            "ipfix_test_yaf_tpl45841.dat",
            "ipfix_test_yaf_tpls_option_tpl.dat",
            "ipfix_test_yaf_data45841.dat",
            "ipfix_test_yaf_data45873.dat",
            "ipfix_test_yaf_data53248.dat",
        ),
        2,
        0,
        {
            "first": 1482670715818,
            "last": 1482670715819,
            "src": "172.16.32.201",
            "dst": "172.16.32.100",
            "sport": 46086,
            "dport": 53,
            "proto": 17,
            "octets": 132,
            "packets": 2,
            "sampling": 1,
        },
    ),
    (
        ("netflow5.dat",),
        2,
        0,
        {
            "first": 1430591884898,
            "last": 1430591887476,
            "src": "10.0.2.2",
            "dst": "10.0.2.15",
            "sport": 54435,
            "dport": 22,
            "proto": 6,
            "octets": 230,
            "packets": 5,
            "sampling": 1,
        },
    ),
    (
        ("netflow5_test_juniper_mx80.dat",),
        29,
        0,
        {
            "first": 1469109154936,
            "last": 1469109154936,
            "src": "10.0.0.1",
            "dst": "192.168.0.2",
            "sport": 443,
            "dport": 61608,
            "proto": 6,
            "octets": 1500,
            "packets": 1,
            "in_if": 542,
            "out_if": 536,
            "sampling": 1000,
        },
    ),
    (
        ("netflow5_test_microtik.dat",),
        30,
        0,
        {
            "first": 1469109102144,
            "last": 1469109102144,
            "src": "10.0.13.1",
            "dst": "192.168.0.98",
            "sport": 5228,
            "dport": 52734,
            "proto": 6,
            "octets": 104,
            "packets": 2,
            "in_if": 13,
            "out_if": 50,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_cisco_asr1001x_tpl259.dat",),
        25,
        0,
        {
            "first": 1507580540637,
            "last": 1507580540731,
            "src": "10.111.111.242",
            "dst": "10.12.100.13",
            "sport": 52444,
            "dport": 53218,
            "proto": 6,
            "octets": 965,
            "packets": 7,
            "in_if": 4,
            "out_if": 16,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_0length_fields_tpl_data.dat",),
        10,
        0,
        {
            "first": 1482456888299,
            "last": 1482456888299,
            "src": "239.255.255.250",
            "dst": "192.168.1.80",
            "proto": 2,
            "octets": 0,
            "in_if": 3,
            "out_if": 2,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_cisco_1941K9.dat",),
        29,
        0,
        {
            "first": 1507050219000,
            "last": 1507050219000,
            "src": "192.168.0.111",
            "dst": "62.217.193.1",
            "sport": 37301,
            "dport": 53,
            "proto": 17,
            "octets": 75,
            "packets": 1,
            "in_if": 17,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_cisco_aci_tpl256-258.dat", "netflow9_test_cisco_aci_data256.dat"),
        3,
        0,
        {
            "first": 1539602884019,
            "last": 1539602903066,
            "src": "10.154.231.145",
            "dst": "10.154.231.146",
            "sport": 179,
            "dport": 49411,
            "proto": 6,
            "octets": 99,
            "packets": 2,
            "in_if": 369139712,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat"),
        14,
        0,
        {
            "first": 1444384067569,
            "last": 1444384067569,
            "src": "192.168.14.1",
            "dst": "2.2.2.11",
            "dport": 17549,
            "proto": 1,
            "octets": 56,
            "in_if": 3,
            "out_if": 2,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_cisco_asa_2_tpl_26x.dat",
            "netflow9_test_cisco_asa_2_tpl_27x.dat",
            "netflow9_test_cisco_asa_2_data.dat",
        ),
        19,
        0,
        {
            "first": 1469109032955,
            "last": 1469109032955,
            "src": "192.168.0.2",
            "dst": "192.168.0.17",
            "sport": 61775,
            "dport": 80,
            "proto": 6,
            "octets": 844,
            "nat_src": "192.168.0.2",
            "nat_dst": "192.168.0.17",
            "nat_sport": 61775,
            "nat_dport": 80,
            "nat_event": 2,
            "in_if": 3,
            "out_if": 4,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_cisco_asr9k_opttpl256.dat",
            "netflow9_test_cisco_asr9k_opttpl257.dat",
            "netflow9_test_cisco_asr9k_opttpl334.dat",
            "netflow9_test_cisco_asr9k_tpl260.dat",
            "netflow9_test_cisco_asr9k_tpl266.dat",
            "netflow9_test_cisco_asr9k_data256.dat",
            "netflow9_test_cisco_asr9k_data260.dat",
        ),
        21,
        0,
        {
            "first": 1481018933940,
            "last": 1481018933940,
            "src": "10.0.9.146",
            "dst": "10.0.31.81",
            "sport": 54017,
            "dport": 443,
            "proto": 6,
            "octets": 40,
            "packets": 1,
            "in_if": 110,
            "out_if": 158,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_cisco_nbar_opttpl260.dat",
            "netflow9_test_cisco_nbar_tpl262.dat",
            "netflow9_test_cisco_nbar_data262.dat",
        ),
        5,
        0,
        {
            "first": 1487070619368,
            "last": 1487070619368,
            "src": "10.30.18.62",
            "dst": "10.30.19.180",
            "dport": 2048,
            "proto": 1,
            "octets": 44,
            "packets": 1,
            "in_if": 1,
            "sampling": 1,
        },
    ),
    (("netflow9_test_cisco_wlc_8510_tpl_262.dat",), 0, 0, {}),
    (
        ("netflow9_test_cisco_wlc_tpl.dat", "netflow9_test_cisco_wlc_data261.dat"),
        19,
        0,
        {"first": 1498113074000, "last": 1498113074000, "octets": 3320, "packets": 83, "sampling": 1},
    ),
    (
        ("netflow9_test_field_layer2segmentid_tpl.dat", "netflow9_test_field_layer2segmentid_data.dat"),
        1,
        0,
        {
            "first": 1516095887000,
            "last": 1516095887000,
            "src": "192.168.200.136",
            "dst": "80.82.237.40",
            "sport": 61926,
            "dport": 445,
            "proto": 6,
            "octets": 52,
            "packets": 1,
            "in_if": 7,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_fortigate_fortios_521_tpl.dat",
            "netflow9_test_fortigate_fortios_521_data256.dat",
            "netflow9_test_fortigate_fortios_521_data257.dat",
        ),
        1,
        0,
        {
            "first": 1500957868522,
            "last": 1500957877522,
            "src": "192.168.99.7",
            "dst": "31.13.87.36",
            "sport": 61910,
            "dport": 443,
            "proto": 6,
            "octets": 152,
            "packets": 3,
            "in_if": 9,
            "out_if": 3,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat",
            "netflow9_test_fortigate_fortios_542_appid_data258_262.dat",
        ),
        17,
        0,
        {
            "first": 1526000049580,
            "last": 1526000049990,
            "src": "192.168.100.151",
            "dst": "182.50.136.239",
            "sport": 45380,
            "dport": 80,
            "proto": 6,
            "octets": 748,
            "packets": 6,
            "nat_src": "10.0.0.250",
            "nat_dst": "0.0.0.0",
            "nat_sport": 45380,
            "in_if": 8,
            "out_if": 2,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_h3c_tpl3281.dat", "netflow9_test_h3c_data3281.dat"),
        16,
        0,
        {
            "first": 1526894614158,
            "last": 1526894703677,
            "src": "10.22.166.30",
            "dst": "10.22.163.21",
            "proto": 6,
            "octets": 1027087,
            "packets": 697,
            "in_if": 2662,
            "out_if": 1590,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_h3c_netstream_varstring_tpl3281.dat",
            "netflow9_test_h3c_netstream_varstring_data3281.dat",
        ),
        1,
        0,
        {
            "first": 1531877673274,
            "last": 1531877702969,
            "src": "20.20.20.20",
            "dst": "20.20.255.255",
            "sport": 137,
            "dport": 137,
            "proto": 17,
            "octets": 702,
            "packets": 9,
            "in_if": 17,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_huawei_netstream_tpl.dat", "netflow9_test_huawei_netstream_data.dat"),
        1,
        0,
        {
            "first": 1517194611940,
            "last": 1517194939000,
            "src": "10.108.219.53",
            "dst": "10.111.112.204",
            "sport": 45587,
            "dport": 2598,
            "proto": 6,
            "octets": 200,
            "packets": 4,
            "in_if": 8,
            "out_if": 31,
            "sampling": 1,
        },
    ),
    # "invalid" in logstash's eyes: its options flowset is 22 bytes (not padded to 4) and the header counts
    # 2 records of 6 — both unambiguous, so it is read (the sampling interval 100 comes from that flowset)
    (
        ("netflow9_test_invalid01.dat",),
        2,
        0,
        {
            "first": 1440543856102,
            "last": 1440543856102,
            "src": "2001:44b8:1118:7200::10",
            "dst": "2001:44b8:4030:cd91:8075:bae:d39d:2621",
            "sport": 123,
            "dport": 123,
            "proto": 17,
            "octets": 96,
            "packets": 1,
            "sampling": 100,
        },
    ),
    (
        ("netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat",),
        12,
        6,
        {
            "first": 1518932805000,
            "last": 1518932813996,
            "src": "37.122.1.226",
            "dst": "193.151.198.166",
            "sport": 27622,
            "dport": 36025,
            "proto": 6,
            "octets": 156,
            "packets": 3,
            "in_if": 7,
            "out_if": 7,
            "sampling": 1,
        },
    ),
    (("netflow9_test_juniper_srx_tplopt.dat",), 0, 0, {}),
    (
        ("netflow9_test_macaddr_tpl.dat", "netflow9_test_macaddr_data.dat"),
        29,
        0,
        {
            "first": 1444466821000,
            "last": 1444466821000,
            "src": "172.16.32.1",
            "dst": "172.16.32.201",
            "sport": 65058,
            "dport": 22,
            "proto": 6,
            "octets": 0,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_nprobe_tpl.dat", "netflow9_test_nprobe_data.dat"),
        1,
        0,
        {
            "first": 1444331155010,
            "last": 1444331155015,
            "src": "172.16.32.201",
            "dst": "172.16.32.1",
            "sport": 22,
            "dport": 65058,
            "proto": 6,
            "octets": 200,
            "packets": 2,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_nprobe_dpi.dat",),
        1,
        0,
        {
            "first": 512000,
            "last": 515000,
            "src": "0.0.0.0",
            "dst": "0.0.0.0",
            "octets": 82,
            "packets": 1,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_paloalto_81_tpl256-263.dat",
            "netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat",
        ),
        1,
        0,
        {
            "first": 1528291202000,
            "last": 1528291202000,
            "src": "134.220.2.6",
            "dst": "134.220.1.156",
            "sport": 88,
            "dport": 50234,
            "proto": 6,
            "octets": 363,
            "packets": 3,
            "in_if": 500010024,
            "out_if": 500010002,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_paloalto_panos_tpl.dat", "netflow9_test_paloalto_panos_data.dat"),
        8,
        0,
        {
            "first": 1510583971000,
            "last": 1510583971000,
            "src": "23.35.171.27",
            "dst": "10.32.91.205",
            "sport": 80,
            "dport": 49519,
            "proto": 6,
            "octets": 70,
            "packets": 1,
            "in_if": 23,
            "out_if": 24,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_softflowd_tpl_data.dat",),
        7,
        0,
        {
            "first": 1444331026140,
            "last": 1444331026141,
            "src": "172.16.32.100",
            "dst": "172.16.32.248",
            "sport": 123,
            "dport": 123,
            "proto": 17,
            "octets": 76,
            "packets": 1,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_streamcore_tpl_data256.dat", "netflow9_test_streamcore_tpl_data260.dat"),
        4,
        0,
        {
            "first": 1484135242867,
            "last": 1484135248879,
            "src": "100.78.40.201",
            "dst": "10.231.128.150",
            "sport": 8080,
            "dport": 50073,
            "proto": 6,
            "octets": 128,
            "packets": 3,
            "in_if": 1152,
            "out_if": 1148,
            "sampling": 1,
        },
    ),
    (
        (
            "netflow9_test_ubnt_edgerouter_tpl.dat",
            "netflow9_test_ubnt_edgerouter_data1024.dat",
            "netflow9_test_ubnt_edgerouter_data1025.dat",
        ),
        16,
        0,
        {
            "first": 1473524245825,
            "last": 1473524245825,
            "src": "10.1.0.135",
            "dst": "10.4.0.251",
            "sport": 53,
            "dport": 17232,
            "proto": 17,
            "octets": 174,
            "packets": 2,
            "in_if": 4,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_unknown_tpl266_292_data.dat",),
        2,
        0,
        {
            "first": 1512147866000,
            "last": 1512147866000,
            "src": "192.168.0.3",
            "dst": "192.168.0.2",
            "sport": 137,
            "dport": 137,
            "proto": 17,
            "octets": 78,
            "packets": 1,
            "in_if": 13,
            "sampling": 1,
        },
    ),
    (
        ("netflow9_test_valid01.dat",),
        7,
        0,
        {
            "first": 1444331026140,
            "last": 1444331026141,
            "src": "172.16.32.100",
            "dst": "172.16.32.248",
            "sport": 123,
            "dport": 123,
            "proto": 17,
            "octets": 76,
            "packets": 1,
            "sampling": 1,
        },
    ),
]

# Broken on purpose (record counts far beyond the packet): counted as malformed, never decoded.
INVALID = ["netflow5_test_invalid01.dat", "netflow5_test_invalid02.dat"]


def fields_of(flow: np.void) -> dict:
    """The non-zero fields of a flow, addresses as text (the form of the tables above)."""
    out = {}
    for name in (
        "first",
        "last",
        "src",
        "dst",
        "sport",
        "dport",
        "proto",
        "octets",
        "packets",
        "nat_src",
        "nat_dst",
        "nat_sport",
        "nat_dport",
        "nat_event",
        "in_if",
        "out_if",
        "sampling",
    ):
        if name in ADDRESSES:
            address = unpack_address(flow[name])
            if address is not None:
                out[name] = str(address)
        elif int(flow[name]) or name == "octets":
            out[name] = int(flow[name])
    return out


def decode_all(decoder: Decoder, packets: list[tuple[bytes, str]]) -> np.ndarray:
    return np.concatenate([decoder.decode(payload, source) for payload, source in packets])


@pytest.mark.parametrize(("names", "count", "first"), AKVORADO, ids=[" + ".join(a[0]) for a in AKVORADO])
def test_akvorado_captures(netflow_fixtures: Path, names, count, first):
    decoder = Decoder()
    packets = [
        (d.payload, d.source)
        for name in names
        for d in read_pcap(str(netflow_fixtures / "akvorado" / f"{name}.pcap"))
    ]
    flows = decode_all(decoder, packets)
    assert len(flows) == count
    assert decoder.held() == 0
    if count:
        assert fields_of(flows[0]) == first
    stats = decoder.stats[packets[0][1]]
    assert stats.irregular == 0
    assert (stats.packets, stats.flows, stats.malformed, stats.missing_template) == (
        len(packets),
        count,
        0,
        0,
    )


@pytest.mark.parametrize(("names", "count", "held", "first"), LOGSTASH, ids=[a[0][0] for a in LOGSTASH])
def test_logstash_payloads(netflow_fixtures: Path, names, count, held, first):
    decoder = Decoder()
    packets = [
        ((netflow_fixtures / "logstash-codec-netflow" / name).read_bytes(), RAW_EXPORTER) for name in names
    ]
    flows = decode_all(decoder, packets)
    assert len(flows) == count
    assert decoder.held() == held  # data sets of templates these captures never show
    if count:
        assert fields_of(flows[0]) == first
    assert decoder.stats[RAW_EXPORTER].malformed == 0
    # only the broken v9 packet counts other records in its header than it holds (read, and counted)
    assert decoder.stats[RAW_EXPORTER].irregular == (1 if "netflow9_test_invalid01.dat" in names else 0)


@pytest.mark.parametrize("name", INVALID)
def test_invalid_payloads_are_counted_not_decoded(netflow_fixtures: Path, name):
    decoder = Decoder()
    with pytest.raises(DecodeError, match="record count"):
        decoder.decode((netflow_fixtures / "logstash-codec-netflow" / name).read_bytes(), RAW_EXPORTER)
    assert decoder.stats[RAW_EXPORTER].malformed == 1
    assert decoder.stats[RAW_EXPORTER].flows == 0
    # the decoder goes on with the next packet
    valid = (netflow_fixtures / "logstash-codec-netflow" / "netflow5.dat").read_bytes()
    assert len(decoder.decode(valid, RAW_EXPORTER)) == 2


def test_every_capture_is_covered(netflow_fixtures: Path):
    """A capture added to the fixtures must get its expectations here."""
    covered = {f"{n}.pcap" for names, _c, _f in AKVORADO for n in names}
    covered |= {n for names, _c, _h, _f in LOGSTASH for n in names} | set(INVALID)
    present = {p.name for p in netflow_fixtures.rglob("*") if p.suffix in (".pcap", ".dat")}
    assert present == covered


def test_nat_events_and_translations(netflow_fixtures: Path):
    """nat.pcap: NetFlow v9 NAT44 events with the translated source (postNATSourceIPv4Address and port)."""
    decoder = Decoder()
    flows = decode_all(
        decoder, [(d.payload, d.source) for d in read_pcap(str(netflow_fixtures / "akvorado" / "nat.pcap"))]
    )
    assert set(flows["nat_event"].tolist()) <= {1, 2} and (flows["nat_event"] > 0).all()
    assert all(unpack_address(f["nat_src"]) is not None for f in flows)


def test_asa_firewall_event_becomes_nat_event(netflow_fixtures: Path):
    """Cisco ASA sends NF_F_FW_EVENT with NF_F_XLATE_* fields and no natEvent: created/deleted → 1/2."""
    decoder = Decoder()
    base = netflow_fixtures / "logstash-codec-netflow"
    names = [
        "netflow9_test_cisco_asa_2_tpl_26x.dat",
        "netflow9_test_cisco_asa_2_tpl_27x.dat",
        "netflow9_test_cisco_asa_2_data.dat",
    ]
    flows = decode_all(decoder, [((base / n).read_bytes(), RAW_EXPORTER) for n in names])
    assert set(flows["nat_event"].tolist()) <= {0, 1, 2}
    assert (flows["nat_event"] > 0).any()
    translated = flows[flows["nat_event"] > 0]
    assert all(unpack_address(f["nat_src"]) is not None for f in translated)


def test_sampling_rate_per_sampler_from_option_data(netflow_fixtures: Path):
    """multiplesamplingrates: option data gives each sampler id its rate; data records name their sampler."""
    decoder = Decoder()
    names = [
        "multiplesamplingrates-template",
        "multiplesamplingrates-options-template",
        "multiplesamplingrates-options-data",
        "multiplesamplingrates-data",
    ]
    flows = decode_all(
        decoder,
        [
            (d.payload, d.source)
            for n in names
            for d in read_pcap(str(netflow_fixtures / "akvorado" / f"{n}.pcap"))
        ],
    )
    assert len(set(flows["sampling"].tolist())) > 1
    assert (flows["sampling"] > 1).all()


def test_data_before_its_template_is_held_and_decoded_later(netflow_fixtures: Path):
    decoder = Decoder()
    akvorado = netflow_fixtures / "akvorado"
    data = [(d.payload, d.source) for d in read_pcap(str(akvorado / "data.pcap"))]
    assert len(decode_all(decoder, data)) == 0
    assert decoder.held() == 1
    template = [(d.payload, d.source) for d in read_pcap(str(akvorado / "template.pcap"))]
    assert len(decode_all(decoder, template)) == 4  # the held data set, decoded now
    assert decoder.held() == 0


def test_decoding_many_packets_together_equals_one_by_one(netflow_fixtures: Path):
    """decode_many (the collector's way) gives the same flows as decoding packet by packet."""
    groups = [[(d.payload, d.source) for name in names for d in read_pcap(str(netflow_fixtures / "akvorado" / f"{name}.pcap"))]
              for names, _c, _f in AKVORADO]
    groups += [[((netflow_fixtures / "logstash-codec-netflow" / name).read_bytes(), RAW_EXPORTER) for name in names]
               for names, _c, _h, _f in LOGSTASH]
    for packets in groups:
        one_by_one = decode_all(Decoder(), packets)
        together, errors = Decoder().decode_many(packets)
        assert not errors
        joined = np.concatenate(list(together.values())) if together else one_by_one[:0]
        assert np.sort(joined, order=["first", "sport", "dport", "octets"]).tobytes() == \
            np.sort(one_by_one, order=["first", "sport", "dport", "octets"]).tobytes()
