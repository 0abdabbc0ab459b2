"""Bank statement import: GPC/ABO, camt.053, Fio JSON/CSV parsers, a GPC writer and the Fio API client."""

from mango_billing.bank.detect import FORMATS, detect_format, parse_statement
from mango_billing.bank.statement import BankMovement, BankStatement, StatementError

__all__ = ["FORMATS", "BankMovement", "BankStatement", "StatementError", "detect_format", "parse_statement"]
