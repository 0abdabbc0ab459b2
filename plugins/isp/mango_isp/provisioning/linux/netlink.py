"""A lean rtnetlink channel: many requests per ``sendmsg``, dumps parsed with ``struct``.

pyroute2 opens the socket inside the router's network namespace (and manages links, see the driver);
the per-subscriber messages are packed here because they are the hot path: pyroute2's generic encoder
costs 130-280 µs per tc message (HTB classes carry 2 KiB rate tables it computes in Python) and its u32
selector decoder misreads keys, while packing and parsing these few message types by hand takes a few
µs. The kernel handles the messages of one ``sendmsg`` one after another and acks each (with the
extended-ack text on errors), so a batch of thousands costs one system call per ~128 KiB.
"""

from __future__ import annotations

import errno as errno_mod
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from pyroute2.netns import create_socket

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC = 36, 37, 38
RTM_NEWTCLASS, RTM_DELTCLASS, RTM_GETTCLASS = 40, 41, 42
RTM_NEWTFILTER, RTM_DELTFILTER, RTM_GETTFILTER = 44, 45, 46

_HDR = struct.Struct("=IHHII")
_ERR = struct.Struct("=i")
_ATTR = struct.Struct("=HH")
CHUNK_BYTES = 128 * 1024


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def attr_u8(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=B", value))


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def attr_u64(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=Q", value))


def attr_str(kind: int, value: str) -> bytes:
    return attr(kind, value.encode() + b"\0")


def nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind, b"".join(attrs))


def parse_attrs(buf: Any, start: int = 0, end: int | None = None) -> dict[int, memoryview]:
    """Attributes in ``buf[start:end]`` by type (flags masked; a repeated type keeps the last)."""
    view = memoryview(buf)
    end = len(view) if end is None else end
    out: dict[int, memoryview] = {}
    off = start
    while off + 4 <= end:
        length, kind = _ATTR.unpack_from(view, off)
        if length < 4:
            break
        out[kind & 0x3FFF] = view[off + 4:off + length]
        off += (length + 3) & ~3
    return out


def u8(value: memoryview | None) -> int | None:
    return None if value is None else value[0]


def u32(value: memoryview | None) -> int | None:
    return None if value is None else struct.unpack_from("=I", value)[0]


def cstr(value: memoryview | None) -> str | None:
    return None if value is None else bytes(value).split(b"\0", 1)[0].decode()


@dataclass(eq=False)
class Request:
    """One message to send; ``context`` comes back with its error (the plan's change)."""

    type: int
    flags: int
    body: bytes
    context: Any = None


@dataclass(frozen=True)
class NetlinkFailure:
    request: Request
    errno: int
    message: str

    @property
    def text(self) -> str:
        base = os.strerror(self.errno)
        return f"{base}: {self.message}" if self.message else base


class NetlinkIOError(OSError):
    """The channel itself failed (socket, truncated reply, dump error)."""


class Channel:
    """A NETLINK_ROUTE socket in one network namespace (None: the process's own)."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        if netns is None:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        else:
            self.sock = create_socket(netns, family=socket.AF_NETLINK, socket_type=socket.SOCK_RAW,
                                      proto=NETLINK_ROUTE, flags=0)
        self.sock.bind((0, 0))
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK):
            self.sock.setsockopt(SOL_NETLINK, opt, 1)
        for force, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):  # SO_*BUFFORCE need root
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, force, 8 * 1024 * 1024)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, plain, 8 * 1024 * 1024)
        self.sock.settimeout(60)
        self.seq = 1

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0x7FFFFFFF or 1
        return self.seq

    def execute(self, requests: list[Request]) -> list[NetlinkFailure]:
        """Send every request (in order, acked) and return the refused ones; ENOENT on deletes is fine."""
        failures: list[NetlinkFailure] = []
        i = 0
        while i < len(requests):
            chunk = bytearray()
            pending: dict[int, Request] = {}
            while i < len(requests) and (not chunk or len(chunk) < CHUNK_BYTES):
                req = requests[i]
                seq = self._next_seq()
                chunk += _HDR.pack(16 + len(req.body), req.type, req.flags | NLM_F_REQUEST | NLM_F_ACK,
                                   seq, 0) + req.body
                pending[seq] = req
                i += 1
            self.sock.sendall(chunk)
            while pending:
                data = self.sock.recv(1 << 20)
                for mtype, flags, seq, payload in _messages(data):
                    if mtype != NLMSG_ERROR or seq not in pending:
                        continue
                    req = pending.pop(seq)
                    code = -_ERR.unpack_from(payload)[0]
                    if code == 0:
                        continue
                    if code in (errno_mod.ENOENT, errno_mod.ESRCH, errno_mod.EADDRNOTAVAIL) \
                            and req.type in _DELETES:
                        continue
                    failures.append(NetlinkFailure(req, code, _ext_ack(payload, flags)))
        return failures

    def dump(self, mtype: int, body: bytes) -> list[tuple[int, memoryview]]:
        """A whole dump as (message type, payload after the netlink header); retried if interrupted."""
        for _attempt in range(5):
            seq = self._next_seq()
            self.sock.sendall(_HDR.pack(16 + len(body), mtype, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
            out: list[tuple[int, memoryview]] = []
            interrupted = False
            done = False
            while not done:
                data = self.sock.recv(1 << 20)
                for rtype, flags, rseq, payload in _messages(data):
                    if rseq != seq:
                        continue
                    if flags & NLM_F_DUMP_INTR:
                        interrupted = True
                    if rtype == NLMSG_DONE:
                        done = True
                        break
                    if rtype == NLMSG_ERROR:
                        code = -_ERR.unpack_from(payload)[0]
                        if code == 0:
                            continue
                        raise NetlinkIOError(code, f"dump {mtype} refused: {os.strerror(code)} "
                                                   f"{_ext_ack(payload, flags)}".strip())
                    out.append((rtype, payload))
            if not interrupted:
                return out
        raise NetlinkIOError(errno_mod.EINTR, "dump interrupted five times in a row (state changing fast)")


_DELETES = {RTM_DELLINK, RTM_DELADDR, RTM_DELROUTE, RTM_DELNEIGH, RTM_DELQDISC, RTM_DELTCLASS, RTM_DELTFILTER}


def _messages(data: bytes):
    view = memoryview(data)
    off = 0
    while off + 16 <= len(view):
        length, mtype, flags, seq, _pid = _HDR.unpack_from(view, off)
        if length < 16 or off + length > len(view):
            raise NetlinkIOError(errno_mod.EPROTO, "truncated netlink message")
        yield mtype, flags, seq, view[off + 16:off + length]
        off += (length + 3) & ~3


def _ext_ack(payload: memoryview, flags: int) -> str:
    """The kernel's extended-ack text of an error (capped ack: error + original header, then TLVs)."""
    if not flags & NLM_F_ACK_TLVS:
        return ""
    # NETLINK_CAP_ACK: struct nlmsgerr = int error + the original nlmsghdr (16 bytes), no payload.
    attrs = parse_attrs(payload, 4 + 16)
    return cstr(attrs.get(NLMSGERR_ATTR_MSG)) or ""
