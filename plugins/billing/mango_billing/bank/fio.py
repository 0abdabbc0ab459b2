"""Fio banka exports: the REST API JSON and the CSV ("API Bankovnictví" v1.7.1, §5.3.1.4 and §5.3.1.6).

JSON: ``accountStatement.info`` (accountId, bankId, currency, iban, openingBalance, closingBalance,
dateStart, dateEnd, idList ...) and ``transactionList.transaction[]`` whose columns are
``{"value": ..., "name": ..., "id": N}`` or null: column22 movement id, column0 date, column1 amount,
column14 currency, column2 counter account, column3 its bank code, column10 its name, column4 KS,
column5 VS, column6 SS, column16 message for the recipient. Numbers are read as Decimal, never float.
Dates come as "2015-03-30+0200" strings (real responses) or as epoch milliseconds (the documentation's
examples); the latter are taken in Europe/Prague time.

CSV: a header block of ``key;value`` lines (decimal comma, dates dd.mm.yyyy), an empty line, a column
header row and the movements, semicolon separated, fields with ";" or quotes in double quotes.
Columns are found by their Czech names, so their order may differ.

Totals are not checked by default (``check_totals=False``): the documentation's own "since last download"
examples report opening and closing balances of a different window than the movements listed.

Not verified: how Fio marks a storno (its documentation only says it has the opposite sign and the same
instruction id), so ``reversal`` is always False; a symbol with letters (foreign payments) is dropped to
None rather than rejecting the download.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from mango_billing.bank.statement import (
    BankMovement,
    BankStatement,
    StatementError,
    money,
    norm_symbol,
    normalize_account,
)

FORMAT_JSON = "fio-json"
FORMAT_CSV = "fio-csv"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_CZ_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")

# CSV column names (the API's, plus "ID operace" of the internet banking export) -> JSON column number.
CSV_COLUMNS = {
    "id pohybu": 22,
    "id operace": 22,
    "datum": 0,
    "objem": 1,
    "měna": 14,
    "protiúčet": 2,
    "název protiúčtu": 10,
    "kód banky": 3,
    "název banky": 12,
    "ks": 4,
    "vs": 5,
    "ss": 6,
    "uživatelská identifikace": 7,
    "zpráva pro příjemce": 16,
    "typ": 8,
    "provedl": 9,
    "upřesnění": 18,
    "komentář": 25,
    "bic": 26,
    "id pokynu": 17,
    "reference plátce": 27,
}

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        _PRAGUE: Any = ZoneInfo("Europe/Prague")
    except ZoneInfoNotFoundError:
        _PRAGUE = None
except ImportError:  # pragma: no cover - Python always has zoneinfo from 3.9
    _PRAGUE = None


def parse(data: bytes, *, check_totals: bool = False) -> BankStatement:
    """Fio JSON or CSV, told apart by the first character."""
    head = bytes(data[:64]).lstrip(b"\xef\xbb\xbf \t\r\n") if isinstance(data, (bytes, bytearray)) else b""
    if head.startswith(b"{"):
        return parse_json(data, check_totals=check_totals)
    return parse_csv(data, check_totals=check_totals)


# --- JSON -------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise StatementError(f"JSON: {name} is not a number a bank statement may hold")


def _load_json(data: bytes) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a Fio statement is bytes, not {type(data).__name__}")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementError(f"byte {exc.start}: a Fio JSON statement is UTF-8 text") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise StatementError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise StatementError("not valid JSON: nested too deeply") from None


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise StatementError(f"{where}: expected a JSON object, found {type(value).__name__}")
    return value


def _fio_date(value: Any, *, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise StatementError(f"{where}: expected a date, found {value!r}")
    if isinstance(value, (int, Decimal)):
        try:
            millis = int(value)
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
        except (OverflowError, ValueError, ArithmeticError):
            raise StatementError(f"{where}: {value!r:.40} is not a timestamp") from None
        if _PRAGUE is not None:
            return moment.astimezone(_PRAGUE).date()
        return (moment + timedelta(hours=12)).date()  # Fio stamps local midnight: noon UTC is the same day
    if isinstance(value, str):
        m = _ISO_DATE.match(value.strip()) or None
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                pass  # reported below with the field's name
        m = _CZ_DATE.match(value.strip())
        if m:
            try:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                pass  # reported below with the field's name
    raise StatementError(f"{where}: expected a date like 2015-03-30+0200, found {value!r:.40}")


def _text(value: Any, *, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise StatementError(f"{where}: expected text, found {type(value).__name__}")
    text = str(value).strip()
    return text or None


def _column(tx: dict, number: int, where: str) -> Any:
    cell = tx.get(f"column{number}")
    if cell is None:
        return None
    return _obj(cell, f"{where}/column{number}").get("value")


def parse_transaction(tx: Any, *, where: str = "transaction", currency: str = "CZK") -> BankMovement:
    """One ``transactionList.transaction[]`` object of the Fio JSON."""
    tx = _obj(tx, where)
    columns = {n: _column(tx, n, where) for n in (22, 0, 1, 14, 2, 10, 3, 4, 5, 6, 16)}
    raw = json.dumps(tx, ensure_ascii=False, default=str)
    return _movement(columns, where=where, currency=currency, raw=raw, amount_text=False)


def _movement(
    columns: dict[int, Any], *, where: str, currency: str, raw: str, amount_text: bool
) -> BankMovement:
    movement_id = columns.get(22)
    if movement_id is not None:
        movement_id = _text(movement_id, where=f"{where}/ID pohybu (column22)")
    if columns.get(0) is None:
        raise StatementError(f"{where}: missing the date (column0 / Datum)")
    booked = _fio_date(columns[0], where=f"{where}/Datum (column0)")
    amount_value = columns.get(1)
    if amount_value is None:
        raise StatementError(f"{where}: missing the amount (column1 / Objem)")
    if amount_text:
        amount_value = _czech_number(amount_value, where=f"{where}/Objem")
    amount = money(amount_value, where=f"{where}/Objem (column1)")
    movement_currency = _text(columns.get(14), where=f"{where}/Měna (column14)") or currency
    counter = normalize_account(
        _text(columns.get(2), where=f"{where}/Protiúčet (column2)"),
        _text(columns.get(3), where=f"{where}/Kód banky (column3)"),
        where=f"{where}/Protiúčet (column2)",
    )
    return BankMovement(
        bank_id=movement_id,
        booked=booked,  # type: ignore[arg-type]  # _fio_date returns a date for a non-None value
        amount=amount,
        currency=movement_currency.upper(),
        counter_account=counter,
        counter_name=_text(columns.get(10), where=f"{where}/Název protiúčtu (column10)"),
        variable_symbol=norm_symbol(
            _text(columns.get(5), where=f"{where}/VS"), where=f"{where}/VS", strict=False
        ),
        constant_symbol=norm_symbol(
            _text(columns.get(4), where=f"{where}/KS"), where=f"{where}/KS", strict=False
        ),
        specific_symbol=norm_symbol(
            _text(columns.get(6), where=f"{where}/SS"), where=f"{where}/SS", strict=False
        ),
        message=_text(columns.get(16), where=f"{where}/Zpráva pro příjemce (column16)"),
        reversal=False,
        raw=raw,
    )


def parse_json(data: bytes, *, check_totals: bool = False) -> BankStatement:
    """The JSON of /last/, /periods/ or /by-id/ (transactions.json)."""
    doc = _obj(_load_json(data), "the JSON document")
    if "accountStatement" not in doc:
        raise StatementError("not a Fio statement: the JSON has no 'accountStatement' object")
    statement = _obj(doc["accountStatement"], "accountStatement")
    info = _obj(statement.get("info"), "accountStatement.info")
    currency = (_text(info.get("currency"), where="info.currency") or "CZK").upper()
    transaction_list = statement.get("transactionList")
    transactions: Any = []
    if transaction_list is not None:
        transactions = _obj(transaction_list, "accountStatement.transactionList").get("transaction") or []
    if not isinstance(transactions, list):
        raise StatementError("accountStatement.transactionList.transaction: expected a list")
    movements = tuple(
        parse_transaction(tx, where=f"transaction #{n}", currency=currency)
        for n, tx in enumerate(transactions, 1)
    )
    return _statement(
        FORMAT_JSON,
        info,
        currency,
        movements,
        check_totals,
        number_text=False,
    )


def _statement(
    fmt: str,
    info: dict[str, Any],
    currency: str,
    movements: tuple[BankMovement, ...],
    check_totals: bool,
    *,
    number_text: bool,
) -> BankStatement:
    account = normalize_account(
        _text(info.get("accountId"), where="info.accountId"),
        _text(info.get("bankId"), where="info.bankId"),
        where="info.accountId",
    ) or normalize_account(_text(info.get("iban"), where="info.iban"), where="info.iban")
    if account is None:
        raise StatementError("info: missing accountId (the statement's account)")

    def balance(key: str) -> Decimal | None:
        value = info.get(key)
        if value is None or value == "":
            return None
        if number_text:
            value = _czech_number(value, where=f"info.{key}")
        return money(value, where=f"info.{key}")

    opening, closing = balance("openingBalance"), balance("closingBalance")
    if check_totals and opening is not None and closing is not None:
        total = sum((m.amount for m in movements), Decimal("0.00"))
        if opening + total != closing:
            raise StatementError(
                f"the statement does not add up: opening balance {opening} + movements {total} = "
                f"{opening + total}, but the closing balance is {closing}"
            )
    number = _text(info.get("idList"), where="info.idList")
    return BankStatement(
        format=fmt,
        account=account,
        currency=currency,
        number=number,
        period_from=_fio_date(info.get("dateStart"), where="info.dateStart"),
        period_to=_fio_date(info.get("dateEnd"), where="info.dateEnd"),
        opening_balance=opening,
        closing_balance=closing,
        movements=movements,
    )


# --- CSV --------------------------------------------------------------------------------------------


def _czech_number(value: Any, *, where: str) -> Any:
    """ "1 234,56" -> "1234.56" (decimal comma, spaces or non-breaking spaces as thousands separators)."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if "," in text:
        if "." in text:
            raise StatementError(f"{where}: {value!r:.40} mixes a decimal comma and a point")
        text = text.replace(",", ".")
    return text


def _decode_text(data: bytes) -> str:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a Fio statement is bytes, not {type(data).__name__}")
    raw = bytes(data)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass  # the internet banking's export may be Windows-1250
    try:
        return raw.decode("cp1250")
    except UnicodeDecodeError as exc:
        raise StatementError(f"byte {exc.start}: the CSV is neither UTF-8 nor Windows-1250 text") from None


def parse_csv(data: bytes, *, check_totals: bool = False) -> BankStatement:
    """The CSV of the API (transactions.csv): header block, empty line, column names, movements."""
    text = _decode_text(data)
    if "\x00" in text:
        raise StatementError("the CSV contains NUL bytes; is this a Fio CSV?")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    info: dict[str, Any] = {}
    columns: dict[int, int] | None = None
    movements: list[BankMovement] = []
    currency = "CZK"
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if columns is None:
                if cells[0].lower() in ("id pohybu", "id operace"):
                    columns = _csv_columns(cells, line)
                    currency = (_text(info.get("currency"), where="currency") or "CZK").upper()
                    continue
                if len(cells) < 2 or not cells[0]:
                    raise StatementError(
                        f"line {line}: expected a 'key;value' header line or the column names, found {row!r:.60}"
                    )
                info[cells[0]] = cells[1] or None
                continue
            values = {number: (cells[i] if i < len(cells) else "") or None for i, number in columns.items()}
            movements.append(
                _movement(
                    values,
                    where=f"line {line}",
                    currency=currency,
                    raw=";".join(row),
                    amount_text=True,
                )
            )
    except csv.Error as exc:
        raise StatementError(f"line {reader.line_num}: broken CSV: {exc}") from None
    if columns is None:
        raise StatementError("no column header row ('ID pohybu;Datum;Objem;...') found; is this a Fio CSV?")
    if "accountId" not in info and "iban" not in info:
        raise StatementError("the CSV header block has no accountId line; is this a Fio CSV?")
    return _statement(FORMAT_CSV, info, currency, tuple(movements), check_totals, number_text=True)


def _csv_columns(cells: list[str], line: int) -> dict[int, int]:
    columns: dict[int, int] = {}
    for index, name in enumerate(cells):
        number = CSV_COLUMNS.get(name.lower())
        if number is not None and number not in columns.values():
            columns[index] = number
    missing = [name for name, number in (("Datum", 0), ("Objem", 1)) if number not in columns.values()]
    if missing:
        raise StatementError(f"line {line}: the column header row lacks {', '.join(missing)}")
    return columns
