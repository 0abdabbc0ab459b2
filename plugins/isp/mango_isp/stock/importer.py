"""Import of received pieces from a CSV file (a supplier's delivery note).

Columns (a header row names them, any order, ``,`` or ``;`` between them, UTF-8 or Windows-1250):
``article`` (its code), ``serial_number`` and ``mac`` for serialised articles, ``quantity`` for
counted ones, optionally ``configured_by_mango`` (yes/no, ano/ne, 1/0) and ``note``.

The whole file is checked first and refused with every bad line listed, or received at once. A
delivery is identified by its ``reference`` (the delivery note's number): importing the same
reference into the same warehouse again receives nothing, so a re-run never counts twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.stock import service as stock
from mango_isp.stock.models import RECEIVED, StockItem, StockMovement, Warehouse

COLUMNS = ("article", "serial_number", "mac", "quantity", "configured_by_mango", "note")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
YES = {"1", "y", "yes", "ano", "a", "true"}
NO = {"", "0", "n", "no", "ne", "false"}


class CsvImportError(stock.StockError):
    """The file cannot be imported; ``problems`` lists ``(line, message)`` for every bad line."""

    default_message = N_("The file cannot be imported.")

    def __init__(self, message: str | None = None, *, problems: list[tuple[int, str]] | None = None, **params: Any):
        super().__init__(message, **params)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"{line}: {text}" for line, text in self.problems)


@dataclass
class ImportResult:
    reference: str
    items: int = 0
    pieces: int = 0
    already_imported: bool = False
    lines: list[int] = field(default_factory=list)


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CsvImportError(N_("The file is larger than %(max)d MB."), max=MAX_BYTES // (1024 * 1024))
    for encoding in ("utf-8-sig", "cp1250"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvImportError(N_("The file is neither UTF-8 nor Windows-1250 text."))  # pragma: no cover - cp1250 maps almost all bytes


def _rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if "\x00" in text:
        raise CsvImportError(N_("This is not a CSV text file."))
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CsvImportError(N_("The file is empty.")) from None
    except csv.Error:
        raise CsvImportError(N_("This is not a CSV text file.")) from None
    unknown = [h for h in header if h not in COLUMNS]
    if "article" not in header or unknown:
        raise CsvImportError(N_("The header must name the columns %(columns)s (unknown: %(unknown)s)."),
                             columns=", ".join(COLUMNS), unknown=", ".join(unknown) or "—")
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvImportError(N_("At most %(max)d lines at once."), max=MAX_ROWS)
            if len(values) > len(header):
                raise CsvImportError(N_("Line %(line)d has more values than the header has columns."),
                                     line=reader.line_num)
            rows.append((reader.line_num, {h: (values[i].strip() if i < len(values) else "")
                                           for i, h in enumerate(header)}))
    except csv.Error:
        raise CsvImportError(N_("This is not a CSV text file.")) from None
    return header, rows


def _flag(value: str) -> bool | None:
    text = value.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    return None


def import_received(session: Session, data: bytes, *, warehouse: Warehouse, reference: Any,
                    actor: int | None = None) -> ImportResult:
    """Receive every line of ``data`` into ``warehouse`` under ``reference`` (see the module doc)."""
    ref = str(reference or "").strip()
    if not ref or len(ref) > 100:
        raise CsvImportError(N_("Give the delivery's reference (at most 100 characters)."), field="reference")
    result = ImportResult(reference=ref)
    if session.scalar(select(StockMovement.id).where(StockMovement.reference == ref, StockMovement.kind == RECEIVED,
                                                     StockMovement.to_warehouse_id == warehouse.id).limit(1)):
        result.already_imported = True
        return result
    _header, rows = _rows(_decode(data))
    if not rows:
        raise CsvImportError(N_("The file has no lines to import."))
    problems: list[tuple[int, str]] = []
    articles = {a.code: a for a in stock.list_articles(session)}
    seen_serials: set[tuple[int, str]] = set()
    seen_macs: set[str] = set()
    plan = []
    for line, row in rows:
        article = articles.get(row.get("article", "").strip().upper())
        if article is None or not article.is_active:
            problems.append((line, f"unknown article {row.get('article', '')!r}"))
            continue
        configured = _flag(row.get("configured_by_mango", ""))
        if configured is None:
            problems.append((line, f"configured_by_mango must be yes or no, not {row['configured_by_mango']!r}"))
            continue
        if article.serialised:
            serial = row.get("serial_number", "")
            if not serial:
                problems.append((line, f"{article.code} needs a serial number"))
                continue
            if row.get("quantity", "") not in ("", "1"):
                problems.append((line, "a serialised piece has quantity 1"))
                continue
            if (article.id, serial) in seen_serials or session.scalar(select(StockItem.id).where(
                    StockItem.article_id == article.id, StockItem.serial_number == serial)) is not None:
                problems.append((line, f"serial number {serial} of {article.code} is recorded already"))
                continue
            seen_serials.add((article.id, serial))
            try:
                mac = stock._mac(row.get("mac"))  # noqa: SLF001 - the module's validator
            except InvalidValue:
                problems.append((line, f"bad MAC address {row.get('mac')!r}"))
                continue
            if mac and (mac in seen_macs or session.scalar(select(StockItem.id).where(StockItem.mac == mac))):
                problems.append((line, f"MAC address {mac} belongs to another item"))
                continue
            if mac:
                seen_macs.add(mac)
            plan.append((line, article, {"serial_number": serial, "mac": mac, "configured_by_mango": configured,
                                         "note": row.get("note") or None}))
        else:
            if row.get("serial_number") or row.get("mac"):
                problems.append((line, f"{article.code} is counted: no serial number or MAC"))
                continue
            try:
                quantity = stock._quantity(row.get("quantity") or "")  # noqa: SLF001
            except InvalidValue:
                problems.append((line, f"quantity must be a whole number from 1 to {stock.MAX_QUANTITY}"))
                continue
            plan.append((line, article, {"quantity": quantity, "note": row.get("note") or None}))
    if problems:
        raise CsvImportError(N_("Nothing was imported; correct these lines:"), problems=problems)
    with session.begin_nested():
        for line, article, values in plan:
            stock.receive(session, warehouse, article, reference=ref, actor=actor, **values)
            result.lines.append(line)
            if article.serialised:
                result.items += 1
            else:
                result.pieces += values["quantity"]
    return result
