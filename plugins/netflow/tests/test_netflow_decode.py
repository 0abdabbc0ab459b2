"""The decoder on hand-made packets: each rule of NetFlow v5/v9 and IPFIX that the fixtures do not
pin down on their own (withdrawal, re-definition, held data, option data, times, NAT, variable and
reduced-size fields, bounds)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from mango_netflow.decode import DecodeError, Decoder
from mango_netflow.decode import encode as enc
from mango_netflow.decode import fields as ie
from mango_netflow.flows import address_key, empty, pack_address, unpack_address

EXPORT = 1_700_000_000  # s
V4 = [(ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.SRC_PORT, 2), (ie.DST_PORT, 2), (ie.PROTOCOL, 1), (ie.OCTETS, 4),
      (ie.PACKETS, 4)]


def ip(text: str) -> bytes:
    return pack_address(text)[12:] if "." in text else pack_address(text)


def v4_record(src: str, dst: str, sport: int, dport: int, proto: int = 6, octets: int = 100, packets: int = 1) -> bytes:
    return enc.record([(ip(src), 4), (ip(dst), 4), (sport, 2), (dport, 2), (proto, 1), (octets, 4), (packets, 4)])


def ipfix(*sets: bytes, domain: int = 0, export: int = EXPORT) -> bytes:
    return enc.ipfix_packet(sets, export_time=export, domain=domain)


def template_set(template_id: int = 256, fields=V4) -> bytes:  # noqa: ANN001
    return enc.set_(2, enc.ipfix_template(template_id, fields))


def test_ipfix_basic_flow_and_addresses():
    decoder = Decoder()
    flows = decoder.decode(ipfix(template_set(), enc.set_(256, v4_record("10.0.0.1", "192.0.2.9", 1234, 443) * 3)),
                           "198.51.100.1")
    assert len(flows) == 3
    assert unpack_address(flows[0]["src"]) == unpack_address(address_key("10.0.0.1"))
    assert str(unpack_address(flows[2]["dst"])) == "192.0.2.9"
    assert flows["sport"].tolist() == [1234] * 3 and flows["octets"].tolist() == [100] * 3
    # no time fields: the export time
    assert flows["first"].tolist() == [EXPORT * 1000] * 3 and flows["last"].tolist() == [EXPORT * 1000] * 3
    assert flows["sampling"].tolist() == [1, 1, 1]
    stats = decoder.stats["198.51.100.1"]
    assert (stats.packets, stats.flows, stats.templates, stats.malformed) == (1, 3, 1, 0)


def test_ipfix_withdrawal_and_template_spaces():
    decoder = Decoder()
    exporter = "198.51.100.1"
    decoder.decode(ipfix(template_set()), exporter)
    data = enc.set_(256, v4_record("10.0.0.1", "10.0.0.2", 1, 2))
    assert len(decoder.decode(ipfix(data), exporter)) == 1
    # another observation domain and another exporter have their own templates
    assert len(decoder.decode(ipfix(data, domain=7), exporter)) == 0
    assert len(decoder.decode(ipfix(data), "198.51.100.2")) == 0
    # withdrawn: the next data set waits for a new template
    decoder.decode(ipfix(enc.set_(2, enc.ipfix_withdrawal(256))), exporter)
    assert len(decoder.decode(ipfix(data), exporter)) == 0
    assert decoder.held() == 3
    # "withdraw all" (template id 2)
    decoder.decode(ipfix(template_set(256), template_set(257)), exporter)  # the held set of 256 is decoded now
    assert decoder.held() == 2
    decoder.decode(ipfix(enc.set_(2, enc.ipfix_withdrawal(2))), exporter)
    assert not decoder.sources[(exporter, 10, 0)].templates


def test_v9_template_redefinition_replaces():
    decoder = Decoder()
    first = enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)), enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))])
    assert decoder.decode(first, "e")["sport"].tolist() == [1]
    # same id, ports swapped in the layout
    swapped = [V4[0], V4[1], V4[3], V4[2], *V4[4:]]
    second = enc.v9_packet([enc.set_(0, enc.v9_template(300, swapped)), enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))])
    flows = decoder.decode(second, "e")
    assert (flows["sport"][0], flows["dport"][0]) == (2, 1)


def test_v9_times_from_uptime_including_wrap():
    fields = [*V4, (ie.FIRST_UPTIME, 4), (ie.LAST_UPTIME, 4)]
    decoder = Decoder()
    rec = v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([(3_590_000, 4), (3_599_000, 4)])
    packet = enc.v9_packet([enc.set_(0, enc.v9_template(300, fields)), enc.set_(300, rec)], uptime_ms=3_600_000)
    flows = decoder.decode(packet, "e")
    assert flows["first"][0] == EXPORT * 1000 - 10_000 and flows["last"][0] == EXPORT * 1000 - 1_000
    # the uptime wrapped (49.7 days) between the flow's start and the export
    rec = v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([(2**32 - 500, 4), (100, 4)])
    packet = enc.v9_packet([enc.set_(300, rec)], uptime_ms=1_000)
    flows = decoder.decode(packet, "e")
    assert flows["first"][0] == EXPORT * 1000 - 1_500 and flows["last"][0] == EXPORT * 1000 - 900


def test_v5_times_and_sampling_header():
    flows = empty(2)
    flows["src"] = address_key("10.1.1.1")
    flows["dst"] = address_key("10.2.2.2")
    flows["first"] = [EXPORT * 1000 - 60_000, EXPORT * 1000 - 5_000]
    flows["last"] = EXPORT * 1000 - 1_000
    flows["octets"], flows["packets"], flows["proto"] = 1500, 3, 17
    packet = enc.v5_packet(flows, uptime_ms=10_000_000, unix_secs=EXPORT, sampling=(1 << 14) | 512)
    decoded = Decoder().decode(packet, "e")
    assert decoded["first"].tolist() == flows["first"].tolist() and decoded["last"].tolist() == flows["last"].tolist()
    assert decoded["sampling"].tolist() == [512, 512]  # the mode bits are not part of the interval
    assert str(unpack_address(decoded["dst"][1])) == "10.2.2.2"


@pytest.mark.parametrize(("element", "encoded", "expected"), [
    (ie.FLOW_START_S, (EXPORT - 30, 4), (EXPORT - 30) * 1000),
    (ie.FLOW_START_MS, (EXPORT * 1000 - 1234, 8), EXPORT * 1000 - 1234),
    # NTP format: seconds since 1900 and a binary fraction (0x80000000 = 0.5 s)
    (ie.FLOW_START_US, (((EXPORT + 2208988800) << 32) | 0x80000000, 8), EXPORT * 1000 + 500),
    (ie.FLOW_START_NS, (((EXPORT + 2208988800) << 32) | 0x40000000, 8), EXPORT * 1000 + 250),
    (ie.FLOW_START_DELTA_US, (2_500_000, 4), EXPORT * 1000 - 2_500),
])
def test_ipfix_start_times(element, encoded, expected):
    fields = [*V4, (element, encoded[1])]
    packet = ipfix(template_set(256, fields), enc.set_(256, v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([encoded])))
    flows = Decoder().decode(packet, "e")
    assert flows["first"][0] == expected
    assert flows["last"][0] == expected  # no end: the start


def test_ipfix_sysuptime_with_system_init_time_from_option_data():
    init = EXPORT * 1000 - 86_400_000
    options = enc.set_(3, enc.ipfix_options_template(400, [(149, 4)], [(ie.SYSTEM_INIT_MS, 8)]))
    option_data = enc.set_(400, enc.record([(0, 4), (init, 8)]))
    fields = [*V4, (ie.FIRST_UPTIME, 4), (ie.LAST_UPTIME, 4)]
    data = enc.set_(256, v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([(1_000, 4), (2_000, 4)]))
    flows = Decoder().decode(ipfix(options, option_data, template_set(256, fields), data), "e")
    assert (flows["first"][0], flows["last"][0]) == (init + 1_000, init + 2_000)


def test_an_impossible_system_init_time_is_no_base_for_uptimes():
    # found by the fuzzer: 2**64 - 1 ms overflowed the int64 arithmetic instead of being ignored
    options = enc.set_(3, enc.ipfix_options_template(400, [(149, 4)], [(ie.SYSTEM_INIT_MS, 8)]))
    option_data = enc.set_(400, enc.record([(0, 4), (2**64 - 1, 8)]))
    fields = [*V4, (ie.FIRST_UPTIME, 4), (ie.LAST_UPTIME, 4)]
    data = enc.set_(256, v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([(1_000, 4), (2_000, 4)]))
    flows = Decoder().decode(ipfix(options, option_data, template_set(256, fields), data), "e")
    assert flows["first"][0] == flows["last"][0] == EXPORT * 1000  # the export time: the best bound


def test_option_data_sampling_applies_to_following_flows_of_the_source():
    decoder = Decoder()
    # v9: options template scoped to the system, SAMPLING_INTERVAL 1000
    opts = enc.v9_packet([enc.set_(1, enc.v9_options_template(500, [(1, 4)], [(ie.SAMPLING_INTERVAL, 4)])),
                          enc.set_(500, enc.record([(0, 4), (1000, 4)]))])
    assert len(decoder.decode(opts, "e")) == 0
    data = enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)), enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))])
    assert decoder.decode(data, "e")["sampling"].tolist() == [1000]
    # another source id of the same exporter is not sampled
    assert decoder.decode(enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)),
                                         enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))], source_id=5),
                          "e")["sampling"].tolist() == [1]


def test_ipfix_sampling_by_selector_and_packet_interval():
    decoder = Decoder()
    # selector 7: 1 of every 100 packets (interval 1, space 99); selector 8: samplerRandomInterval 50
    opts = enc.set_(3, enc.ipfix_options_template(400, [(ie.SELECTOR_ID, 4)],
                                                   [(ie.SAMPLING_PACKET_INTERVAL, 4), (ie.SAMPLING_PACKET_SPACE, 4)]))
    opts_random = enc.set_(3, enc.ipfix_options_template(401, [(ie.SELECTOR_ID, 4)], [(ie.SAMPLER_RANDOM_INTERVAL, 4)]))
    fields = [*V4, (ie.SELECTOR_ID, 4)]
    data = enc.set_(256, b"".join(v4_record("10.0.0.1", "10.0.0.2", 1, 2) + enc.record([(s, 4)]) for s in (7, 8, 9)))
    flows = decoder.decode(ipfix(opts, opts_random, enc.set_(400, enc.record([(7, 4), (1, 4), (99, 4)])),
                                 enc.set_(401, enc.record([(8, 4), (50, 4)])), template_set(256, fields), data), "e")
    assert flows["sampling"].tolist() == [100, 50, 1]


def test_nat_fields_ipv4_and_ipv6():
    fields = [(ie.SRC_V6, 16), (ie.DST_V6, 16), (ie.SRC_PORT, 2), (ie.DST_PORT, 2), (ie.PROTOCOL, 1),
              (ie.NAT_SRC_V4, 4), (ie.NAT_DST_V4, 4), (ie.NAT_SRC_PORT, 2), (ie.NAT_DST_PORT, 2), (ie.NAT_EVENT, 1)]
    rec = enc.record([(ip("2001:db8::5"), 16), (ip("2001:db8:1::9"), 16), (40000, 2), (53, 2), (17, 1),
                      (ip("100.64.0.7"), 4), (ip("198.51.100.53"), 4), (1024, 2), (53, 2), (1, 1)])
    flows = Decoder().decode(ipfix(template_set(256, fields), enc.set_(256, rec)), "e")
    f = flows[0]
    assert str(unpack_address(f["src"])) == "2001:db8::5" and str(unpack_address(f["dst"])) == "2001:db8:1::9"
    assert str(unpack_address(f["nat_src"])) == "100.64.0.7" and str(unpack_address(f["nat_dst"])) == "198.51.100.53"
    assert (f["nat_sport"], f["nat_dport"], f["nat_event"]) == (1024, 53, 1)


def test_template_with_both_address_families_takes_the_present_one():
    fields = [(ie.SRC_V4, 4), (ie.SRC_V6, 16), (ie.PROTOCOL, 1)]
    recs = (enc.record([(ip("10.0.0.1"), 4), (bytes(16), 16), (6, 1)])
            + enc.record([(bytes(4), 4), (ip("2001:db8::1"), 16), (6, 1)]))
    flows = Decoder().decode(ipfix(template_set(256, fields), enc.set_(256, recs, pad=False)), "e")
    assert [str(unpack_address(a)) for a in flows["src"]] == ["10.0.0.1", "2001:db8::1"]


def test_variable_length_fields_short_and_long_form():
    fields = [(ie.SRC_V4, 4), (82, 0xFFFF), (ie.DST_V4, 4), (83, 0xFFFF, 9), (ie.OCTETS, 8)]
    rec1 = enc.record([(ip("10.0.0.1"), 4), (b"\x03eth", 4), (ip("10.0.0.2"), 4), (b"\xff\x01\x2c" + b"x" * 300, 303),
                       (7, 8)])
    rec2 = enc.record([(ip("10.0.0.3"), 4), (b"\x00", 1), (ip("10.0.0.4"), 4), (b"\x01y", 2), (9, 8)])
    flows = Decoder().decode(ipfix(template_set(256, fields), enc.set_(256, rec1 + rec2)), "e")
    assert [str(unpack_address(a)) for a in flows["dst"]] == ["10.0.0.2", "10.0.0.4"]
    assert flows["octets"].tolist() == [7, 9]
    broken = enc.set_(256, enc.record([(ip("10.0.0.1"), 4), (b"\x40" + bytes(20), 21)]), pad=False)
    with pytest.raises(DecodeError, match="variable-length"):
        Decoder().decode(ipfix(template_set(256, fields), broken), "e")


def test_reduced_size_encoding_and_enterprise_fields_are_skipped():
    # octets in 3 bytes, packets in 6, an enterprise element with the number of octetDeltaCount between them
    fields = [(ie.SRC_V4, 4), (ie.OCTETS, 3), (ie.OCTETS, 2, 29305), (ie.PACKETS, 6)]
    rec = enc.record([(ip("10.0.0.1"), 4), (0x010203, 3), (0xFFFF, 2), (2**40 + 5, 6)])
    flows = Decoder().decode(ipfix(template_set(256, fields), enc.set_(256, rec)), "e")
    assert (flows["octets"][0], flows["packets"][0]) == (0x010203, 2**40 + 5)


def test_asa_style_v9_fw_event_and_bidirectional_counters():
    fields = [(ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.NAT_SRC_V4, 4), (ie.NAT_SRC_PORT, 2), (ie.FW_EVENT, 1),
              (ie.INITIATOR_OCTETS, 4), (ie.RESPONDER_OCTETS, 4), (ie.FLOW_START_MS, 8)]
    recs = b"".join(enc.record([(ip("192.168.1.5"), 4), (ip("8.8.8.8"), 4), (ip("203.0.113.1"), 4), (30000, 2),
                                (event, 1), (100, 4), (400, 4), (EXPORT * 1000 - 7, 8)]) for event in (1, 2, 3))
    packet = enc.v9_packet([enc.set_(0, enc.v9_template(263, fields)), enc.set_(263, recs)])
    flows = Decoder().decode(packet, "e")
    assert flows["nat_event"].tolist() == [1, 2, 0]  # created, deleted; 3 (denied) is no NAT event
    assert flows["octets"].tolist() == [500, 500, 500]
    assert flows["first"].tolist() == [EXPORT * 1000 - 7] * 3


def test_held_data_is_bounded_by_count_and_age():
    decoder = Decoder(hold_sets=2, hold_seconds=10)
    data = ipfix(enc.set_(256, v4_record("10.0.0.1", "10.0.0.2", 1, 2)))
    for at in (0.0, 1.0, 2.0):
        decoder.decode(data, "e", now=at)
    assert decoder.held() == 2 and decoder.stats["e"].missing_template == 1  # the oldest made room
    assert decoder.expire(now=11.5) == 1  # the one from t=1.0 is too old
    assert decoder.held() == 1 and decoder.stats["e"].missing_template == 2
    flows = decoder.decode(ipfix(template_set()), "e", now=12.0)
    assert len(flows) == 1 and decoder.held() == 0
    none = Decoder(hold_sets=0)
    none.decode(data, "e")
    assert none.held() == 0 and none.stats["e"].missing_template == 1


def test_zero_padding_after_the_last_set_is_ignored():
    packet = enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)), enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))])
    assert len(Decoder().decode(packet + bytes(200), "e")) == 1


@pytest.mark.parametrize(("packet", "message"), [
    (b"", "shorter"),
    (b"\x00\x07" + bytes(30), "unknown NetFlow version 7"),
    (struct.pack(">HH", 5, 2) + bytes(20), "v5 packet too short"),
    (enc.v9_packet([])[:10], "v9 header truncated"),
    (enc.v9_packet([struct.pack(">HH", 300, 40) + bytes(8)]), "runs past the packet"),
    (enc.v9_packet([struct.pack(">HH", 300, 2) + b"\x01\x02"]), "has length 2"),
    (enc.v9_packet([enc.set_(0, struct.pack(">HH", 12, 1) + bytes(4))]), "below 256"),
    (enc.v9_packet([enc.set_(0, struct.pack(">HH", 300, 9))]), "runs past its flowset"),
    (enc.v9_packet([enc.set_(1, struct.pack(">HHH", 300, 3, 4) + bytes(8))]), "options template 300 is malformed"),
    (ipfix(template_set())[:-2], "does not fit"),
    (enc.ipfix_packet([enc.set_(2, struct.pack(">HH", 256, 3) + struct.pack(">HH", 8, 4))]), "runs past its set"),
    (enc.ipfix_packet([enc.set_(3, struct.pack(">HHH", 256, 1, 0) + struct.pack(">HH", 8, 4))]), "0 scope fields"),
    (enc.ipfix_packet([enc.set_(2, struct.pack(">HH", 5, 0))]), "withdrawal of template id 5"),
])
def test_malformed_packets_raise_decode_error_and_are_counted(packet, message):
    decoder = Decoder()
    with pytest.raises(DecodeError, match=message):
        decoder.decode(packet, "e")
    assert decoder.stats["e"].malformed == 1


def test_a_packet_with_a_broken_set_changes_nothing():
    decoder = Decoder()
    packet = ipfix(template_set(), struct.pack(">HH", 256, 400))
    with pytest.raises(DecodeError):
        decoder.decode(packet, "e")
    # the whole packet is checked before anything is learned: the template is not kept either
    assert decoder.sources.get(("e", 10, 0)) is None or not decoder.sources[("e", 10, 0)].templates
    assert len(decoder.decode(ipfix(template_set(), enc.set_(256, v4_record("1.1.1.1", "2.2.2.2", 1, 2))), "e")) == 1


def test_generated_stream_round_trip():
    """encode.ipfix_records (the benchmark generator) and the decoder agree on every column."""
    rng = np.random.default_rng(7)
    flows = empty(500)
    raw = flows.view(np.dtype({"names": ["src", "dst", "nat_src"], "formats": [("u1", (16,))] * 3,
                               "offsets": [flows.dtype.fields[n][1] for n in ("src", "dst", "nat_src")],
                               "itemsize": flows.dtype.itemsize}))
    for column in ("src", "dst", "nat_src"):
        raw[column][:, 10:12] = 0xFF
        raw[column][:, 12:] = rng.integers(1, 255, (500, 4), dtype=np.uint8)
    flows["first"] = EXPORT * 1000 - rng.integers(0, 100_000, 500)
    flows["last"] = flows["first"] + rng.integers(0, 5_000, 500)
    for column, top in (("sport", 65535), ("dport", 65535), ("proto", 255), ("tcp_flags", 255), ("octets", 2**40),
                        ("packets", 2**30), ("nat_sport", 65535), ("nat_event", 3), ("in_if", 2**31), ("out_if", 2**31)):
        flows[column] = rng.integers(0, top, 500)
    packet = ipfix(enc.set_(2, enc.ipfix_template(300, enc.IPFIX_V4_FIELDS)), enc.set_(300, enc.ipfix_records(flows), pad=False))
    decoded = Decoder().decode(packet, "e")
    assert decoded.tobytes() == flows.tobytes()


def test_batch_of_packets_with_different_headers_keeps_each_packets_clock():
    fields = [*V4, (ie.FIRST_UPTIME, 4), (ie.LAST_UPTIME, 4)]
    template = enc.v9_packet([enc.set_(0, enc.v9_template(300, fields))])
    packets = []
    for n in range(5):  # the same record, exported 10 s apart with the uptime 10 s further each time
        rec = v4_record("10.0.0.1", "10.0.0.2", n, 2) + enc.record([(1_000 + n * 10_000, 4), (2_000 + n * 10_000, 4)])
        packets.append(enc.v9_packet([enc.set_(300, rec)], uptime_ms=5_000 + n * 10_000, unix_secs=EXPORT + n * 10))
    decoder = Decoder()
    decoder.decode(template, "e")
    by_exporter, errors = decoder.decode_many([(p, "e") for p in packets] + [(b"\x00\x09", "e")])
    flows = by_exporter["e"]
    assert [e[1] for e in errors] == [5] and decoder.stats["e"].malformed == 1
    assert flows["sport"].tolist() == [0, 1, 2, 3, 4]
    assert flows["first"].tolist() == [EXPORT * 1000 - 4_000 + n * 10_000 for n in range(5)]
    assert flows["last"].tolist() == [EXPORT * 1000 - 3_000 + n * 10_000 for n in range(5)]
    assert decoder.stats["e"].flows == 5


def test_a_sampling_change_in_a_batch_applies_to_the_flows_after_it():
    opts_template = enc.set_(1, enc.v9_options_template(500, [(1, 4)], [(ie.SAMPLING_INTERVAL, 4)]))
    data = enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)), enc.set_(300, v4_record("10.0.0.1", "10.0.0.2", 1, 2))])
    rate = enc.v9_packet([opts_template, enc.set_(500, enc.record([(0, 4), (64, 4)]))])
    decoder = Decoder()
    by_exporter, errors = decoder.decode_many([(data, "e"), (rate, "e"), (data, "e"), (data, "other")])
    assert not errors
    assert by_exporter["e"]["sampling"].tolist() == [1, 64]
    assert by_exporter["other"]["sampling"].tolist() == [1]
