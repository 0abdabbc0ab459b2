"""Preflight of real PDFs made here (pypdf and WeasyPrint): good ones pass, bad ones fail with the reason."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfWriter

from mango_print.shop.preflight import FAIL, OK, WARNING, preflight
from mango_print.testing import pypdf_pdf, weasy_pdf

A5 = {"width_mm": Decimal(148), "height_mm": Decimal(210), "bleed_mm": Decimal(3)}


def checks(report):  # noqa: ANN001, ANN201
    return {c.code: c for c in report.checks}


def test_a_good_cmyk_pdf_without_fonts_passes():
    report = preflight(pypdf_pdf(154, 216, pages=2), pages=2, **A5)
    assert report.verdict == OK, report.to_json()
    assert report.pages == 2
    assert report.colour_spaces == ["DeviceCMYK"]


def test_a_weasyprint_pdf_has_embedded_fonts_and_an_rgb_warning():
    report = preflight(weasy_pdf(154, 216, pages=2), pages=2, **A5)
    found = checks(report)
    assert found["fonts"].result == OK
    assert found["fonts"].params["count"] >= 1
    assert found["size"].result == OK
    assert found["colours"].result == WARNING
    assert "DeviceRGB" in found["colours"].params["spaces"]
    assert report.verdict == WARNING


def test_a_weasyprint_pdf_with_css_bleed_has_trim_and_bleed_boxes():
    report = preflight(weasy_pdf(148, 210, pages=2, bleed_mm=3), pages=2, **A5)
    assert checks(report)["size"].result == OK, report.to_json()
    assert report.verdict == WARNING  # RGB only


def test_trim_and_bleed_boxes_are_honoured():
    good = preflight(pypdf_pdf(154, 216, pages=2, trim=(3, 3)), pages=2, **A5)
    assert checks(good)["size"].result == OK
    # a trim box of the format but a bleed box without bleed
    writer = PdfWriter()
    from pypdf.generic import NameObject, RectangleObject

    for _ in range(2):
        page = writer.add_blank_page(width=148 * 72 / 25.4, height=210 * 72 / 25.4)
        page[NameObject("/TrimBox")] = RectangleObject([0, 0, 148 * 72 / 25.4, 210 * 72 / 25.4])
    out = io.BytesIO()
    writer.write(out)
    bad = preflight(out.getvalue(), pages=2, **A5)
    assert checks(bad)["size"].result == FAIL
    assert "no bleed" in checks(bad)["size"].message


def test_wrong_page_count_fails():
    report = preflight(pypdf_pdf(154, 216, pages=1), pages=2, **A5)
    assert report.verdict == FAIL
    assert checks(report)["pages"].params == {"found": 1, "pages": 2}


def test_format_without_bleed_fails_and_says_so():
    report = preflight(weasy_pdf(148, 210, pages=2), pages=2, **A5)
    size = checks(report)["size"]
    assert size.result == FAIL
    assert "no bleed" in size.message


def test_wrong_format_fails():
    report = preflight(pypdf_pdf(216, 303, pages=2), pages=2, **A5)  # A4 with bleed for an A5 product
    size = checks(report)["size"]
    assert size.result == FAIL
    assert size.params["width"] == "216.0"


def test_a_font_that_is_not_embedded_fails():
    report = preflight(pypdf_pdf(154, 216, pages=2, font="Helvetica"), pages=2, **A5)
    fonts = checks(report)["fonts"]
    assert fonts.result == FAIL
    assert fonts.params["fonts"] == "Helvetica"
    assert report.verdict == FAIL


@pytest.mark.parametrize("data, why", [
    (b"", "not a PDF"), (b"GIF89a....", "not a PDF"), (b"%PDF-1.7\n garbage garbage", "cannot be read"),
])
def test_garbage_is_a_failed_check_never_an_exception(data, why):
    report = preflight(data, pages=2, **A5)
    assert report.verdict == FAIL
    assert why in report.checks[0].message


def test_an_encrypted_pdf_fails():
    writer = PdfWriter()
    writer.add_blank_page(width=400, height=600)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    report = preflight(out.getvalue(), pages=1, **A5)
    assert report.verdict == FAIL
    assert "password" in report.checks[0].message
