"""QR codes of payment strings (QR Platba) as inline SVG for HTML/PDF and as PNG.

Error correction level M, as the QR Platba specification asks for printed media; no automatic
boost, so the level printed is the level the standard names. segno picks the alphanumeric mode
itself when the payload allows it (SPAYD strings are built to).
"""

from __future__ import annotations

import io

import segno
from segno import DataOverflowError

ERROR_LEVEL = "M"


class QrError(ValueError):
    """The payload cannot be put in a QR code (empty, or too long)."""


def qr_code(payload: str) -> segno.QRCode:
    if not isinstance(payload, str) or not payload:
        raise QrError("a QR code needs a non-empty text payload")
    try:
        return segno.make(payload, error=ERROR_LEVEL, boost_error=False, micro=False)
    except DataOverflowError as exc:
        raise QrError(f"the payload of {len(payload)} characters does not fit in a QR code") from exc


def qr_svg(payload: str, *, border: int = 4, title: str | None = None) -> str:
    """An ``<svg>`` element to put inline in HTML: no XML declaration, sized by a viewBox only.

    The page's CSS gives it its printed size (``svg.qr-platba { width: 32mm; height: 32mm }``).
    """
    buffer = io.BytesIO()
    qr_code(payload).save(buffer, kind="svg", border=border, xmldecl=False, svgns=True, nl=False,
                          omitsize=True, svgclass="qr-platba", lineclass=None, title=title)
    return buffer.getvalue().decode("utf-8")


def qr_png(payload: str, scale: int = 8, *, border: int = 4) -> bytes:
    """A PNG image, ``scale`` pixels a module."""
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 100:
        raise QrError(f"the scale must be a whole number of pixels from 1 to 100, got {scale!r}")
    buffer = io.BytesIO()
    qr_code(payload).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()
