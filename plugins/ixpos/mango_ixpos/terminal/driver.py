"""The card-terminal driver interface used by the cash desk.

A driver answers with a :class:`TerminalResult` or raises:

* :class:`TerminalUnavailable` — nothing reached the terminal (no connection): nobody was charged;
* :class:`OutcomeUnknown` (:class:`TerminalTimeout`, :class:`TerminalDisconnected`) — the request
  may have reached the terminal: the card may have been charged. The caller keeps the payment as
  ``unknown`` and asks :meth:`TerminalDriver.last_transaction` later; it never sends a new sale.

Transaction ids are chosen by the caller and stored before the request is sent; a terminal that
gets a known id again answers with the stored result instead of charging again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal


class TerminalError(Exception):
    """A card-terminal failure (the message says what happened)."""


class TerminalUnavailable(TerminalError):
    """Nothing was sent: the terminal could not be reached."""


class OutcomeUnknown(TerminalError):
    """The request may have been processed; the answer was lost."""


class TerminalTimeout(OutcomeUnknown):
    pass


class TerminalDisconnected(OutcomeUnknown):
    pass


@dataclass(frozen=True)
class TerminalResult:
    txn_id: str
    approved: bool
    amount: Decimal
    operation: str = "SALE"  # SALE, REFUND or VOID
    auth_code: str | None = None
    card: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class TerminalStatus:
    state: str  # IDLE or BUSY
    terminal_id: str
    approved_count: int


class TerminalDriver(ABC):
    """What the cash desk needs of a card terminal."""

    @abstractmethod
    def sale(self, txn_id: str, amount: Decimal, currency: str) -> TerminalResult: ...

    @abstractmethod
    def refund(self, txn_id: str, amount: Decimal, currency: str, original_txn_id: str) -> TerminalResult: ...

    @abstractmethod
    def void(self, txn_id: str, original_txn_id: str) -> TerminalResult: ...

    @abstractmethod
    def status(self) -> TerminalStatus: ...

    @abstractmethod
    def last_transaction(self, txn_id: str | None = None) -> TerminalResult | None:
        """The terminal's record of ``txn_id`` (or of its last transaction); None: it has none."""

    def close(self) -> None:  # noqa: B027 - drivers without a connection have nothing to close
        """Release the connection, if any."""
