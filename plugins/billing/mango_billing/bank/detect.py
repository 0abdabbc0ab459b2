"""Pick the parser for a statement file by its content, or by the format the user chose.

GPC starts with a 074 record, camt.053 is XML in a camt.053 namespace, Fio JSON is an object with
``accountStatement``, the Fio CSV starts with its ``accountId;`` header line. Options a parser takes
(``check_totals``, and for GPC ``account_order`` / ``posting_codes``) are passed through.
"""

from __future__ import annotations

from typing import Any

from mango_billing.bank import camt053, fio, gpc
from mango_billing.bank.statement import BankStatement, StatementError

FORMATS = ("gpc", "camt053", "fio-json", "fio-csv")

_PARSERS = {
    "gpc": gpc.parse,
    "camt053": camt053.parse,
    "fio-json": fio.parse_json,
    "fio-csv": fio.parse_csv,
}


def detect_format(data: bytes) -> str:
    """The format name of ``data``; StatementError when it is none of :data:`FORMATS`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a statement file is bytes, not {type(data).__name__}")
    head = bytes(data[:65536])
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if stripped.startswith(b"074"):
        return "gpc"
    if stripped.startswith(b"<"):
        if b"camt.053" in head:
            return "camt053"
        raise StatementError("the file is XML but not a camt.053 bank statement")
    if stripped.startswith(b"{"):
        return "fio-json"
    if stripped[:64].lower().startswith(b"accountid;"):
        return "fio-csv"
    if stripped.startswith(b"UHL1"):
        raise StatementError("the file is an ABO payment order batch (UHL1), not a bank statement")
    raise StatementError(
        "unknown statement format: expected GPC (074 record), camt.053 XML, Fio JSON or Fio CSV"
    )


def parse_statement(data: bytes, fmt: str | None = None, **options: Any) -> BankStatement:
    """Parse ``data`` as ``fmt`` (one of :data:`FORMATS`), or as the detected format when ``fmt`` is None."""
    if fmt is None:
        fmt = detect_format(data)
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise StatementError(f"unknown statement format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        return parser(data, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise StatementError(f"option not supported by the {fmt} parser: {exc}") from None
        raise
