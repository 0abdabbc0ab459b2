"""QR Platba: the Short Payment Descriptor (SPAYD 1.0) of the Czech Banking Association.

The string is ``SPD*1.0*KEY:value*KEY:value…*CRC32:XXXXXXXX``. Rules applied here (qr-platba.cz,
"Specifikace formátu"; the reference libraries agree):

* keys are upper case; a value never contains ``*`` — it is written as ``%2A`` (and ``%`` as ``%25``
  so that the escape stays unambiguous);
* the CRC32 is computed over the canonical form: the header ``SPD*1.0``, then every other attribute as
  ``*KEY:value`` with the keys sorted alphabetically and the values as written (escaped), without the
  CRC32 attribute itself; it is appended as 8 upper-case hex digits. We also *write* the attributes
  in that alphabetical order (any order is allowed), so the string before ``*CRC32:`` is exactly the
  canonical form;
* ACC is an IBAN, optionally ``+BIC``; AM has two decimals and at most 10 characters
  (≤ 9 999 999.99); CC is ISO 4217; X-VS/X-SS/X-KS are up to 10 digits; MSG at most 60 characters;
  RN at most 35; DT is ``YYYYMMDD``.
* Values are limited to the QR alphanumeric set (0–9, A–Z, space, ``$ % * + - . / :``) that the
  specification recommends, so the code stays in the compact alphanumeric mode. Free text (MSG, RN)
  is transliterated first: diacritics dropped, upper case (``Příliš`` → ``PRILIS``); anything else
  left is refused. :func:`clean_text` makes any text safe for callers that prefer to drop characters.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import is_currency
from schwifty import BIC
from schwifty.exceptions import SchwiftyException

from mango_core.tenancy.validators import InvalidValue, parse_bank_account

HEADER = "SPD*1.0"
MAX_AMOUNT = Decimal("9999999.99")
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
MAX_MESSAGE = 60
MAX_RECIPIENT = 35
_SYMBOL_RE = re.compile(r"^\d{1,10}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})


class SpaydError(ValueError):
    """A payment cannot be described as QR Platba; the message names the field and what was expected."""


def transliterate(value: str) -> str:
    """Upper case without diacritics, whitespace collapsed (``Žluťoučký kůň`` → ``ZLUTOUCKY KUN``)."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_DASHES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.upper().split())


def clean_text(value: str, max_length: int = MAX_MESSAGE) -> str:
    """Any text made fit for MSG/RN: transliterated, other characters replaced by spaces, shortened."""
    text = "".join(ch if ch in ALPHANUMERIC else " " for ch in transliterate(value))
    return " ".join(text.split())[:max_length].rstrip()


def escape(value: str) -> str:
    return value.replace("%", "%25").replace("*", "%2A")


def crc32_hex(canonical: str) -> str:
    """CRC32 (the zip/ISO-HDLC polynomial) of the canonical form, as 8 upper-case hex digits."""
    return f"{zlib.crc32(canonical.encode('utf-8')) & 0xFFFFFFFF:08X}"


def canonical_form(attributes: dict[str, str]) -> str:
    """``SPD*1.0*KEY:value…`` with keys sorted and CRC32 left out; values must already be escaped."""
    parts = [f"{key}:{attributes[key]}" for key in sorted(attributes) if key != "CRC32"]
    return "*".join([HEADER, *parts])


def _text(name: str, value: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise SpaydError(f"{name} must be text, not {type(value).__name__}")
    text = transliterate(value)
    if not text:
        raise SpaydError(f"{name} is empty")
    bad = sorted({ch for ch in text if ch not in ALPHANUMERIC})
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:5])
        raise SpaydError(f"{name} contains characters QR Platba does not allow: {shown} "
                         "(allowed: letters A–Z, digits, space and $ % * + - . / :)")
    if len(text) > max_length:
        raise SpaydError(f"{name} has {len(text)} characters; QR Platba allows at most {max_length}")
    return escape(text)


def _symbol(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SpaydError(f"{name} must be up to 10 digits, not {type(value).__name__}")
    text = str(value).strip()
    if not (text.isascii() and _SYMBOL_RE.match(text)):
        raise SpaydError(f"{name} must be 1 to 10 digits, got {text!r}")
    return text


def _amount(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise SpaydError(f"the amount must be a Decimal (money is never a float), got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise SpaydError(f"the amount {value!r} is not a number") from exc
    if not amount.is_finite():
        raise SpaydError(f"the amount {value!r} is not a number")
    if amount <= 0:
        raise SpaydError(f"the amount must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise SpaydError(f"the amount {amount} is over the QR Platba limit of 9 999 999.99")
    if amount != amount.quantize(Decimal("0.01")):
        raise SpaydError(f"the amount {amount} has more than 2 decimal places")
    return f"{amount.quantize(Decimal('0.01')):f}"


def _account(iban: Any, bic: Any) -> str:
    if not isinstance(iban, str) or not iban.strip():
        raise SpaydError("the account (IBAN or Czech 'prefix-number/bank') is missing")
    try:
        account = parse_bank_account(iban)
    except InvalidValue as exc:
        raise SpaydError(f"account {iban.strip()!r}: {exc}") from exc
    value = account.iban
    if bic not in (None, ""):
        if not isinstance(bic, str):
            raise SpaydError("the BIC must be text")
        try:
            value += "+" + str(BIC(bic.strip().upper()))
        except SchwiftyException as exc:
            raise SpaydError(f"BIC {bic!r} is not valid: {exc}") from exc
    return value


def spayd(iban: str, amount: Decimal | int | str | None, currency: str = "CZK", vs: str | int | None = None,
          ks: str | int | None = None, ss: str | int | None = None, message: str | None = None,
          due: date | None = None, bic: str | None = None, recipient: str | None = None) -> str:
    """The QR Platba string of one payment; raise :class:`SpaydError` for anything invalid.

    ``iban`` is an IBAN (spaces allowed) or a Czech account ``[prefix-]number/bank``, converted to
    its IBAN. ``amount`` None leaves the amount to the payer.
    """
    attributes: dict[str, str] = {"ACC": _account(iban, bic)}
    am = _amount(amount)
    if am is not None:
        attributes["AM"] = am
    cur = (currency or "").strip().upper() if isinstance(currency, str) else ""
    if not (_CURRENCY_RE.match(cur) and is_currency(cur)):
        raise SpaydError(f"currency {currency!r} is not an ISO 4217 code such as CZK")
    attributes["CC"] = cur
    for key, name, value in (("X-VS", "the variable symbol", vs), ("X-KS", "the constant symbol", ks),
                             ("X-SS", "the specific symbol", ss)):
        symbol = _symbol(name, value)
        if symbol is not None:
            attributes[key] = symbol
    if message not in (None, ""):
        attributes["MSG"] = _text("the message", message, MAX_MESSAGE)
    if recipient not in (None, ""):
        attributes["RN"] = _text("the recipient name", recipient, MAX_RECIPIENT)
    if due is not None:
        if not isinstance(due, date):
            raise SpaydError(f"the due date must be a date, not {type(due).__name__}")
        day = due.date() if isinstance(due, datetime) else due
        attributes["DT"] = day.strftime("%Y%m%d")
    canonical = canonical_form(attributes)
    return f"{canonical}*CRC32:{crc32_hex(canonical)}"
