"""The iXpos ECR protocol: frames and messages (described in plugins/ixpos/README.md).

A frame is ``STX payload ETX LRC``: the payload is ASCII, its fields separated by FS (0x1C), the
first field the message type and the others ``KEY=VALUE``; LRC is the XOR of the payload bytes and
ETX. The receiver of a request answers a good frame with ACK and a damaged one with NAK. This
module has no dependencies beyond the standard library: the simulator imports it alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STX, ETX, FS, ACK, NAK = b"\x02", b"\x03", b"\x1c", b"\x06", b"\x15"
MAX_FRAME = 1024
TXN_RE = re.compile(r"^[A-Za-z0-9-]{1,40}$")
REQUESTS = ("SALE", "REFUND", "VOID", "STATUS", "LAST")
RESPONSES = ("RESULT", "STATUS", "LAST", "ERROR")
APPROVED, DECLINED, NONE = "APPROVED", "DECLINED", "NONE"


class ProtocolError(ValueError):
    """A frame or message that breaks the protocol (bad framing, LRC, field or value)."""


@dataclass(frozen=True)
class Message:
    kind: str
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.fields.get(key, default)


def lrc(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode(message: Message) -> bytes:
    parts = [message.kind]
    for key, value in message.fields.items():
        text = f"{key}={value}"
        if any(ch in text for ch in "\x02\x03\x1c") or not text.isascii():
            raise ProtocolError(f"field {key!r} holds a control or non-ASCII character")
        parts.append(text)
    payload = FS.join(p.encode("ascii") for p in parts)
    if len(payload) > MAX_FRAME:
        raise ProtocolError("message too long")
    return STX + payload + ETX + bytes([lrc(payload + ETX)])


def decode_payload(payload: bytes) -> Message:
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("payload is not ASCII") from None
    kind, *rest = text.split("\x1c")
    if not kind.isalpha() or not kind.isupper():
        raise ProtocolError(f"bad message type {kind[:20]!r}")
    fields = {}
    for part in rest:
        key, sep, value = part.partition("=")
        if not sep or not key.isalnum():
            raise ProtocolError(f"bad field {part[:20]!r}")
        fields[key] = value
    return Message(kind, fields)


class FrameReader:
    """Splits a byte stream into ACK, NAK and frames; bytes outside frames are skipped."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next(self) -> bytes | Message | None:
        """``ACK``/``NAK``, a :class:`Message`, or None when more bytes are needed.

        Raises :class:`ProtocolError` for a complete frame with a wrong LRC or content (the frame
        is consumed, so the caller can answer NAK and go on).
        """
        while self.buffer:
            first = self.buffer[:1]
            if first in (ACK, NAK):
                self.buffer = self.buffer[1:]
                return first
            if first != STX:
                self.buffer = self.buffer[1:]
                continue
            end = self.buffer.find(ETX)
            if end < 0:
                if len(self.buffer) > MAX_FRAME + 2:
                    self.buffer = b""
                    raise ProtocolError("frame too long")
                return None
            if len(self.buffer) < end + 2:
                return None
            payload, check = self.buffer[1:end], self.buffer[end + 1]
            self.buffer = self.buffer[end + 2:]
            if lrc(payload + ETX) != check:
                raise ProtocolError("LRC mismatch")
            return decode_payload(payload)
        return None


def minor_units(amount_text: str | None) -> int:
    if amount_text is None or not amount_text.isdigit() or len(amount_text) > 12:
        raise ProtocolError(f"bad amount {amount_text!r}")
    return int(amount_text)
