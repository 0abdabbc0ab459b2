"""Normal forms of what customers are found by: names without diacritics, e-mails, phone numbers.

The same functions normalise what is stored and what is searched for, so "+420 777 123 456",
"00420777123456" and "777 123 456" find each other, and "Šťastný" is found by "stastny".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from stdnum.cz import rc as cz_rc
from stdnum.exceptions import ValidationError as StdnumError

from mango_core.tenancy.validators import N_, InvalidValue

_NON_WORD = re.compile(r"[^0-9a-z]+")
_PHONE_JUNK = re.compile(r"[\s\u00a0()\-/.]+")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidEmail(InvalidValue):
    default_message = N_("Enter a valid e-mail address.")


class InvalidPhone(InvalidValue):
    default_message = N_("Enter a phone number: 9 digits, or + and the country code.")


class InvalidBirthNumber(InvalidValue):
    default_message = N_("The birth number (rodné číslo) is not valid.")


def fold(text: str | None) -> str:
    """Lower case without diacritics: ``"Šťastný Jiří"`` -> ``"stastny jiri"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def words(text: str | None) -> list[str]:
    """Search words of a name or an address: folded, split on anything but letters and digits."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


def normalize_email(value: Any) -> str:
    text = (str(value) if value is not None else "").strip()
    if len(text) > 254 or not _EMAIL_RE.match(text):
        raise InvalidEmail()
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: Any) -> str:
    """A phone number in international form ``+420777123456`` (Czech when no prefix is given)."""
    text = _PHONE_JUNK.sub("", str(value) if value is not None else "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
            raise InvalidPhone()
        if digits.startswith("420") and len(digits) != 12:
            raise InvalidPhone()
        return "+" + digits
    if not (text.isascii() and text.isdigit() and len(text) == 9):
        raise InvalidPhone()
    return "+420" + text


def phone_search_value(phone: str) -> str:
    """Stored search form: Czech numbers as their 9 national digits, others with the country code."""
    digits = phone.lstrip("+")
    return digits[3:] if digits.startswith("420") and len(digits) == 12 else digits


def phone_display(phone: str) -> str:
    """``+420 777 123 456`` for Czech numbers, the international form otherwise."""
    if phone.startswith("+420") and len(phone) == 13:
        national = phone[4:]
        return f"+420 {national[:3]} {national[3:6]} {national[6:]}"
    return phone


def query_digits(query: str) -> str | None:
    """The digits of a query that looks like a phone, a number or a VS; None otherwise."""
    text = _PHONE_JUNK.sub("", query)
    if text.startswith("00420"):
        text = text[5:]
    elif text.startswith("+420"):
        text = text[4:]
    elif text.startswith("+") or text.startswith("00"):
        text = text.lstrip("+").removeprefix("00")
    return text if text.isascii() and text.isdigit() else None


def normalize_birth_number(value: Any) -> tuple[str, date | None]:
    """Rodné číslo in its compact form and the birth date it encodes."""
    text = re.sub(r"[\s/]+", "", str(value) if value is not None else "")
    try:
        compact = cz_rc.validate(text)
    except StdnumError as exc:
        raise InvalidBirthNumber() from exc
    try:
        born = cz_rc.get_birth_date(compact)
    except StdnumError:  # pragma: no cover - validate() checked the date already
        born = None
    return compact, born
