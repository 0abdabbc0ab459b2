"""Validation and normalisation of company data: IČO, DIČ, bank accounts, currencies, codes.

Every function returns the value in its stored (compact) form or raises a subclass of
:class:`InvalidValue` – never anything else, whatever garbage it gets (hypothesis checks that).
An error's ``str()`` is translated when it is shown in a request (Czech UI) and English
elsewhere (command line, logs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import is_currency
from flask import has_request_context
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.cz import bankaccount as cz_bankaccount
from stdnum.cz import dic as cz_dic
from stdnum.exceptions import ValidationError as StdnumError


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    return message


class InvalidValue(ValueError):
    """Bad input: the message says what is wrong (translated in a request)."""

    default_message = N_("Invalid value.")

    def __init__(self, message: str | None = None, *, field: str | None = None, **params: Any):
        self.message = message or self.default_message
        self.params = params
        self.field = field
        super().__init__(self.message)

    def __str__(self) -> str:
        if has_request_context():
            from flask_babel import gettext

            return gettext(self.message, **self.params)
        return self.message % self.params if self.params else self.message


class InvalidIco(InvalidValue):
    default_message = N_("IČO must be 8 digits with a valid check digit.")


class InvalidDic(InvalidValue):
    default_message = N_("DIČ must be CZ followed by 8 to 10 digits with a valid check digit.")


class InvalidBankAccount(InvalidValue):
    default_message = N_("Enter a Czech account number (prefix-number/bank code) or an IBAN.")


class InvalidCurrency(InvalidValue):
    default_message = N_("Enter a three-letter ISO 4217 currency code, e.g. CZK.")


class InvalidLocale(InvalidValue):
    default_message = N_("This language is not offered.")


class InvalidCode(InvalidValue):
    default_message = N_("A code has 2 to 20 characters: capital letters, digits, - and _.")


class InvalidPostalCode(InvalidValue):
    default_message = N_("A Czech postal code has 5 digits, e.g. 110 00.")


class InvalidTimezone(InvalidValue):
    default_message = N_("Unknown time zone.")


class InvalidInvoiceSeries(InvalidValue):
    default_message = N_("Invoice series settings must be a JSON object.")


_SPACES = re.compile(r"[\s\u00a0]+")
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,19}$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return _SPACES.sub("", value)


def normalize_code(value: Any) -> str:
    """Partner and location codes: ``PRG``, ``ALFA-2``."""
    code = _text(value).upper()
    if not CODE_RE.match(code):
        raise InvalidCode()
    return code


def normalize_ico(value: Any) -> str:
    """IČO (company identification number): 8 digits, weighted mod-11 check digit."""
    ico = _text(value)
    if not (len(ico) == 8 and ico.isascii() and ico.isdigit()):
        raise InvalidIco()
    if cz_dic.calc_check_digit_legal(ico[:-1]) != ico[-1]:
        raise InvalidIco(N_("IČO %(ico)s has a wrong check digit."), ico=ico)
    return ico


def normalize_dic(value: Any) -> str:
    """Czech DIČ (VAT number) in the compact form ``CZ12345678``."""
    raw = _text(value).upper()
    digits = raw.removeprefix("CZ")
    if not (8 <= len(digits) <= 10 and digits.isascii() and digits.isdigit()):
        raise InvalidDic()
    try:
        return "CZ" + cz_dic.validate(digits)
    except StdnumError as exc:
        raise InvalidDic(N_("DIČ %(dic)s is not valid (wrong check digit or date)."), dic="CZ" + digits) from exc


def optional(normalizer, value: Any) -> str | None:  # noqa: ANN001
    """``None`` for an empty value, else the normalised value."""
    return None if not _text(value) else normalizer(value)


# --- bank accounts ---------------------------------------------------------------------------

_CZ_ACCOUNT_RE = re.compile(r"^(?:(?P<prefix>\d{1,6})-)?(?P<number>\d{2,10})/(?P<bank>\d{4})$")


@dataclass(frozen=True)
class BankAccountNumber:
    """A validated account: Czech number (for Czech accounts), IBAN, BIC when known."""

    iban: str
    account_number: str | None = None
    bic: str | None = None

    @property
    def iban_formatted(self) -> str:
        return " ".join(self.iban[i:i + 4] for i in range(0, len(self.iban), 4))


def _czech_display(prefix: str, number: str, bank: str) -> str:
    prefix = prefix.lstrip("0")
    number = number.lstrip("0") or "0"
    return f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"


def _bic_of(iban: IBAN, czech: str | None) -> str | None:
    try:
        bic = iban.bic
    except SchwiftyException:
        bic = None
    if bic is not None:
        return str(bic)
    if czech:
        try:
            return cz_bankaccount.to_bic(czech)
        except StdnumError:
            return None
    return None


def _czech_account(prefix: str, number: str, bank: str) -> BankAccountNumber:
    display = _czech_display(prefix, number, bank)
    try:
        cz_bankaccount.validate(display)
    except StdnumError as exc:
        if cz_bankaccount._calc_checksum(prefix) or cz_bankaccount._calc_checksum(number):  # noqa: SLF001
            raise InvalidBankAccount(N_("Account number %(account)s has a wrong check digit."),
                                     account=display) from exc
        raise InvalidBankAccount(N_("Bank code %(bank)s is not a Czech bank."), bank=bank) from exc
    try:
        iban = IBAN.generate("CZ", bank_code=bank, branch_code=prefix.zfill(6), account_code=number.zfill(10))
    except SchwiftyException as exc:  # pragma: no cover - stdnum accepted it already
        raise InvalidBankAccount() from exc
    return BankAccountNumber(iban=iban.compact, account_number=display, bic=_bic_of(iban, display))


def parse_bank_account(value: Any) -> BankAccountNumber:
    """A Czech account ``[prefix-]number/bank`` or an IBAN (of any country)."""
    raw = _text(value).upper()
    if not raw:
        raise InvalidBankAccount()
    if "/" in raw:
        match = _CZ_ACCOUNT_RE.match(raw)
        if not match:
            raise InvalidBankAccount()
        return _czech_account(match["prefix"] or "", match["number"], match["bank"])
    if not (raw.isascii() and raw.isalnum() and 15 <= len(raw) <= 34 and raw[:2].isalpha()):
        raise InvalidBankAccount()
    try:
        iban = IBAN(raw)
    except SchwiftyException as exc:
        raise InvalidBankAccount(N_("%(iban)s is not a valid IBAN."), iban=raw) from exc
    if iban.country_code == "CZ":
        bban = iban.bban
        return _czech_account(bban[4:10], bban[10:20], bban[0:4])
    return BankAccountNumber(iban=iban.compact, account_number=None, bic=_bic_of(iban, None))


# --- other settings ----------------------------------------------------------------------------


def normalize_currency(value: Any) -> str:
    code = _text(value).upper()
    if not (len(code) == 3 and code.isascii() and code.isalpha() and is_currency(code)):
        raise InvalidCurrency()
    return code


def normalize_locale(value: Any, offered: list[str]) -> str:
    code = _text(value).lower()
    if code not in offered:
        raise InvalidLocale()
    return code


def normalize_timezone(value: Any) -> str:
    name = _text(value)
    if name not in available_timezones():
        raise InvalidTimezone()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover
        raise InvalidTimezone() from exc
    return name


def normalize_postal_code(value: Any, country: str = "CZ") -> str:
    """Czech postal codes are kept as 5 digits (``11000``); others as entered (trimmed)."""
    if country != "CZ":
        text = (str(value) if value is not None else "").strip()
        if len(text) > 10:
            raise InvalidPostalCode(N_("A postal code has at most 10 characters."))
        return text
    code = _text(value)
    if not (len(code) == 5 and code.isascii() and code.isdigit() and code[0] != "0"):
        raise InvalidPostalCode()
    return code


def parse_invoice_series(value: Any) -> dict[str, Any]:
    """Placeholder settings of invoice series (filled by the billing module): a JSON object."""
    if isinstance(value, dict):
        return value
    text = (str(value) if value is not None else "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInvoiceSeries() from exc
    if not isinstance(data, dict):
        raise InvalidInvoiceSeries()
    return data
