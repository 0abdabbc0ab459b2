"""Import of call detail records (CDR) from PBX CSV exports.

Two readers share one validation path:

* ``parse_asterisk_csv`` reads what Asterisk's ``cdr_csv`` backend writes to ``Master.csv``: no header,
  18 columns at most, in the order of ``build_csv_record()`` in ``cdr/cdr_csv.c``: accountcode, src, dst,
  dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
  disposition, amaflags, then ``uniqueid`` only with ``loguniqueid=yes`` and ``userfield`` only with
  ``loguserfield=yes`` in ``cdr.conf``. Strings are quoted (inner quotes doubled), numbers are not, an
  unset time (``answer`` of an unanswered call) is an empty field. Times are local time of the PBX
  (``%Y-%m-%d %H:%M:%S``) unless ``usegmtime=yes``.
* ``parse_csv`` reads any other PBX's CSV through a ``ColumnMapping`` (stored as JSON per location).

A file with bad lines is refused whole: ``CdrError`` lists every bad line (up to ``MAX_REPORTED``), so the
operator fixes the file once instead of importing half of it. Lines that repeat inside one file (same key)
are returned once; dedup across imports is the database's job, by ``CallRecord.key``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRAGUE = "Europe/Prague"
ANSWERED = "ANSWERED"
# CONGESTION appears in Asterisk 12+ (ast_cdr_disp2str); it is an unanswered call like the others.
DISPOSITIONS = frozenset({ANSWERED, "NO ANSWER", "BUSY", "FAILED", "CONGESTION"})
MAX_REPORTED = 50
ASTERISK_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
ASTERISK_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)
ASTERISK_OPTIONAL_COLUMNS = ("uniqueid", "userfield")

_FORMATTING = re.compile(r"[\s\-./()]")


@dataclass(frozen=True)
class CdrIssue:
    """One problem in an input file; ``line`` is 1-based, ``column`` names the field."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class CdrError(ValueError):
    """A CDR file or a column mapping that cannot be used; ``issues`` lists what is wrong and where."""

    def __init__(self, message: str, issues: list[CdrIssue] | None = None, total: int | None = None):
        self.issues = list(issues or [])
        self.total = total if total is not None else len(self.issues)
        lines = [message]
        lines += [f"  {issue}" for issue in self.issues]
        if self.total > len(self.issues):
            lines.append(f"  … and {self.total - len(self.issues)} more")
        super().__init__("\n".join(lines))

    @property
    def line(self) -> int | None:
        return self.issues[0].line if self.issues else None

    @property
    def column(self) -> str | None:
        return self.issues[0].column if self.issues else None


@dataclass(frozen=True)
class CallRecord:
    """One call as the PBX reported it, with numbers in E.164 digits (no '+')."""

    key: str
    source: str
    destination: str
    started_at: datetime
    answered_at: datetime | None
    duration_s: int
    billsec: int
    disposition: str
    account: str
    raw: str = field(repr=False, compare=False)

    @property
    def billable(self) -> bool:
        """Only an answered call with talk time costs anything."""
        return self.disposition == ANSWERED and self.billsec > 0


class CdrBatch(list[CallRecord]):
    """The unique records of one file; ``duplicates`` holds (line, key) of lines dropped as repeats."""

    def __init__(self, records: list[CallRecord], duplicates: list[tuple[int, str]]):
        super().__init__(records)
        self.duplicates = duplicates


def normalise_number(value: str, *, country_code: str = "420", national_length: int = 9) -> str:
    """A dialled or calling number as E.164 digits without '+'.

    ``+420 602 123 456``, ``00420602123456`` and ``602123456`` all give ``420602123456``: a number of
    ``national_length`` digits is national and gets ``country_code``. Anything that is not a phone number
    (an extension such as ``s``, a feature code ``*97``, an empty or ``anonymous`` caller) is returned
    stripped and unchanged, so that rating reports it as unrated instead of guessing.
    """
    text = value.strip()
    compact = _FORMATTING.sub("", text)
    if compact.startswith("+") and compact[1:].isdigit() and len(compact) > 1:
        return compact[1:]
    if not compact.isdigit():
        return text
    if compact.startswith("00") and len(compact) > 4:
        return compact[2:]
    if len(compact) == national_length and not compact.startswith("0"):
        return country_code + compact
    return compact


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CdrError(f"unknown time zone {name!r} (expected an IANA name such as 'Europe/Prague')") from exc


def _parse_time(value: str, fmt: str, zone: ZoneInfo, column: str) -> datetime:
    try:
        naive = datetime.strptime(value.strip(), fmt)
    except ValueError as exc:
        raise _FieldError(column, f"expected a time like {datetime(2024, 3, 1, 14, 5, 9).strftime(fmt)!r}, "
                                  f"got {value!r}") from exc
    # Asterisk writes naive local time; in the repeated autumn hour fold=0 (the first pass) is taken.
    return naive.replace(tzinfo=zone)


def _parse_seconds(value: str, column: str) -> int:
    text = value.strip()
    if text.isdigit():
        return int(text)
    # Several PBXs write durations as H:MM:SS or M:SS.
    parts = text.split(":")
    if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts) and all(int(p) < 60 for p in parts[1:]):
        total = 0
        for part in parts:
            total = total * 60 + int(part)
        return total
    raise _FieldError(column, f"expected whole seconds (e.g. 75) or H:MM:SS, got {value!r}")


class _FieldError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _fingerprint(account: str, source: str, destination: str, started_at: datetime,
                 answered_at: datetime | None, duration_s: int, billsec: int, disposition: str) -> str:
    parts = [account, source, destination, started_at.isoformat(),
             answered_at.isoformat() if answered_at else "", str(duration_s), str(billsec), disposition]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _make_record(*, uniqueid: str, account: str, source: str, destination: str, started_at: datetime,
                 answered_at: datetime | None, duration_s: int, billsec: int, disposition: str,
                 raw: str, country_code: str) -> CallRecord:
    disp = disposition.strip().upper()
    if disp not in DISPOSITIONS:
        raise _FieldError("disposition", f"expected one of {', '.join(sorted(DISPOSITIONS))}, got {disposition!r}")
    src = normalise_number(source, country_code=country_code)
    dst = normalise_number(destination, country_code=country_code)
    if not dst:
        raise _FieldError("destination", "the dialled number is empty")
    fingerprint = _fingerprint(account, src, dst, started_at, answered_at, duration_s, billsec, disp)
    # Asterisk 12+ may write several CDRs for one channel (one per party B), all with the uniqueid of
    # party A; the fingerprint suffix keeps them apart while a repeated line still gets the same key.
    key = f"{uniqueid}/{fingerprint[:12]}" if uniqueid else f"sha256:{fingerprint}"
    return CallRecord(key=key, source=src, destination=dst, started_at=started_at, answered_at=answered_at,
                      duration_s=duration_s, billsec=billsec, disposition=disp, account=account, raw=raw)


def _decode(data: str | bytes, encoding: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise CdrError(f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CdrError("CDR file refused: it is not valid text",
                       [CdrIssue(line, None, f"bytes cannot be read as {encoding} (byte {exc.start})")]) from exc


def _rows(text: str, delimiter: str, quotechar: str):
    """(line number, raw text, fields) for each non-empty CSV record."""
    text = text.lstrip("\ufeff")
    # The same line splitting as the csv reader's (StringIO with newline=""), so line numbers agree.
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, "", exc
            return
        end = reader.line_num
        raw = "".join(lines[start - 1:end]).rstrip("\r\n")
        if raw.strip():
            yield start, raw, fields
        start = end + 1


def _finish(records: list[tuple[int, CallRecord]], issues: list[CdrIssue], what: str) -> CdrBatch:
    if issues:
        raise CdrError(f"{what} refused, nothing imported: {len(issues)} bad line(s)",
                       issues[:MAX_REPORTED], total=len(issues))
    unique: dict[str, CallRecord] = {}
    duplicates: list[tuple[int, str]] = []
    for line, record in records:
        if record.key in unique:
            duplicates.append((line, record.key))
        else:
            unique[record.key] = record
    return CdrBatch(list(unique.values()), duplicates)


def parse_asterisk_csv(data: str | bytes, *, encoding: str = "utf-8", timezone: str = PRAGUE,
                       optional_columns: tuple[str, ...] = ASTERISK_OPTIONAL_COLUMNS,
                       country_code: str = "420") -> CdrBatch:
    """Records of an Asterisk ``Master.csv``.

    ``optional_columns`` names what follows ``amaflags`` when both ``loguniqueid`` and ``loguserfield``
    are on (the default); with only ``loguserfield`` pass ``("userfield",)``, since a 17-column line cannot
    tell the two apart. ``timezone`` is the PBX's zone (``"UTC"`` for ``usegmtime=yes``).
    """
    zone = _zone(timezone)
    unknown = set(optional_columns) - set(ASTERISK_OPTIONAL_COLUMNS)
    if unknown:
        raise CdrError(f"unknown optional Asterisk column(s) {sorted(unknown)}; expected uniqueid, userfield")
    names = ASTERISK_COLUMNS + tuple(optional_columns)
    base = len(ASTERISK_COLUMNS)
    records: list[tuple[int, CallRecord]] = []
    issues: list[CdrIssue] = []
    for line, raw, fields in _rows(_decode(data, encoding), ",", '"'):
        if isinstance(fields, csv.Error):
            issues.append(CdrIssue(line, None, f"broken CSV quoting ({fields})"))
            continue
        if not base <= len(fields) <= len(names):
            issues.append(CdrIssue(line, None, f"expected {base} to {len(names)} columns "
                                               f"({', '.join(names)}), got {len(fields)}"))
            continue
        row = dict(zip(names, fields, strict=False))
        try:
            answer = row["answer"].strip()
            records.append((line, _make_record(
                uniqueid=row.get("uniqueid", "").strip(),
                account=row["accountcode"].strip(),
                source=row["src"],
                destination=row["dst"],
                started_at=_parse_time(row["start"], ASTERISK_DATE_FORMAT, zone, "start"),
                answered_at=_parse_time(answer, ASTERISK_DATE_FORMAT, zone, "answer") if answer else None,
                duration_s=_parse_seconds(row["duration"], "duration"),
                billsec=_parse_seconds(row["billsec"], "billsec"),
                disposition=row["disposition"],
                raw=raw,
                country_code=country_code,
            )))
        except _FieldError as exc:
            issues.append(CdrIssue(line, exc.column, exc.message))
    return _finish(records, issues, "Asterisk CDR file")


# --- other PBXs -------------------------------------------------------------------------------------

MAPPABLE_FIELDS = ("key", "source", "destination", "started_at", "answered_at", "ended_at",
                   "duration_s", "billsec", "disposition", "account")


@dataclass(frozen=True)
class ColumnMapping:
    """Where a PBX's CSV keeps each field: a header name (needs ``has_header``) or a 0-based index.

    Needed: ``destination``, ``started_at`` and talk time (``billsec``, or ``answered_at`` + ``ended_at``).
    Without ``account`` the calling number is the account (one VoIP number = one service); without
    ``disposition`` a call with talk time is ANSWERED and one without is NO ANSWER. ``dispositions`` maps
    the PBX's own words (``{"answered": "ANSWERED", "busy": "BUSY"}``) to Asterisk's.
    """

    columns: Mapping[str, str | int]
    delimiter: str = ","
    quotechar: str = '"'
    date_format: str = ASTERISK_DATE_FORMAT
    has_header: bool = False
    encoding: str = "utf-8"
    timezone: str = PRAGUE
    dispositions: Mapping[str, str] = field(default_factory=dict)
    country_code: str = "420"

    def __post_init__(self) -> None:
        problems = []
        for name in ("delimiter", "quotechar", "date_format", "encoding", "timezone", "country_code"):
            if not isinstance(getattr(self, name), str):
                raise CdrError(f"invalid CDR column mapping: {name!r} must be text, got {getattr(self, name)!r}")
        if not isinstance(self.dispositions, Mapping):
            raise CdrError("invalid CDR column mapping: 'dispositions' must be an object of PBX word -> disposition")
        unknown = set(self.columns) - set(MAPPABLE_FIELDS)
        if unknown:
            problems.append(f"unknown field(s) {sorted(unknown)}; known: {', '.join(MAPPABLE_FIELDS)}")
        for name in ("destination", "started_at"):
            if name not in self.columns:
                problems.append(f"field {name!r} has no column")
        if "billsec" not in self.columns and not {"answered_at", "ended_at"} <= set(self.columns):
            problems.append("talk time needs a 'billsec' column, or both 'answered_at' and 'ended_at'")
        for name, where in self.columns.items():
            if isinstance(where, bool) or not isinstance(where, str | int):
                problems.append(f"field {name!r}: expected a header name or a column index, got {where!r}")
            elif isinstance(where, int) and where < 0:
                problems.append(f"field {name!r}: column index must be 0 or more, got {where}")
            elif isinstance(where, str) and not self.has_header:
                problems.append(f"field {name!r} is mapped by header name {where!r} but has_header is false")
        if len(self.delimiter) != 1 or len(self.quotechar) != 1:
            problems.append("delimiter and quotechar must be one character each")
        for pbx_word, ours in self.dispositions.items():
            if ours not in DISPOSITIONS:
                problems.append(f"disposition {pbx_word!r} maps to {ours!r}; expected one of "
                                f"{', '.join(sorted(DISPOSITIONS))}")
        if "%" not in self.date_format:
            problems.append(f"date_format {self.date_format!r} has no strftime directives")
        try:
            "".encode(self.encoding)
        except LookupError:
            problems.append(f"unknown encoding {self.encoding!r}")
        if problems:
            raise CdrError("invalid CDR column mapping", [CdrIssue(None, None, p) for p in problems])
        _zone(self.timezone)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        if not isinstance(data, Mapping):
            raise CdrError(f"a column mapping must be an object, got {type(data).__name__}")
        known = {"columns", "delimiter", "quotechar", "date_format", "has_header", "encoding", "timezone",
                 "dispositions", "country_code"}
        unknown = set(data) - known
        if unknown:
            raise CdrError(f"unknown column-mapping setting(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")
        if not isinstance(data.get("columns"), Mapping):
            raise CdrError("a column mapping needs 'columns': an object of field -> header name or index")
        if "has_header" in data and not isinstance(data["has_header"], bool):
            raise CdrError(f"'has_header' must be true or false, got {data['has_header']!r}")
        dispositions = data.get("dispositions", {})
        if not isinstance(dispositions, Mapping):
            raise CdrError("'dispositions' must be an object of PBX word -> disposition")
        return cls(**{**data, "columns": dict(data["columns"]), "dispositions": dict(dispositions)})

    def to_dict(self) -> dict[str, Any]:
        return {"columns": dict(self.columns), "delimiter": self.delimiter, "quotechar": self.quotechar,
                "date_format": self.date_format, "has_header": self.has_header, "encoding": self.encoding,
                "timezone": self.timezone, "dispositions": dict(self.dispositions),
                "country_code": self.country_code}


def parse_csv(data: str | bytes, mapping: ColumnMapping) -> CdrBatch:
    """Records of a CSV export described by ``mapping``; refuses the whole file on any bad line."""
    zone = _zone(mapping.timezone)
    rows = _rows(_decode(data, mapping.encoding), mapping.delimiter, mapping.quotechar)
    index: dict[str, int] = {}
    records: list[tuple[int, CallRecord]] = []
    issues: list[CdrIssue] = []
    header_done = not mapping.has_header
    for name, where in mapping.columns.items():
        if isinstance(where, int):
            index[name] = where
    for line, raw, fields in rows:
        if isinstance(fields, csv.Error):
            issues.append(CdrIssue(line, None, f"broken CSV quoting ({fields})"))
            continue
        if not header_done:
            header_done = True
            headers = {h.strip().lower(): i for i, h in enumerate(fields)}
            for name, where in mapping.columns.items():
                if isinstance(where, str):
                    if where.strip().lower() not in headers:
                        issues.append(CdrIssue(line, where, f"header has no column {where!r} (for {name}); "
                                                            f"it has: {', '.join(h.strip() for h in fields)}"))
                    else:
                        index[name] = headers[where.strip().lower()]
            if issues:
                break
            continue
        try:
            records.append((line, _mapped_record(fields, index, mapping, zone, raw)))
        except _FieldError as exc:
            issues.append(CdrIssue(line, exc.column, exc.message))
    return _finish(records, issues, "CDR file")


def _mapped_record(fields: list[str], index: dict[str, int], mapping: ColumnMapping, zone: ZoneInfo,
                   raw: str) -> CallRecord:
    def get(name: str) -> str:
        if name not in index:
            return ""
        position = index[name]
        if position >= len(fields):
            raise _FieldError(name, f"line has {len(fields)} columns, the mapping reads column {position}")
        return fields[position].strip()

    def when(name: str) -> datetime | None:
        value = get(name)
        return _parse_time(value, mapping.date_format, zone, name) if value else None

    started_at = when("started_at")
    if started_at is None:
        raise _FieldError("started_at", "the call start time is empty")
    answered_at, ended_at = when("answered_at"), when("ended_at")
    if "billsec" in index:
        billsec = _parse_seconds(get("billsec"), "billsec")
    elif answered_at and ended_at:
        billsec = int((ended_at - answered_at).total_seconds())
        if billsec < 0:
            raise _FieldError("ended_at", "the call ends before it was answered")
    else:
        billsec = 0
    if "duration_s" in index:
        duration = _parse_seconds(get("duration_s"), "duration_s")
    elif ended_at:
        duration = max(int((ended_at - started_at).total_seconds()), billsec)
    else:
        duration = billsec
    pbx_disposition = get("disposition")
    if pbx_disposition:
        disposition = mapping.dispositions.get(pbx_disposition,
                                               mapping.dispositions.get(pbx_disposition.lower(), pbx_disposition))
    else:
        disposition = ANSWERED if billsec > 0 else "NO ANSWER"
    source = get("source")
    account = get("account") if "account" in index else normalise_number(source, country_code=mapping.country_code)
    return _make_record(uniqueid=get("key"), account=account, source=source, destination=get("destination"),
                        started_at=started_at, answered_at=answered_at, duration_s=duration, billsec=billsec,
                        disposition=disposition, raw=raw, country_code=mapping.country_code)
