"""Mobile numbers of a customer, for SMS.

Numbers go through the core's :func:`~mango_core.customers.normalize.normalize_phone` (Czech when
written without a prefix: ``777 123 456``, ``00420…`` and ``+420…`` are one number). A Czech number
gets an SMS only in the mobile ranges of the numbering plan (60x, 70x, 72x, 73x, 77x, 79x); a
Slovak one only in 9xx; other countries' numbers are taken as written (no numbering plan here to
tell a landline), once their length is valid (E.164: at most 15 digits).
"""

from __future__ import annotations

import re

from mango_core.customers.models import Customer
from mango_core.customers.normalize import normalize_phone
from mango_core.tenancy.validators import InvalidValue

MAX_NUMBERS = 3  # per customer: one per contact, owners first
MOBILE_PLANS: dict[str, re.Pattern[str]] = {
    "420": re.compile(r"^(60[1-8]|70[2-5]|7[2379][0-9])[0-9]{6}$"),
    "421": re.compile(r"^9[0-9]{8}$"),
}


def mobile(value: object) -> str | None:
    """``+420777123456`` for a number an SMS can reach, None for a landline or something that is no number."""
    try:
        phone = normalize_phone(value)
    except InvalidValue:
        return None
    digits = phone[1:]
    for country, plan in MOBILE_PLANS.items():
        if digits.startswith(country):
            return phone if plan.match(digits[len(country):]) else None
    return phone


def mobile_numbers(customer: Customer | None, *, limit: int = MAX_NUMBERS) -> list[str]:
    """The first mobile number of each contact (primary first; owner and technical contacts first)."""
    if customer is None:
        return []
    contacts = sorted(customer.contacts, key=lambda c: (not c.role_owner, not c.role_technical, c.id))
    found: list[str] = []
    for contact in contacts:
        for channel in sorted(contact.phones, key=lambda ch: (not ch.is_primary, ch.id)):
            number = mobile(channel.value)
            if number is not None:
                if number not in found:
                    found.append(number)
                break
    return found[:limit]
