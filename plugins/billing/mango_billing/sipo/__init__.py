"""SIPO (Česká pošta's collection of household payments): connection numbers and file formats."""

from mango_billing.sipo.codec import (
    ChangeHeader,
    ChangeKind,
    ChangeRecord,
    Rejection,
    ResultRecord,
    SipoError,
    check_digit,
    connection_number_valid,
    parse_changes,
    parse_cover,
    parse_rejections,
    parse_results,
    write_changes,
    write_cover,
)

__all__ = [
    "ChangeHeader", "ChangeKind", "ChangeRecord", "Rejection", "ResultRecord", "SipoError", "check_digit",
    "connection_number_valid", "parse_changes", "parse_cover", "parse_rejections", "parse_results",
    "write_changes", "write_cover",
]
