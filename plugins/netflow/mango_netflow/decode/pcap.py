"""UDP datagrams from a classic libpcap file (for ``mango netflow replay``).

Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked capture v1 and v2, raw IP and BSD
loopback; network layer IPv4 (unfragmented) or IPv6 (with the common extension headers). Packets
that are not UDP, or are IP fragments, are skipped and counted.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mango_netflow.decode.errors import DecodeError

LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_RAW_ALT, LINK_SLL, LINK_IPV4, LINK_IPV6, LINK_SLL2 = 0, 1, 101, 12, 113, 228, 229, 276
ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options (fragments are skipped)
UDP = 17
MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


@dataclass(frozen=True)
class Datagram:
    time: float
    source: str
    source_port: int
    destination: str
    destination_port: int
    payload: bytes


class PcapReader:
    """Iterates the UDP datagrams of a capture; ``skipped`` counts the other packets."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.skipped = 0
        header = stream.read(24)
        if len(header) < 24 or header[:4] not in MAGIC:
            raise DecodeError("not a libpcap capture (pcapng is not supported: convert it with editcap -F pcap)")
        self.endian, self.resolution = MAGIC[header[:4]]
        self.link = struct.unpack(self.endian + "I", header[20:24])[0] & 0x0FFFFFFF
        if self.link not in (LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_RAW_ALT, LINK_SLL, LINK_IPV4, LINK_IPV6,
                             LINK_SLL2):
            raise DecodeError(f"unsupported pcap link type {self.link}")
        self._record = struct.Struct(self.endian + "IIII")

    def __iter__(self) -> Iterator[Datagram]:
        while True:
            head = self.stream.read(16)
            if not head:
                return
            if len(head) < 16:
                raise DecodeError("pcap record header truncated")
            seconds, fraction, captured, _original = self._record.unpack(head)
            frame = self.stream.read(captured)
            if len(frame) < captured:
                raise DecodeError("pcap record truncated")
            datagram = self._datagram(frame, seconds + fraction * self.resolution)
            if datagram is None:
                self.skipped += 1
            else:
                yield datagram

    def _datagram(self, frame: bytes, at: float) -> Datagram | None:
        network = self._network(frame)
        if network is None:
            return None
        kind, offset = network
        if kind == ETH_IPV4:
            return _ipv4(frame, offset, at)
        return _ipv6(frame, offset, at)

    def _network(self, frame: bytes) -> tuple[int, int] | None:
        """(ethertype, offset of the IP header)."""
        if self.link == LINK_ETHERNET:
            if len(frame) < 14:
                return None
            kind, offset = struct.unpack_from(">H", frame, 12)[0], 14
            while kind in (ETH_VLAN, ETH_QINQ) and len(frame) >= offset + 4:
                kind, offset = struct.unpack_from(">H", frame, offset + 2)[0], offset + 4
        elif self.link == LINK_SLL:
            if len(frame) < 16:
                return None
            kind, offset = struct.unpack_from(">H", frame, 14)[0], 16
        elif self.link == LINK_SLL2:
            if len(frame) < 20:
                return None
            kind, offset = struct.unpack_from(">H", frame, 0)[0], 20
        elif self.link == LINK_NULL:
            if len(frame) < 4:
                return None
            family = struct.unpack_from(self.endian + "I", frame, 0)[0]
            kind, offset = (ETH_IPV4 if family == 2 else ETH_IPV6 if family in (10, 24, 28, 30) else 0), 4
        else:  # raw IP
            if not frame:
                return None
            kind, offset = (ETH_IPV4 if frame[0] >> 4 == 4 else ETH_IPV6 if frame[0] >> 4 == 6 else 0), 0
        return (kind, offset) if kind in (ETH_IPV4, ETH_IPV6) else None


def _ipv4(frame: bytes, offset: int, at: float) -> Datagram | None:
    if len(frame) < offset + 20 or frame[offset] >> 4 != 4:
        return None
    header_length = (frame[offset] & 0x0F) * 4
    total = struct.unpack_from(">H", frame, offset + 2)[0]
    flags_fragment = struct.unpack_from(">H", frame, offset + 6)[0]
    if frame[offset + 9] != UDP or flags_fragment & 0x3FFF or header_length < 20:
        return None
    end = min(len(frame), offset + total)
    return _udp(frame, offset + header_length, end, at, frame[offset + 12:offset + 16], frame[offset + 16:offset + 20])


def _ipv6(frame: bytes, offset: int, at: float) -> Datagram | None:
    if len(frame) < offset + 40 or frame[offset] >> 4 != 6:
        return None
    payload_length = struct.unpack_from(">H", frame, offset + 4)[0]
    following = frame[offset + 6]
    source, destination = frame[offset + 8:offset + 24], frame[offset + 24:offset + 40]
    end = min(len(frame), offset + 40 + payload_length)
    pos = offset + 40
    while following in IPV6_EXTENSIONS:
        if pos + 2 > end:
            return None
        following, pos = frame[pos], pos + (frame[pos + 1] + 1) * 8
    if following != UDP:
        return None
    return _udp(frame, pos, end, at, source, destination)


def _udp(frame: bytes, pos: int, end: int, at: float, source: bytes, destination: bytes) -> Datagram | None:
    if pos + 8 > end:
        return None
    sport, dport, length = struct.unpack_from(">HHH", frame, pos)
    stop = min(end, pos + length) if length >= 8 else end
    return Datagram(at, str(ipaddress.ip_address(source)), sport, str(ipaddress.ip_address(destination)), dport,
                    frame[pos + 8:stop])


def read_pcap(path: str) -> Iterator[Datagram]:
    with open(path, "rb") as stream:
        yield from PcapReader(stream)
