"""GPC / ABO bank statements: the Czech "výpis v Kč" (records 074 and 075, optionally 076, 078, 079).

Specifications read (in /work/shared/reference): Česká spořitelna "Technický popis struktury ABO formátu"
(basic and extended), Komerční banka "Klientský formát ABO" (KB SK: 074/075/078/079, the internal account
order, posting codes 1/2/4/5, the balance formula NZ = SZ - OD + OK), Fio "API Bankovnictví" §5.3.1.3.
The ČSOB document describes only payment orders (import), nothing of statements.

Bank differences handled:

- Posting code: KB, Fio and ČSOB write 1 debit, 2 credit, 4 storno of a debit, 5 storno of a credit; the
  ČS documents say 3 storno of a debit, 4 storno of a credit. ``posting_codes="auto"`` reads a file with a
  3 as ČS and one with a 5 as KB/Fio; a file with only 1/2/4 is read the way its totals add up (KB/Fio
  first). A storno of a debit brings money back (+), a storno of a credit takes it away (-).
- Account order: the "internal format" (ČS, KB) permutes the 16 digits (C10 C8 C9 C6 C1-C5 C7 P1-P6).
  A file does not say which order it uses, so ``account_order="auto"`` tests every account field
  (074 account and non-zero counter accounts) with the Czech modulo-11 check in both readings and takes
  the internal one only when strictly more accounts are valid that way; a tie (e.g. made-up numbers)
  means the standard order, which Fio documents. Force it with ``"standard"`` / ``"internal"``.
- Constant symbol field: digits 5-8 from the right are the counter account's bank code, 1-4 the KS
  (Fio "0020100558" = bank 2010 + KS 0558); the bank code completes the counter account.
- Turnover signs: the specs use "0" or "-" ("-" when stornos prevail, i.e. a negative turnover), Fio
  writes "-" before a positive debit turnover; both readings are accepted when checking totals.
- 076 (transaction id, date, text; the text is taken as the counterparty's full name, as in the public
  sample, and wins over the 20 characters of the 075), 078/079 (message for the recipient, 2 x 35 characters
  each) may follow a 075 and may be shorter than 128 characters (KB writes 73); 074/075 must be exactly
  128. Windows-1250 (UTF-8 accepted when the bytes are valid UTF-8), CRLF, LF or CR line ends.
- Totals (``check_totals=True``): per 074 section, old balance - debits + credits = new balance, and the
  movements must add up to the header's debit and credit turnovers. Fio's "movements since the last
  download" GPC and excerpts do not add up; parse those with ``check_totals=False``.

Not verified against real files: ČS internal-order files and ČS storno code 3 (no public sample), whether
the date at positions 123-128 (booked here; KB calls it "datum odepsání") always equals KB's booking
date, the meaning of 076's date (kept only in ``raw``).
"""

from __future__ import annotations

import gc
import re
from datetime import date
from decimal import Decimal

from mango_billing.bank.statement import (
    BankMovement,
    BankStatement,
    StatementError,
    cents_to_decimal,
    combine,
    czech_account,
)

FORMAT = "gpc"
RECORD_LENGTH = 128
ACCOUNT_ORDERS = ("auto", "standard", "internal")
POSTING_CODE_SCHEMES = ("auto", "standard", "cs")

# ISO 4217 numeric codes seen at positions 118-122 ("00203" = CZK); anything else means CZK.
NUMERIC_CURRENCIES = {
    203: "CZK",
    978: "EUR",
    840: "USD",
    826: "GBP",
    756: "CHF",
    985: "PLN",
    348: "HUF",
    946: "RON",
    975: "BGN",
    208: "DKK",
    752: "SEK",
    578: "NOK",
    124: "CAD",
    36: "AUD",
    392: "JPY",
}
CURRENCY_NUMBERS = {code: number for number, code in NUMERIC_CURRENCIES.items()}

_RE_074 = re.compile(
    r"074(\d{16})(.{20})(\d{6})(\d{14})([+-])(\d{14})([+-])(\d{14})([0+-])(\d{14})([0+-])(\d{3})(\d{6})(.{14})\Z",
    re.DOTALL,
)
# Group 1 is the whole line without the CR of a CR LF end, so one tuple holds the movement. Only
# the parts the parser uses are groups: the own account is checked, not kept, and the constant symbol field
# comes as bank code + KS. [0-9] rather than \d: the same characters here (the decoded text holds only
# Windows-1250 characters, whose only decimal digits are 0-9), and a range test is much faster than \d's
# Unicode lookup.
_RE_075 = re.compile(
    r"(075[0-9]{16}([0-9]{16})(.{13})([0-9]{12})([0-9])([0-9 ]{10})[0-9]{2}([0-9]{4})([0-9]{4})([0-9 ]{10})"
    r"([0-9]{6})(.{20})(.{5})([0-9]{6}))\r?\Z",
    re.DOTALL,
)
# (start, end, name, what is expected, allowed characters); positions are 0-based, messages 1-based.
_DIGITS = "0123456789"
_FIELDS_074 = (
    (3, 19, "account number", "16 digits", _DIGITS),
    (39, 45, "old balance date", "ddmmyy", _DIGITS),
    (45, 59, "old balance", "14 digits (hellers)", _DIGITS),
    (59, 60, "old balance sign", "+ or -", "+-"),
    (60, 74, "new balance", "14 digits (hellers)", _DIGITS),
    (74, 75, "new balance sign", "+ or -", "+-"),
    (75, 89, "debit turnover", "14 digits (hellers)", _DIGITS),
    (89, 90, "debit turnover sign", "0, + or -", "0+-"),
    (90, 104, "credit turnover", "14 digits (hellers)", _DIGITS),
    (104, 105, "credit turnover sign", "0, + or -", "0+-"),
    (105, 108, "statement number", "3 digits", _DIGITS),
    (108, 114, "statement date", "ddmmyy", _DIGITS),
)
_FIELDS_075 = (
    (3, 19, "account number", "16 digits", _DIGITS),
    (19, 35, "counter account", "16 digits", _DIGITS),
    (48, 60, "amount", "12 digits (hellers)", _DIGITS),
    (60, 61, "posting code", "a digit", _DIGITS),
    (61, 71, "variable symbol", "10 digits", _DIGITS + " "),
    (71, 81, "constant symbol", "10 digits (bank code + KS)", _DIGITS),
    (81, 91, "specific symbol", "10 digits", _DIGITS + " "),
    (91, 97, "value date", "ddmmyy", _DIGITS),
    (122, 128, "due date", "ddmmyy", _DIGITS),
)
# Czech modulo-11 weights of the prefix and of the number (Vyhláška ČNB 169/2011).
_P_WEIGHTS = (10, 5, 8, 4, 2, 1)
_N_WEIGHTS = (6, 3, 7, 9, 10, 5, 8, 4, 2, 1)
_ORDER_SAMPLE = 500  # distinct account fields tested when deciding the account order


class _TotalsError(StatementError):
    """The movements do not add up to the header (a candidate posting-code reading failed)."""


class _Extra:
    """What 076/078/079 records add to the 075 before them."""

    __slots__ = ("lines", "extra_id", "extra_name", "texts")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.extra_id: str | None = None
        self.extra_name: str | None = None
        self.texts: dict[str, str] = {}


# A movement as read: the groups of _RE_075, (line, counter account, document id, amount, posting code,
# VS, bank code, KS, SS, value date, name, currency code, due date); a tuple made by the regex engine is
# several times cheaper than an object at 50,000 lines.
_Item = tuple[str, ...]


class _Section:
    """A 074 header and its movements; line numbers and 076/078/079 extras are kept beside the items."""

    __slots__ = ("lineno", "fields", "items", "linenos", "extras")

    def __init__(self, lineno: int, fields: tuple[str, ...]) -> None:
        self.lineno = lineno
        self.fields = fields
        self.items: list[_Item] = []
        self.linenos: list[int] = []  # the line number of each item
        self.extras: dict[int, _Extra] = {}  # by the line number of the 075


def parse(
    data: bytes,
    *,
    account_order: str = "auto",
    posting_codes: str = "auto",
    check_totals: bool = True,
) -> BankStatement:
    """A GPC file as one statement; several 074 sections of one account are joined in file order."""
    sections = parse_sections(
        data, account_order=account_order, posting_codes=posting_codes, check_totals=check_totals
    )
    return combine(sections, check_totals=check_totals)


def parse_sections(
    data: bytes,
    *,
    account_order: str = "auto",
    posting_codes: str = "auto",
    check_totals: bool = True,
) -> list[BankStatement]:
    """One statement per 074 header (a file may hold several days or accounts)."""
    if account_order not in ACCOUNT_ORDERS:
        raise StatementError(f"account_order must be one of {ACCOUNT_ORDERS}, not {account_order!r}")
    if posting_codes not in POSTING_CODE_SCHEMES:
        raise StatementError(f"posting_codes must be one of {POSTING_CODE_SCHEMES}, not {posting_codes!r}")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small tuples would trigger many useless collections
    try:
        return _parse_sections(data, account_order, posting_codes, check_totals)
    finally:
        if gc_was_enabled:
            gc.enable()


def _parse_sections(
    data: bytes, account_order: str, posting_codes: str, check_totals: bool
) -> list[BankStatement]:
    sections = _read_records(_decode(data))
    order = _decide_order(sections) if account_order == "auto" else account_order
    scheme = _decide_scheme(sections, posting_codes)
    if scheme != "ambiguous":
        return [_build(s, order, scheme, check_totals) for s in sections]
    # Only codes 1, 2 and 4: KB/Fio reads 4 as a storno of a debit, ČS as a storno of a credit.
    try:
        return [_build(s, order, "standard", check_totals) for s in sections]
    except _TotalsError as standard_error:
        try:
            return [_build(s, order, "cs", check_totals) for s in sections]
        except _TotalsError:
            raise standard_error from None


def _decode(data: bytes) -> str:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a GPC statement is bytes, not {type(data).__name__}")
    raw = bytes(data)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text: str | None = None
    if raw.isascii():
        text = raw.decode("ascii")  # what cp1250 gives for ASCII, without its per-byte table lookup
    else:
        try:
            text = raw.decode("utf-8")
            # cp1250 bytes can form valid UTF-8 by chance ("Ń¤" reads as Cyrillic "Ѥ"): a real UTF-8
            # statement of a Czech bank holds only characters that Windows-1250 has too
            text.encode("cp1250")
        except (UnicodeDecodeError, UnicodeEncodeError):
            text = None
    if text is None:
        try:
            text = raw.decode("cp1250")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise StatementError(
                f"line {line}: byte 0x{raw[exc.start]:02x} is not Windows-1250 text; is this a GPC file?"
            ) from None
    return text.rstrip("\x1a")  # a DOS end-of-file mark


def _split_lines(text: str) -> list[str]:
    """The lines, each with the CR of a CR LF end still on it."""
    if "\n" in text:
        return text.split("\n")
    return text.split("\r")


def _read_records(text: str) -> list[_Section]:
    sections: list[_Section] = []
    section: _Section | None = None
    items: list[_Item] = []
    linenos: list[int] = []
    last_075 = 0  # the line number of the 075 that a 076/078/079 belongs to; 0 when none may come
    match_075 = _RE_075.match
    for lineno, line in enumerate(_split_lines(text), 1):
        # nearly every line is a well-formed 075: try it first, the record type is looked at only otherwise
        m = match_075(line)
        if m is not None:
            if section is None:
                raise StatementError(f"line {lineno}: a 075 movement before any 074 statement header")
            items.append(m.groups())
            linenos.append(lineno)
            last_075 = lineno
            continue
        if line.endswith("\r"):
            line = line[:-1]
        kind = line[:3]
        if kind == "075":
            _diagnose(line, lineno, "075", _FIELDS_075)
        elif kind == "074":
            m = _RE_074.match(line)
            if m is None:
                _diagnose(line, lineno, "074", _FIELDS_074)
            section = _Section(lineno, m.groups())
            sections.append(section)
            items, linenos = section.items, section.linenos
            last_075 = 0
        elif kind in ("076", "078", "079"):
            if not last_075:
                raise StatementError(f"line {lineno}: a {kind} record must follow a 075 movement")
            _add_extra(section, last_075, kind, line, lineno)
        elif not line.strip():
            continue
        else:
            raise StatementError(
                f"line {lineno}: unknown record type {kind!r}; a GPC statement holds 074, 075, 076, 078 "
                "and 079 records"
            )
    if not sections:
        raise StatementError("no 074 statement header found; this is not a GPC statement")
    return sections


def _add_extra(section: _Section, lineno_075: int, kind: str, line: str, lineno: int) -> None:
    extra = section.extras.get(lineno_075)
    if extra is None:
        extra = section.extras[lineno_075] = _Extra()
    if len(line) > RECORD_LENGTH:
        raise StatementError(
            f"line {lineno}: a {kind} record is at most {RECORD_LENGTH} characters long, this one has {len(line)}"
        )
    if kind in extra.texts or (kind == "076" and extra.extra_id is not None):
        raise StatementError(f"line {lineno}: a second {kind} record for the same 075 movement")
    extra.lines.append(line)
    if kind == "076":
        if len(line) < 35:
            raise StatementError(
                f"line {lineno}: a 076 record holds at least the transaction id (26) and a date (6), "
                f"this one has {len(line)} characters"
            )
        transaction_id = line[3:29].strip()
        if not transaction_id.isalnum() or not transaction_id.isascii():
            raise StatementError(
                f"line {lineno}, record 076, positions 4-29 (transaction id): expected digits or letters, "
                f"found {line[3:29]!r}"
            )
        extra.extra_id = transaction_id.lstrip("0") or ""
        extra.extra_name = line[35:].strip() or None
    else:
        extra.texts[kind] = line[3:]


def _diagnose(
    line: str, lineno: int, record: str, fields: tuple[tuple[int, int, str, str, str], ...]
) -> None:
    """Raise the precise error for a 074/075 line the fast pattern rejected."""
    if len(line) != RECORD_LENGTH:
        raise StatementError(
            f"line {lineno}: a {record} record is {RECORD_LENGTH} characters long, this one has {len(line)}"
        )
    for start, end, name, expected, allowed in fields:
        value = line[start:end]
        if not value or any(ch not in allowed for ch in value):
            raise StatementError(
                f"line {lineno}, record {record}, positions {start + 1}-{end} ({name}): expected {expected}, "
                f"found {value!r}"
            )
    raise StatementError(f"line {lineno}: malformed {record} record")  # pragma: no cover - fields cover it


def to_standard_order(digits: str) -> str:
    """The 16 account digits from the internal order (C10 C8 C9 C6 C1-C5 C7 P1-P6) to P1-P6 C1-C10."""
    d = digits
    return d[10:16] + d[4:9] + d[3] + d[9] + d[1] + d[2] + d[0]


def to_internal_order(digits: str) -> str:
    """The inverse of :func:`to_standard_order`."""
    d = digits
    return d[15] + d[13] + d[14] + d[11] + d[6:11] + d[12] + d[0:6]


def account_is_valid(digits: str) -> bool:
    """The Czech modulo-11 check of a 16-digit prefix+number (standard order); all-zero numbers fail."""
    prefix, number = digits[:6], digits[6:]
    if not number.strip("0"):
        return False
    p = sum(int(c) * w for c, w in zip(prefix, _P_WEIGHTS, strict=True))
    n = sum(int(c) * w for c, w in zip(number, _N_WEIGHTS, strict=True))
    return p % 11 == 0 and n % 11 == 0


def _decide_order(sections: list[_Section]) -> str:
    candidates = {s.fields[0] for s in sections}
    for s in sections:
        for item in s.items:
            counter = item[1]
            if counter != "0000000000000000":
                candidates.add(counter)
                if len(candidates) >= _ORDER_SAMPLE:
                    break  # enough evidence; keeps a 50,000-line file fast
    standard = sum(1 for digits in candidates if account_is_valid(digits))
    internal = sum(1 for digits in candidates if account_is_valid(to_standard_order(digits)))
    return "internal" if internal > standard else "standard"


def _decide_scheme(sections: list[_Section], wanted: str) -> str:
    first_line: dict[str, int] = {}
    for s in sections:
        for item, lineno in zip(s.items, s.linenos, strict=True):
            code = item[4]
            if code not in first_line:
                if code not in "12345":
                    raise StatementError(
                        f"line {lineno}, record 075, position 61 (posting code): expected 1 debit, 2 credit, "
                        f"3/4/5 storno, found {code!r}"
                    )
                first_line[code] = lineno
    if wanted == "standard" and "3" in first_line:
        raise StatementError(
            f"line {first_line['3']}: posting code 3 is not used by KB/Fio (1, 2, 4, 5); try posting_codes='cs'"
        )
    if wanted == "cs" and "5" in first_line:
        raise StatementError(
            f"line {first_line['5']}: posting code 5 is not used by ČS (1, 2, 3, 4); try posting_codes='standard'"
        )
    if wanted != "auto":
        return wanted
    if "3" in first_line and "5" in first_line:
        raise StatementError(
            f"lines {first_line['3']} and {first_line['5']}: the file mixes the ČS storno code 3 with the "
            "KB/Fio storno code 5"
        )
    if "3" in first_line:
        return "cs"
    if "5" in first_line or "4" not in first_line:
        return "standard"
    return "ambiguous"


_date_cache: dict[str, date | None] = {}


def _date(text: str, lineno: int, field: str) -> date | None:
    """ddmmyy; 000000 means none. Years 70-99 are 19xx, the rest 20xx."""
    cached = _date_cache.get(text)
    if cached is not None or text in _date_cache:
        return cached
    if text == "000000":
        return None
    try:
        year = int(text[4:6])
        value = date(1900 + year if year >= 70 else 2000 + year, int(text[2:4]), int(text[0:2]))
    except ValueError:
        raise StatementError(f"line {lineno}: {field} {text!r} is not a valid ddmmyy date") from None
    if len(_date_cache) < 20000:
        _date_cache[text] = value
    return value


def _message(texts: dict[str, str]) -> str | None:
    """078 + 079 payloads, 35-character pieces: a full piece continues the next, a padded one ends a line."""
    pieces: list[str] = []
    for kind in ("078", "079"):
        payload = texts.get(kind)
        if payload:
            pieces.extend(payload[i : i + 35] for i in range(0, len(payload), 35))
    out = ""
    previous_full = True
    for piece in pieces:
        text = piece.rstrip()
        if not text:
            continue
        if out and not previous_full:
            out += " "
        out += text
        previous_full = len(text) == 35
    return out.strip() or None


def _signed(amount: str, sign: str) -> int:
    return -int(amount) if sign == "-" else int(amount)


def _build(section: _Section, order: str, scheme: str, check_totals: bool) -> BankStatement:
    (acct, _name, old_date, old, old_s, new, new_s, deb, deb_s, cred, cred_s, number, stmt_date, _f) = (
        section.fields
    )
    lineno = section.lineno
    header_date = _date(stmt_date, lineno, "statement date (positions 109-114)")
    period_from = _date(old_date, lineno, "old balance date (positions 40-45)")
    storno_debit, storno_credit = ("4", "5") if scheme == "standard" else ("3", "4")
    debits = credits = 0
    currencies: set[str] = set()
    movements: list[BankMovement] = []
    append = movements.append
    # Per-statement caches: dates, currencies and counter accounts repeat a lot in real statements.
    dates: dict[str, date] = {}
    currency_of: dict[str, str] = {}
    accounts: dict[str, str | None] = {}
    # amounts repeat too (tariffs); a Decimal is immutable, so equal amounts may share one object
    amounts: dict[int, Decimal] = {}
    new_movement = BankMovement
    decimal = Decimal
    extras = section.extras
    standard_order = order == "standard"
    for (line, counter, doc_id, amount, code, vs, bank, ks, ss, valuta, name, code_text, due), lineno_075 in zip(
        section.items, section.linenos, strict=True
    ):
        cents = int(amount)
        reversal = False
        if code == "1":
            signed = -cents
            debits += cents
        elif code == "2":
            signed = cents
            credits += cents
        elif code == storno_debit:
            signed, reversal = cents, True
            debits -= cents
        elif code == storno_credit:
            signed, reversal = -cents, True
            credits -= cents
        else:
            raise StatementError(
                f"line {lineno_075}: posting code {code} is not used together with the other codes of this "
                f"file ({'1, 2, 4, 5' if scheme == 'standard' else '1, 2, 3, 4'})"
            )
        currency = currency_of.get(code_text)
        if currency is None:
            currency = NUMERIC_CURRENCIES.get(int(code_text), "CZK") if code_text.isdigit() else "CZK"
            currency_of[code_text] = currency
            currencies.add(currency)  # every currency of the section passes here once
        booked = dates.get(due)
        if booked is None:
            booked = (
                _date(due, lineno_075, "due date (positions 123-128)")
                or _date(valuta, lineno_075, "value date (positions 92-97)")
                or header_date
            )
            if booked is None:
                raise StatementError(
                    f"line {lineno_075}: the movement has no date and neither has its 074 header"
                )
            if due != "000000":
                dates[due] = booked
        if counter == "0000000000000000":
            counter_account = None
        else:
            key = counter + bank
            counter_account = accounts.get(key)
            if counter_account is None:
                std = counter if standard_order else to_standard_order(counter)
                counter_account = accounts[key] = czech_account(std[:6], std[6:], bank)
        value = amounts.get(signed)
        if value is None:
            value = amounts[signed] = decimal(signed).scaleb(-2)
        extra = extras.get(lineno_075) if extras else None
        if extra is None:
            append(
                new_movement(
                    doc_id.strip().lstrip("0") or None,
                    booked,
                    value,
                    currency,
                    counter_account,
                    name.rstrip() or None,
                    vs.replace(" ", "").lstrip("0") or None,
                    ks.lstrip("0") or None,
                    ss.replace(" ", "").lstrip("0") or None,
                    None,
                    reversal,
                    line,
                )
            )
        else:
            append(
                new_movement(
                    extra.extra_id or doc_id.strip().lstrip("0") or None,
                    booked,
                    value,
                    currency,
                    counter_account,
                    extra.extra_name or name.rstrip() or None,
                    vs.replace(" ", "").lstrip("0") or None,
                    ks.lstrip("0") or None,
                    ss.replace(" ", "").lstrip("0") or None,
                    _message(extra.texts),
                    reversal,
                    "\n".join([line, *extra.lines]),
                )
            )
    opening = _signed(old, old_s)
    closing = _signed(new, new_s)
    if check_totals:
        _check_totals(section, opening, closing, debits, credits)
    std = acct if order == "standard" else to_standard_order(acct)
    account = czech_account(std[:6], std[6:], None)
    if account is None:
        raise StatementError(f"line {lineno}: the 074 header's account number (positions 4-19) is all zeros")
    return BankStatement(
        format=FORMAT,
        account=account,
        currency=currencies.pop() if len(currencies) == 1 else "CZK",
        number=number.lstrip("0") or None,
        period_from=period_from,
        period_to=header_date,
        opening_balance=cents_to_decimal(opening),
        closing_balance=cents_to_decimal(closing),
        movements=tuple(movements),
    )


def _check_totals(section: _Section, opening: int, closing: int, debits: int, credits: int) -> None:
    fields = section.fields
    debit_abs, debit_sign, credit_abs, credit_sign = int(fields[7]), fields[8], int(fields[9]), fields[10]
    debit_ok = debits == debit_abs or (debit_sign == "-" and debits == -debit_abs)
    credit_ok = credits == credit_abs or (credit_sign == "-" and credits == -credit_abs)
    balance_ok = opening - debits + credits == closing

    def fmt(cents: int) -> str:
        return str(cents_to_decimal(cents))

    def sign(char: str) -> str:
        return "-" if char == "-" else ""

    if debit_ok and credit_ok and balance_ok:
        return
    problems = []
    if not debit_ok:
        problems.append(
            f"debit turnover in the header {sign(debit_sign)}{fmt(debit_abs)}, debit movements {fmt(debits)}"
        )
    if not credit_ok:
        problems.append(
            f"credit turnover in the header {sign(credit_sign)}{fmt(credit_abs)}, credit movements {fmt(credits)}"
        )
    if not balance_ok:
        problems.append(
            f"old balance {fmt(opening)} - debits {fmt(debits)} + credits {fmt(credits)} = "
            f"{fmt(opening - debits + credits)}, but the new balance is {fmt(closing)}"
        )
    raise _TotalsError(
        f"line {section.lineno}: the statement does not add up ({'; '.join(problems)}); a part of the file "
        "may be missing (pass check_totals=False for an excerpt or a Fio 'since last download' export)"
    )


def currency_number(currency: str) -> int:
    """The ISO 4217 number the writer puts at positions 119-122."""
    try:
        return CURRENCY_NUMBERS[currency]
    except KeyError:
        raise StatementError(f"currency {currency!r} has no GPC code here") from None


__all__ = [
    "ACCOUNT_ORDERS",
    "FORMAT",
    "POSTING_CODE_SCHEMES",
    "account_is_valid",
    "currency_number",
    "parse",
    "parse_sections",
    "to_internal_order",
    "to_standard_order",
]
