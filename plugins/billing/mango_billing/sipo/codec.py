"""SIPO (Soustředěné inkaso plateb obyvatelstva, Česká pošta) file formats for an organisation (příjemce).

What the organisation sends each month:
* the change file ``ZM<org>.TXT``: one 70-character line per changed prescription (předpis),
* its cover file ``OP<org>.TXT``: one 28-character line with the record count.
What it receives:
* the paid-payments file (``ZA``): one 44-character line per payment collected,
* the rejection protocol (``ZZ``): the refused change lines, each followed by an error code.

Layouts, sources and what could not be verified are in ``plugins/billing/docs/SIPO.md``. Česká pošta
distributes its specification only to contracted organisations, so every layout here comes from public
third-party implementations and must be checked against the official text before production use.
SIPO handles whole CZK only: amounts with haléře are refused; billing rounds before it gets here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

WEIGHTS = (3, 7, 3, 1, 7, 3, 1, 7, 3)
ENCODINGS = ("cp1250", "cp852")
CHANGE_LINE_LENGTH = 70
COVER_LINE_LENGTH = 28
PAYMENT_LINE_LENGTH = 44
TEXT_LENGTH = 18
MAX_AMOUNT = 999_999  # 9 characters with ",00"
MAX_REPORTED = 50
NEWLINE = "\r\n"


class SipoError(ValueError):
    """Input that cannot become (or come from) a SIPO file; the message says which line and field."""

    def __init__(self, message: str, problems: list[str] | None = None, total: int | None = None):
        self.problems = list(problems or [])
        text = message
        if self.problems:
            text += "\n  " + "\n  ".join(self.problems[:MAX_REPORTED])
            hidden = (total or len(self.problems)) - min(len(self.problems), MAX_REPORTED)
            if hidden > 0:
                text += f"\n  … and {hidden} more"
        super().__init__(text)


# --- spojovací číslo ----------------------------------------------------------------------------------

def check_digit(first9: str) -> int:
    """The 10th digit of a connection number: weights 3,7,3,1,7,3,1,7,3, then (10 − sum mod 10) mod 10."""
    if not isinstance(first9, str) or len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise SipoError(f"a check digit needs exactly 9 digits, got {first9!r}")
    total = sum(int(d) * w for d, w in zip(first9, WEIGHTS, strict=True))
    return (10 - total % 10) % 10


def connection_number_valid(value: object) -> bool:
    """True for a 10-digit spojovací číslo whose last digit is its check digit."""
    return (isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit()
            and check_digit(value[:9]) == int(value[9]))


def _connection_number(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise SipoError(f"{where}: spojovací číslo must be 10 digits, got {value!r}")
    if len(value) != 10:
        raise SipoError(f"{where}: spojovací číslo must be 10 digits, got {len(value)} ({value!r})")
    expected = check_digit(value[:9])
    if int(value[9]) != expected:
        raise SipoError(f"{where}: spojovací číslo {value} has a wrong check digit (expected {expected})")
    return value


def _digits(value: object, length: int, where: str, *, exact: bool = True) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise SipoError(f"{where}: expected digits, got {value!r}")
    if (exact and len(value) != length) or (not exact and not 1 <= len(value) <= length):
        size = f"exactly {length}" if exact else f"1 to {length}"
        raise SipoError(f"{where}: expected {size} digits, got {len(value)} ({value!r})")
    return value


def whole_czk(value: object, where: str) -> int:
    """An amount in whole CZK as int; Decimal('120.00') is fine, Decimal('120.50') and floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise SipoError(f"{where}: give the amount as int or Decimal, not {type(value).__name__} ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise SipoError(f"{where}: SIPO accepts whole CZK only, got {value} — round the amount in billing "
                            "before it goes to SIPO")
        return int(value)
    raise SipoError(f"{where}: expected an amount in whole CZK, got {value!r}")


# --- change file (ZM) and its cover (OP) --------------------------------------------------------------

class ChangeKind(enum.Enum):
    NEW = "new"
    CHANGE = "change"
    CANCEL = "cancel"


# Indikace změny. UNVERIFIED against Česká pošta's specification: public implementations only show
# "2" for a change (see docs/SIPO.md); keep this one table to correct when the official text is at hand.
INDICATORS = {ChangeKind.NEW: "1", ChangeKind.CHANGE: "2", ChangeKind.CANCEL: "3"}
KIND_BY_INDICATOR = {v: k for k, v in INDICATORS.items()}


def _period(value: date, where: str) -> date:
    if not isinstance(value, date):
        raise SipoError(f"{where}: the period must be a date (its month counts), got {value!r}")
    return date(value.year, value.month, 1)


@dataclass(frozen=True)
class ChangeRecord:
    """One change of a prescription: from ``period`` (its month) ``connection_number`` pays ``amount`` CZK.

    ``original_amount`` (původní předpis) is the amount before a change or the one being cancelled. A
    cancel carries amount 0. ``text`` (up to 18 characters) is printed on the payer's SIPO document.
    """

    connection_number: str
    organisation: str
    payment_code: str
    amount: int
    period: date
    kind: ChangeKind = ChangeKind.NEW
    original_amount: int | None = None
    text: str = ""

    def __post_init__(self) -> None:
        who = f"spojovací číslo {self.connection_number!r}"
        _connection_number(self.connection_number, who)
        _digits(self.organisation, 6, f"{who}: číslo organizace")
        _digits(self.payment_code, 3, f"{who}: kód poplatku", exact=False)
        if not isinstance(self.kind, ChangeKind):
            raise SipoError(f"{who}: kind must be new, change or cancel, got {self.kind!r}")
        object.__setattr__(self, "period", _period(self.period, f"{who}: period"))
        amount = whole_czk(self.amount, f"{who}: předpis")
        object.__setattr__(self, "amount", amount)
        if self.kind is ChangeKind.CANCEL:
            if amount != 0:
                raise SipoError(f"{who}: a cancelled prescription carries amount 0, got {amount}")
        elif not 1 <= amount <= MAX_AMOUNT:
            raise SipoError(f"{who}: předpis must be 1 to {MAX_AMOUNT} CZK, got {amount}")
        if self.original_amount is not None:
            original = whole_czk(self.original_amount, f"{who}: původní předpis")
            if not 0 <= original <= MAX_AMOUNT:
                raise SipoError(f"{who}: původní předpis must be 0 to {MAX_AMOUNT} CZK, got {original}")
            object.__setattr__(self, "original_amount", original)
        if not isinstance(self.text, str) or len(self.text) > TEXT_LENGTH:
            raise SipoError(f"{who}: text dokladu is at most {TEXT_LENGTH} characters, got {self.text!r}")
        if any(not ch.isprintable() for ch in self.text) or self.text != self.text.strip():
            raise SipoError(f"{who}: text dokladu must be printable without leading or trailing spaces, "
                            f"got {self.text!r}")


@dataclass(frozen=True)
class ChangeHeader:
    """What is common to one delivery: the organisation, the period of the cover file and the file settings."""

    organisation: str
    period: date
    created: date
    encoding: str = "cp1250"
    decimal_separator: str = ","

    def __post_init__(self) -> None:
        _digits(self.organisation, 6, "header: číslo organizace")
        object.__setattr__(self, "period", _period(self.period, "header: period"))
        if not isinstance(self.created, date):
            raise SipoError(f"header: created must be a date, got {self.created!r}")
        if self.encoding not in ENCODINGS:
            raise SipoError(f"header: encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.decimal_separator not in (",", "."):
            raise SipoError(f"header: decimal separator must be ',' or '.', got {self.decimal_separator!r}")

    @property
    def change_file_name(self) -> str:
        return f"ZM{self.organisation}.TXT"

    @property
    def cover_file_name(self) -> str:
        return f"OP{self.organisation}.TXT"


def _amount_field(amount: int | None, separator: str) -> str:
    return "" if amount is None else f"{amount}{separator}00"


def format_change_line(record: ChangeRecord, decimal_separator: str = ",") -> str:
    """The 70 characters of one ZM line (positions in docs/SIPO.md)."""
    line = (
        " " * 2                                                   # odštěpný závod: left blank
        + record.period.strftime("%m%Y")                          # období MMRRRR
        + INDICATORS[record.kind]                                 # indikace změny
        + record.connection_number                                # spojovací číslo
        + record.organisation                                     # číslo organizace
        + " " * 6                                                 # reserved, blank
        + record.payment_code.rjust(3)                            # kód poplatku
        + _amount_field(record.amount, decimal_separator).rjust(9)            # předpis
        + _amount_field(record.original_amount, decimal_separator).rjust(9)   # původní předpis
        + record.text.ljust(TEXT_LENGTH)                          # text dokladu
    )
    if len(line) != CHANGE_LINE_LENGTH:  # ChangeRecord's validation should make this impossible
        raise SipoError(f"spojovací číslo {record.connection_number}: line would be {len(line)} characters")
    return line


def _encode(text: str, encoding: str, what: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        line = text[: exc.start].count(NEWLINE) + 1
        raise SipoError(f"{what}: line {line} has the character {text[exc.start]!r}, which {encoding} "
                        "cannot write") from exc


def write_changes(records: Iterable[ChangeRecord], header: ChangeHeader) -> bytes:
    """The ZM file: one CRLF-terminated line per record, encoded as ``header.encoding``."""
    records = list(records)
    if not records:
        raise SipoError("a change file needs at least one record")
    foreign = [r.connection_number for r in records if r.organisation != header.organisation]
    if foreign:
        raise SipoError(f"records of another organisation than {header.organisation}: {', '.join(foreign[:10])}")
    seen: set[tuple[str, str, date]] = set()
    for r in records:
        ident = (r.connection_number, r.payment_code, r.period)
        if ident in seen:
            # Česká pošta refuses duplicate lines (error G); two changes of one prescription in one file
            # would be ambiguous anyway.
            raise SipoError(f"spojovací číslo {r.connection_number}, kód poplatku {r.payment_code}: changed "
                            f"twice for {r.period:%m/%Y} in one file")
        seen.add(ident)
    text = "".join(format_change_line(r, header.decimal_separator) + NEWLINE for r in records)
    return _encode(text, header.encoding, header.change_file_name)


def write_cover(records: Iterable[ChangeRecord], header: ChangeHeader) -> bytes:
    """The OP file: číslo organizace, období MMRRRR, počet vět (8, right-aligned), datum DDMMRRRR."""
    count = sum(1 for _ in records)
    if not 1 <= count <= 99_999_999:
        raise SipoError(f"a cover file needs 1 to 99999999 records, got {count}")
    line = header.organisation + header.period.strftime("%m%Y") + str(count).rjust(8) + header.created.strftime("%d%m%Y")
    return _encode(line + NEWLINE, header.encoding, header.cover_file_name)


@dataclass(frozen=True)
class CoverRecord:
    organisation: str
    period: date
    count: int
    created: date


# --- reading --------------------------------------------------------------------------------------------

def _decode(data: bytes | str, encoding: str, what: str) -> str:
    if isinstance(data, str):
        return data
    if not isinstance(data, bytes | bytearray):
        raise SipoError(f"{what}: expected bytes or text, got {type(data).__name__}")
    if encoding not in ENCODINGS:
        raise SipoError(f"{what}: encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    try:
        return bytes(data).decode(encoding)
    except UnicodeDecodeError as exc:
        raise SipoError(f"{what}: byte {exc.start} cannot be read as {encoding}") from exc


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.lstrip("\ufeff").split("\n"), start=1)
            if line.strip(" \r\x1a")]  # \x1a: DOS end-of-file marker that old tools append


def _parse_period(value: str, where: str) -> date:
    if not (value.isascii() and value.isdigit() and len(value) == 6):
        raise SipoError(f"{where}: období must be MMRRRR digits, got {value!r}")
    month, year = int(value[:2]), int(value[2:])
    if not 1 <= month <= 12 or year < 1900:
        raise SipoError(f"{where}: období {value!r} is not a month MMRRRR")
    return date(year, month, 1)


def _parse_amount(value: str, where: str, *, optional: bool = False) -> int | None:
    text = value.strip()
    if not text:
        if optional:
            return None
        raise SipoError(f"{where}: the amount is empty")
    normalised = text.replace(",", ".")
    if not all(ch.isdigit() or ch == "." for ch in normalised) or normalised.count(".") > 1 or not normalised[0].isdigit():
        raise SipoError(f"{where}: expected an amount like 350,00, got {value.strip()!r}")
    try:
        amount = Decimal(normalised)
    except InvalidOperation as exc:
        raise SipoError(f"{where}: expected an amount like 350,00, got {value.strip()!r}") from exc
    if amount != amount.to_integral_value():
        raise SipoError(f"{where}: SIPO amounts are whole CZK, got {value.strip()!r}")
    return int(amount)


def _parse_date(value: str, fmt: str, where: str) -> date:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError as exc:
        raise SipoError(f"{where}: expected a date {date(2024, 3, 15).strftime(fmt)!r}, got {value!r}") from exc


def _change_from_line(line: str, where: str) -> ChangeRecord:
    if len(line) > CHANGE_LINE_LENGTH:
        raise SipoError(f"{where}: a change line has {CHANGE_LINE_LENGTH} characters, got {len(line)}")
    # Editors strip the blank end of a line (empty původní předpis and text); the předpis must be there.
    if len(line) < 43:
        raise SipoError(f"{where}: a change line has {CHANGE_LINE_LENGTH} characters, got {len(line)}")
    line = line.ljust(CHANGE_LINE_LENGTH)
    if line[0:2].strip() and not line[0:2].strip().isdigit():
        raise SipoError(f"{where}: positions 1–2 (odštěpný závod) must be blank or digits, got {line[0:2]!r}")
    if line[25:31].strip():
        raise SipoError(f"{where}: positions 26–31 must be blank, got {line[25:31]!r}")
    indicator = line[8]
    if indicator not in KIND_BY_INDICATOR:
        raise SipoError(f"{where}: indikace změny (position 9) must be one of "
                        f"{', '.join(sorted(KIND_BY_INDICATOR))}, got {indicator!r}")
    try:
        return ChangeRecord(
            connection_number=line[9:19],
            organisation=line[19:25],
            payment_code=line[31:34].strip(),
            amount=_parse_amount(line[34:43], f"{where}: předpis") or 0,
            period=_parse_period(line[2:8], f"{where}: období"),
            kind=KIND_BY_INDICATOR[indicator],
            original_amount=_parse_amount(line[43:52], f"{where}: původní předpis", optional=True),
            text=line[52:70].rstrip(),
        )
    except SipoError as exc:
        message = str(exc)
        raise SipoError(message if message.startswith(where) else f"{where}: {message}") from exc


def _collect(data: bytes | str, encoding: str, what: str, parse):
    results, problems = [], []
    for number, line in _lines(_decode(data, encoding, what)):
        try:
            results.append(parse(line, f"line {number}"))
        except SipoError as exc:
            problems.append(str(exc))
    if problems:
        raise SipoError(f"{what} refused: {len(problems)} bad line(s)", problems, total=len(problems))
    return results


def parse_changes(data: bytes | str, encoding: str = "cp1250") -> list[ChangeRecord]:
    """The records of a ZM file; every bad line is reported in one ``SipoError``."""
    return _collect(data, encoding, "SIPO change file", _change_from_line)


def parse_cover(data: bytes | str, encoding: str = "cp1250") -> CoverRecord:
    lines = _lines(_decode(data, encoding, "SIPO cover file"))
    if len(lines) != 1:
        raise SipoError(f"SIPO cover file: expected one line, got {len(lines)}")
    number, line = lines[0]
    where = f"SIPO cover file, line {number}"
    if len(line) != COVER_LINE_LENGTH:
        raise SipoError(f"{where}: expected {COVER_LINE_LENGTH} characters, got {len(line)}")
    count = line[12:20].strip()
    if not (count.isascii() and count.isdigit()):
        raise SipoError(f"{where}: počet vět (positions 13–20) must be a number, got {line[12:20]!r}")
    return CoverRecord(_digits(line[0:6], 6, f"{where}: číslo organizace"),
                       _parse_period(line[6:12], f"{where}: období"), int(count),
                       _parse_date(line[20:28], "%d%m%Y", f"{where}: datum vytvoření"))


@dataclass(frozen=True)
class ResultRecord:
    """One line of a result file. The paid-payments file (ZA) carries no prescribed amount: None there."""

    connection_number: str
    organisation: str
    payment_code: str
    period: date
    amount_prescribed: int | None
    amount_paid: int
    paid: bool
    paid_on: date | None = None
    raw: str = field(default="", repr=False, compare=False)


def _result_from_line(line: str, where: str) -> ResultRecord:
    if len(line) != PAYMENT_LINE_LENGTH:
        raise SipoError(f"{where}: a payment line has {PAYMENT_LINE_LENGTH} characters, got {len(line)}")
    paid = _parse_amount(line[25:34], f"{where}: platba") or 0
    paid_on = _parse_date(line[34:44], "%d.%m.%Y", f"{where}: datum podání")
    return ResultRecord(
        connection_number=_connection_number(line[6:16], f"{where}: spojovací číslo"),
        organisation=_digits(line[0:6], 6, f"{where}: číslo organizace"),
        payment_code=_digits(line[22:25].strip(), 3, f"{where}: kód poplatku", exact=False),
        period=_parse_period(line[16:22], f"{where}: období"),
        amount_prescribed=None,
        amount_paid=paid,
        paid=paid > 0,
        paid_on=paid_on,
        raw=line,
    )


def parse_results(data: bytes | str, encoding: str = "cp1250") -> list[ResultRecord]:
    """The payments of a paid-payments (ZA) file; every bad line is reported in one ``SipoError``."""
    return _collect(data, encoding, "SIPO payment file", _result_from_line)


# Error codes of the rejection protocol (ZZ), as one public implementation lists them (unverified).
REJECTION_REASONS = {
    "A": "chybná indikace změny",
    "B": "nesouhlasí období",
    "D": "neexistující spojovací číslo",
    "E": "neexistující kód poplatku",
    "F": "předpis nulový, záporný nebo s haléři",
    "G": "duplicitní záznam",
    "H": "nesouhlasí původní předpis",
    "J": "blokace spojovacího čísla",
    "L": "chybná struktura věty",
}


@dataclass(frozen=True)
class Rejection:
    """A refused change line: the change (None when the line itself was malformed) and the error codes."""

    change: ChangeRecord | None
    codes: tuple[str, ...]
    raw: str

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(REJECTION_REASONS.get(c, f"neznámý kód {c}") for c in self.codes)


def _rejection_from_line(line: str, where: str) -> Rejection:
    if len(line) <= CHANGE_LINE_LENGTH:
        raise SipoError(f"{where}: a rejection line is a {CHANGE_LINE_LENGTH}-character change line followed "
                        f"by error codes, got {len(line)} characters")
    codes = tuple(line[CHANGE_LINE_LENGTH:].split())
    if not codes or not all(c.isascii() and c.isalnum() for c in codes):
        raise SipoError(f"{where}: expected error codes after position {CHANGE_LINE_LENGTH}, "
                        f"got {line[CHANGE_LINE_LENGTH:]!r}")
    try:
        change: ChangeRecord | None = _change_from_line(line[:CHANGE_LINE_LENGTH], where)
    except SipoError:
        change = None  # ČP echoes the line as received, which may be the reason it was refused
    return Rejection(change, codes, line)


def parse_rejections(data: bytes | str, encoding: str = "cp1250") -> list[Rejection]:
    """The refused changes of a rejection protocol (ZZ)."""
    return _collect(data, encoding, "SIPO rejection file", _rejection_from_line)
