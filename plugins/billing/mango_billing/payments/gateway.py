"""Online card payments through a payment gateway: the driver interface every gateway implements.

A gateway payment runs in three steps, the same for every provider:

1. :meth:`GatewayDriver.create` — Mango's server asks the gateway for a transaction (amount, currency,
   our reference) and gets the gateway's transaction id and the URL to send the customer to;
2. the customer pays (or gives up) on the gateway's page and is sent back to Mango's return URL, and
   the gateway notifies Mango's server in the background — either, both, in any order, more than once;
3. :meth:`GatewayDriver.status` — Mango asks the gateway itself what became of the transaction. Only
   this answer counts: the return URL's parameters and a notification's body only say *which*
   transaction to ask about.

The exception contract mirrors iXpos's terminals: :class:`GatewayUnavailable` when nothing reached the
gateway (nothing was created), :class:`OutcomeUnknown` when the request may have reached it (ask
again later), :class:`GatewayRefused` when the gateway answered with an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

# the gateway's states of a transaction (ComGate's names; other drivers map theirs onto these)
PAID, CANCELLED, PENDING, AUTHORIZED = "PAID", "CANCELLED", "PENDING", "AUTHORIZED"
GATEWAY_STATES = (PAID, CANCELLED, PENDING, AUTHORIZED)


class GatewayError(RuntimeError):
    """Talking to the gateway failed; the message never holds the secret."""


class GatewayUnavailable(GatewayError):
    """Nothing reached the gateway (connection refused, bad address): no transaction exists."""


class OutcomeUnknown(GatewayError):
    """The request went out but no usable answer came back (time-out, dropped connection)."""


class GatewayRefused(GatewayError):
    """The gateway answered with an error code (bad merchant, bad secret, unknown transaction…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"the gateway refused the request: {code} {message}".strip())
        self.code = code


@dataclass(frozen=True)
class PaymentRequest:
    """What Mango asks the gateway to collect. ``amount`` is Decimal in the currency's main unit."""

    reference: str  # our idempotent reference (ComGate's refId)
    amount: Decimal
    currency: str
    label: str  # a short text shown to the payer
    email: str
    lang: str = "cs"


@dataclass(frozen=True)
class Created:
    trans_id: str
    redirect_url: str


@dataclass(frozen=True)
class Status:
    """The gateway's own record of a transaction (the answer of :meth:`GatewayDriver.status`)."""

    trans_id: str
    state: str  # one of GATEWAY_STATES
    amount: Decimal
    currency: str
    reference: str
    test: bool = False
    method: str = ""


class GatewayDriver(Protocol):
    """One payment gateway; :func:`mango_billing.payments.gateway_service.driver_for` builds it."""

    def create(self, request: PaymentRequest) -> Created: ...

    def status(self, trans_id: str) -> Status: ...


def minor_units(amount: Decimal) -> int:
    """Hundredths as an integer (the gateways' ``price``); an amount with more places is refused."""
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(value)


def from_minor(value: str | int) -> Decimal:
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{text[:20]!r} is not an amount in minor units")
    return (Decimal(int(text)) / 100).quantize(Decimal("0.01"))
