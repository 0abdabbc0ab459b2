"""Outputs of issued billing documents: QR Platba (SPAYD), ISDOC 6.0.2 and the printable invoice.

Everything here works on :class:`~mango_billing.outputs.document.InvoiceDocument`, a frozen plain-data
description of an issued document, so no output touches the database: the invoicing code maps its
models to it once, and every output calls :meth:`InvoiceDocument.check` before it writes anything.
"""

from mango_billing.outputs.document import (
    DocumentError,
    DocumentLine,
    InvoiceDocument,
    Party,
    StatementRow,
    VatRow,
    sample_document,
    vat_summary,
)
from mango_billing.outputs.spayd import SpaydError, spayd

__all__ = [
    "DocumentError",
    "DocumentLine",
    "InvoiceDocument",
    "Party",
    "SpaydError",
    "StatementRow",
    "VatRow",
    "sample_document",
    "spayd",
    "vat_summary",
]
