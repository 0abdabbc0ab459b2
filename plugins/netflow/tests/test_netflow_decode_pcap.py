"""The pcap reader on hand-built captures: link types, VLAN tags, IPv6, what is skipped, what is broken."""

from __future__ import annotations

import io
import ipaddress
import struct

import pytest

from mango_netflow.decode import DecodeError
from mango_netflow.decode.pcap import PcapReader, read_pcap


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(src: str, dst: str, body: bytes, proto: int = 17, fragment: int = 0) -> bytes:
    return (struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(body), 1, fragment, 64, proto, 0)
            + ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed + body)


def ipv6(src: str, dst: str, body: bytes, following: int = 17) -> bytes:
    return (struct.pack(">IHBB", 6 << 28, len(body), following, 64) + ipaddress.ip_address(src).packed
            + ipaddress.ip_address(dst).packed + body)


def ethernet(packet: bytes, kind: int = 0x0800, vlans: tuple[int, ...] = ()) -> bytes:
    tags = b"".join(struct.pack(">HH", 0x8100, vlan) for vlan in vlans)
    return b"\x02" * 6 + b"\x04" * 6 + tags + struct.pack(">H", kind) + packet


def capture(frames: list[bytes], link: int = 1, *, endian: str = "<", nano: bool = False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, link)
    for n, frame in enumerate(frames):
        out += struct.pack(endian + "IIII", 1_700_000_000 + n, 500, len(frame), len(frame)) + frame
    return out


def read(data: bytes) -> tuple[list, int]:
    reader = PcapReader(io.BytesIO(data))
    return list(reader), reader.skipped


def test_ethernet_with_vlan_tags_and_skipped_packets():
    frames = [
        ethernet(ipv4("192.0.2.1", "192.0.2.9", udp(5000, 2055, b"first"))),
        ethernet(ipv4("192.0.2.2", "192.0.2.9", udp(5001, 2055, b"tagged")), vlans=(10, 20)),
        ethernet(ipv4("192.0.2.3", "192.0.2.9", b"\x00" * 20, proto=6)),              # TCP
        ethernet(ipv4("192.0.2.4", "192.0.2.9", udp(1, 2, b"frag"), fragment=0x2000)),  # more fragments
        ethernet(b"\x00" * 28, kind=0x0806),                                              # ARP
    ]
    datagrams, skipped = read(capture(frames))
    assert [(d.source, d.source_port, d.payload) for d in datagrams] == [("192.0.2.1", 5000, b"first"),
                                                                         ("192.0.2.2", 5001, b"tagged")]
    assert datagrams[0].destination_port == 2055 and datagrams[0].time == pytest.approx(1_700_000_000.0005)
    assert skipped == 3


def test_linux_cooked_ipv6_with_extension_header_big_endian_nanoseconds():
    hop_by_hop = struct.pack(">BB", 17, 0) + bytes(6)  # next header UDP, 8 bytes long
    packet = ipv6("2001:db8::1", "2001:db8::2", hop_by_hop + udp(9995, 4739, b"ipfix"), following=0)
    sll = struct.pack(">HHH", 0, 1, 6) + b"\x02" * 8 + struct.pack(">H", 0x86DD)
    datagrams, _ = read(capture([sll + packet], link=113, endian=">", nano=True))
    assert [(d.source, d.destination, d.payload) for d in datagrams] == [("2001:db8::1", "2001:db8::2", b"ipfix")]
    assert datagrams[0].time == pytest.approx(1_700_000_000.0000005)


def test_raw_ip_and_null_link():
    raw = ipv4("198.51.100.7", "198.51.100.8", udp(1, 2, b"raw"))
    assert read(capture([raw], link=101))[0][0].payload == b"raw"
    null = struct.pack("<I", 2) + raw
    assert read(capture([null], link=0))[0][0].source == "198.51.100.7"


@pytest.mark.parametrize(("data", "message"), [
    (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng"),
    (capture([]).replace(struct.pack("<I", 1), struct.pack("<I", 147), 1)[:24], "link type 147"),
    (capture([ethernet(ipv4("192.0.2.1", "192.0.2.9", udp(1, 2, b"x")))])[:-3], "record truncated"),
    (capture([])[:24] + b"\x00" * 7, "record header truncated"),
])
def test_broken_captures(data, message):
    with pytest.raises(DecodeError, match=message):
        read(data)


def test_every_akvorado_capture_reads(netflow_fixtures):
    for path in sorted((netflow_fixtures / "akvorado").glob("*.pcap")):
        datagrams = list(read_pcap(str(path)))
        assert datagrams, path.name
        assert all(d.payload[:2] in (b"\x00\x05", b"\x00\x09", b"\x00\x0a") for d in datagrams), path.name
