"""The TCP driver of the iXpos ECR protocol (see README.md).

One connection is kept open between requests and dropped after any failure. Frames that do not
answer the current request (a duplicate answer to an earlier one) are skipped, never taken for
the current answer. Any failure after the request's first byte went out is :class:`OutcomeUnknown`.
"""

from __future__ import annotations

import socket
import time
from decimal import Decimal

from mango_ixpos.terminal.driver import (
    TerminalDisconnected,
    TerminalDriver,
    TerminalError,
    TerminalResult,
    TerminalStatus,
    TerminalTimeout,
    TerminalUnavailable,
)
from mango_ixpos.terminal.protocol import (
    ACK,
    APPROVED,
    NAK,
    NONE,
    TXN_RE,
    FrameReader,
    Message,
    ProtocolError,
    encode,
    minor_units,
)

CENT = Decimal("0.01")
NAK_RETRIES = 3


def to_minor(amount: Decimal) -> str:
    value = Decimal(amount)
    if value <= 0 or value != value.quantize(CENT):
        raise TerminalError(f"bad amount {amount}")
    return str(int(value * 100))


class TcpTerminal(TerminalDriver):
    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0, ack_timeout: float = 2.0,
                 result_timeout: float = 60.0, status_timeout: float = 5.0):
        self.host, self.port = host, port
        self.connect_timeout, self.ack_timeout = connect_timeout, ack_timeout
        self.result_timeout, self.status_timeout = result_timeout, status_timeout
        self._sock: socket.socket | None = None
        self._reader = FrameReader()

    # --- the connection ---------------------------------------------------------------------------

    def _connected(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            except OSError as exc:
                raise TerminalUnavailable(f"terminal {self.host}:{self.port} unreachable: {exc}") from exc
            self._reader = FrameReader()
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _next(self, deadline: float) -> bytes | Message:
        """The next ACK, NAK or frame before ``deadline`` (TerminalTimeout / TerminalDisconnected)."""
        assert self._sock is not None
        while True:
            try:
                item = self._reader.next()
            except ProtocolError:
                continue  # a damaged answer: the terminal repeats nothing, the caller will ask LAST
            if item is not None:
                return item
            left = deadline - time.monotonic()
            if left <= 0:
                raise TerminalTimeout("no answer from the terminal in time")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                raise TerminalTimeout("no answer from the terminal in time") from None
            except OSError as exc:
                raise TerminalDisconnected(f"connection to the terminal lost: {exc}") from exc
            if not data:
                raise TerminalDisconnected("the terminal closed the connection")
            self._reader.feed(data)

    def _request(self, message: Message, expect: str, timeout: float, txn_id: str | None = None) -> Message:
        sock = self._connected()
        frame = encode(message)
        try:
            for _attempt in range(NAK_RETRIES):
                try:
                    sock.sendall(frame)
                except OSError as exc:
                    raise TerminalDisconnected(f"sending to the terminal failed: {exc}") from exc
                deadline = time.monotonic() + self.ack_timeout
                item = self._next(deadline)
                while isinstance(item, Message):  # a stale answer to an earlier request
                    item = self._next(deadline)
                if item == ACK:
                    break
                assert item == NAK
            else:
                raise TerminalDisconnected("the terminal refused the request (NAK)")
            deadline = time.monotonic() + timeout
            while True:
                item = self._next(deadline)
                if not isinstance(item, Message):
                    continue
                if item.kind == "ERROR":
                    raise TerminalError(f"the terminal refused the request: {item.get('MSG', '')}")
                if item.kind == expect and (txn_id is None or item.get("TXN") in (txn_id, None)):
                    return item
        except (TerminalTimeout, TerminalDisconnected, TerminalError):
            self.close()
            raise

    # --- the operations ---------------------------------------------------------------------------

    @staticmethod
    def _result(message: Message) -> TerminalResult:
        try:
            amount = Decimal(minor_units(message.get("AMT"))) / 100
        except ProtocolError as exc:
            raise TerminalError(f"bad answer from the terminal: {exc}") from exc
        return TerminalResult(txn_id=message.get("TXN") or "", approved=message.get("ST") == APPROVED,
                              amount=amount.quantize(CENT), operation=message.get("OP") or "SALE",
                              auth_code=message.get("AUTH") or None, card=message.get("CARD") or None,
                              message=message.get("MSG") or None)

    @staticmethod
    def _txn(txn_id: str) -> str:
        if not TXN_RE.match(txn_id or ""):
            raise TerminalError(f"bad transaction id {txn_id!r}")
        return txn_id

    def sale(self, txn_id: str, amount: Decimal, currency: str) -> TerminalResult:
        request = Message("SALE", {"TXN": self._txn(txn_id), "AMT": to_minor(amount), "CUR": currency})
        return self._result(self._request(request, "RESULT", self.result_timeout, txn_id))

    def refund(self, txn_id: str, amount: Decimal, currency: str, original_txn_id: str) -> TerminalResult:
        request = Message("REFUND", {"TXN": self._txn(txn_id), "AMT": to_minor(amount), "CUR": currency,
                                     "REF": self._txn(original_txn_id)})
        return self._result(self._request(request, "RESULT", self.result_timeout, txn_id))

    def void(self, txn_id: str, original_txn_id: str) -> TerminalResult:
        request = Message("VOID", {"TXN": self._txn(txn_id), "REF": self._txn(original_txn_id)})
        return self._result(self._request(request, "RESULT", self.result_timeout, txn_id))

    def status(self) -> TerminalStatus:
        answer = self._request(Message("STATUS"), "STATUS", self.status_timeout)
        count = answer.get("N", "0")
        return TerminalStatus(state=answer.get("ST") or "", terminal_id=answer.get("TID") or "",
                              approved_count=int(count) if count.isdigit() else 0)

    def last_transaction(self, txn_id: str | None = None) -> TerminalResult | None:
        fields = {"TXN": self._txn(txn_id)} if txn_id else {}
        answer = self._request(Message("LAST", fields), "LAST", self.status_timeout)
        if answer.get("ST") == NONE:
            return None
        result = self._result(answer)
        if txn_id and result.txn_id != txn_id:
            raise TerminalError(f"the terminal answered about {result.txn_id!r}, not {txn_id!r}")
        return result
