"""ICMP echo to many targets at once over one raw socket per address family.

One socket per family instead of one per target: a raw ICMP socket sees every ICMP packet the
host receives, so N sockets would each parse N replies. Here every echo carries a per-run token
and its probe number in the payload, all echoes go out first (paced), and one receive loop
matches the replies, so a check of thousands of targets costs one pass over their replies.

Needs a raw socket (root or CAP_NET_RAW). ``netns`` opens the sockets inside a named network
namespace (a management VRF, or the tests' namespaces); a socket keeps its namespace after the
thread returns to its own.
"""

from __future__ import annotations

import ipaddress
import os
import selectors
import socket
import struct
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

ECHO4, REPLY4 = 8, 0
ECHO6, REPLY6 = 128, 129
HEADER = struct.Struct("!BBHHH")
PROBE = struct.Struct("!8sId")  # run token, probe number, send time (monotonic)


class PingError(OSError):
    """The pinger cannot run here (no raw sockets, unknown namespace)."""


@dataclass
class PingResult:
    """What one target answered: ``received`` of ``sent`` echoes and their round-trip times (ms)."""

    address: str
    sent: int = 0
    rtts: list[float] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.rtts)

    @property
    def loss(self) -> float:
        return 1.0 if not self.sent else 1 - self.received / self.sent

    @property
    def alive(self) -> bool:
        return self.received > 0

    @property
    def rtt_avg(self) -> float | None:
        return sum(self.rtts) / len(self.rtts) if self.rtts else None


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


@contextmanager
def _in_netns(netns: str | None):  # noqa: ANN202
    if not netns:
        yield
        return
    from pyroute2.netns import popns, pushns

    if not os.path.exists(f"/var/run/netns/{netns}"):
        raise PingError(f"network namespace {netns!r} does not exist")
    pushns(netns)
    try:
        yield
    finally:
        popns()


def _open(family: int, netns: str | None) -> socket.socket:
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    try:
        with _in_netns(netns):
            sock = socket.socket(family, socket.SOCK_RAW, proto)
    except PermissionError as exc:
        raise PingError("ICMP needs a raw socket: run as root or with CAP_NET_RAW") from exc
    sock.setblocking(False)
    # room for a burst of replies: a full buffer drops them and live targets would look lost
    # (the FORCE variants pass net.core.rmem_max/wmem_max, as root)
    for forced, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):  # SO_RCVBUFFORCE, SO_SNDBUFFORCE
        try:
            sock.setsockopt(socket.SOL_SOCKET, forced, 8 << 20)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, 8 << 20)
    if family == socket.AF_INET6:
        # only echo replies reach the socket (ICMPV6_FILTER: a bitmap of blocked types)
        blocked = bytearray(b"\xff" * 32)
        blocked[REPLY6 >> 3] &= ~(1 << (REPLY6 & 7)) & 0xFF
        sock.setsockopt(socket.IPPROTO_ICMPV6, 1, bytes(blocked))
    return sock


def ping_many(addresses: Iterable[str], *, count: int = 3, timeout: float = 1.0, interval: float = 0.2,
              rate: int = 5000, netns: str | None = None) -> dict[str, PingResult]:
    """Send ``count`` echoes to each address (``interval`` s apart per target, at most ``rate``
    packets/s overall; 0: unpaced) and wait up to ``timeout`` s after the last one (less when
    every echo is answered). Unparseable addresses raise
    ValueError before anything is sent."""
    if count < 1 or count > 100:
        raise ValueError("count must be 1 to 100")
    targets: list[tuple[str, int]] = []
    results: dict[str, PingResult] = {}
    for raw in addresses:
        addr = ipaddress.ip_address(str(raw).strip())
        key = addr.compressed
        if key not in results:
            results[key] = PingResult(key)
            targets.append((key, addr.version))
    if not targets:
        return results
    token = os.urandom(8)
    ident = int.from_bytes(os.urandom(2), "big")
    families = {v for _a, v in targets}
    socks = {v: _open(socket.AF_INET if v == 4 else socket.AF_INET6, netns) for v in families}
    selector = selectors.DefaultSelector()
    for version, sock in socks.items():
        selector.register(sock, selectors.EVENT_READ, version)
    try:
        probes = [(round_no, index) for round_no in range(count) for index in range(len(targets))]
        gap = 1.0 / rate if rate > 0 else 0.0
        start = time.monotonic()
        next_due = start  # by the schedule, not by when the loop got round to it: sends come in small bursts
        deadline = None
        position = 0
        answered = 0
        while True:
            now = time.monotonic()
            # send what is due: round r starts at start + r * interval, paced by ``rate``
            while position < len(probes):
                round_no, index = probes[position]
                due = max(start + round_no * interval, next_due)
                if due > now:
                    break
                address, version = targets[index]
                _send(socks[version], version, address, ident, round_no * len(targets) + index, token)
                results[address].sent += 1
                next_due = due + gap
                position += 1
                if position % 256 == 0:
                    now = time.monotonic()
            if position >= len(probes) and deadline is None:
                deadline = time.monotonic() + timeout
            if deadline is not None and (time.monotonic() >= deadline or answered >= len(probes)):
                break  # every echo answered: no need to wait for the rest of the timeout
            if deadline is not None:
                wait = deadline - time.monotonic()
            else:  # at least a millisecond: the next sends go out together
                round_no = probes[position][0]
                wait = max(0.001, max(start + round_no * interval, next_due) - time.monotonic())
            for key, _mask in selector.select(max(0.0, wait)):
                answered += _receive(key.fileobj, key.data, token, targets, results)
    finally:
        selector.close()
        for sock in socks.values():
            sock.close()
    return results


def _send(sock: socket.socket, version: int, address: str, ident: int, number: int, token: bytes) -> None:
    payload = PROBE.pack(token, number, time.monotonic())
    kind = ECHO4 if version == 4 else ECHO6
    packet = HEADER.pack(kind, 0, 0, ident, number & 0xFFFF) + payload
    if version == 4:  # the kernel computes the ICMPv6 checksum itself
        packet = HEADER.pack(kind, 0, checksum(packet), ident, number & 0xFFFF) + payload
    try:
        sock.sendto(packet, (address, 0))
    except (BlockingIOError, OSError):
        pass  # no route, buffer full: the echo counts as sent and lost, like a dropped packet


def _receive(sock, version: int, token: bytes, targets: list[tuple[str, int]],  # noqa: ANN001
             results: dict[str, PingResult]) -> int:
    """Read every waiting reply; returns how many matched an echo of this run."""
    matched = 0
    while True:
        try:
            data = sock.recv(2048)
        except (BlockingIOError, InterruptedError):
            return matched
        now = time.monotonic()
        if version == 4:
            if len(data) < 20:
                continue
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < HEADER.size + PROBE.size or data[0] != (REPLY4 if version == 4 else REPLY6):
            continue
        got_token, number, sent = PROBE.unpack_from(data, HEADER.size)
        if got_token != token:
            continue
        index = number % len(targets)
        address = targets[index][0]
        result = results[address]
        if len(result.rtts) < result.sent:
            result.rtts.append(round((now - sent) * 1000, 3))
            matched += 1
