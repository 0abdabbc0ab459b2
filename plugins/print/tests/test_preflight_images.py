"""Image resolution in preflight: real PDFs made here with pypdf (image XObjects placed by exact
matrices, a form XObject, an inline image, a stencil mask) and with WeasyPrint (PNG images sized by
CSS, as a real producer places them); the effective dpi, the 300 dpi warning and the product minimum."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
)

from mango_print.shop.preflight import DEFAULT_MIN_DPI, FAIL, OK, WARNING, preflight
from mango_print.testing import pt

A5 = {"width_mm": Decimal(148), "height_mm": Decimal(210), "bleed_mm": Decimal(3)}


def _image(writer: PdfWriter, width: int, height: int, *, mask: bool = False):  # noqa: ANN202
    """A CMYK image XObject of ``width × height`` pixels (or a 1-bit stencil mask)."""
    stream = DecodedStreamObject()
    stream.set_data(bytes((width + 7) // 8 * height) if mask else bytes(width * height * 4))
    stream.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                   NameObject("/Width"): NumberObject(width), NameObject("/Height"): NumberObject(height),
                   NameObject("/BitsPerComponent"): NumberObject(1 if mask else 8)})
    if mask:
        stream[NameObject("/ImageMask")] = BooleanObject(True)
    else:
        stream[NameObject("/ColorSpace")] = NameObject("/DeviceCMYK")
    return writer._add_object(stream)


def _pdf(draw: bytes, images: dict[str, tuple[int, int]], *, forms: dict[str, tuple[bytes, list[float]]] | None = None,
         masks: dict[str, tuple[int, int]] | None = None) -> bytes:
    """One A5 page with bleed whose content is ``draw``; ``images`` are named XObjects (pixels),
    ``forms`` form XObjects (content, /Matrix) that may draw the same images."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=pt(154), height=pt(216))
    xobjects = DictionaryObject({NameObject(f"/{name}"): _image(writer, w, h) for name, (w, h) in images.items()})
    for name, (w, h) in (masks or {}).items():
        xobjects[NameObject(f"/{name}")] = _image(writer, w, h, mask=True)
    for name, (content, matrix) in (forms or {}).items():
        form = DecodedStreamObject()
        form.set_data(content)
        form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                     NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(1000),
                                                       FloatObject(1000)]),
                     NameObject("/Matrix"): ArrayObject([FloatObject(v) for v in matrix]),
                     NameObject("/Resources"): DictionaryObject({NameObject("/XObject"): xobjects})})
        xobjects[NameObject(f"/{name}")] = writer._add_object(form)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
    stream = DecodedStreamObject()
    stream.set_data(b"0 0.5 1 0 k 10 10 100 100 re f\n" + draw)
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _images_check(report):  # noqa: ANN001, ANN202
    return next(c for c in report.checks if c.code == "images")


def test_a_low_resolution_image_fails_and_a_high_one_passes():
    # one inch = 72 pt: 100 px over an inch is 100 dpi, 600 px is 600 dpi
    data = _pdf(b"q 72 0 0 72 50 50 cm /Low Do Q q 72 0 0 72 200 50 cm /High Do Q",
                {"Low": (100, 100), "High": (600, 600)})
    report = preflight(data, pages=1, **A5)
    check = _images_check(report)
    assert check.result == FAIL and report.verdict == FAIL
    assert (check.params["image"], check.params["page"], check.params["dpi"], check.params["min"],
            check.params["below"]) == ("Low", 1, 100, DEFAULT_MIN_DPI, 1)
    assert [(i["image"], i["dpi"], i["pixels"], i["placed_mm"]) for i in report.images] == [
        ("Low", 100, "100 × 100", "25.4 × 25.4"), ("High", 600, "600 × 600", "25.4 × 25.4")]
    assert report.to_json()["images"] == report.images
    only_high = preflight(_pdf(b"q 72 0 0 72 200 50 cm /High Do Q", {"High": (600, 600)}), pages=1, **A5)
    assert _images_check(only_high).result == OK and only_high.verdict == OK
    assert _images_check(only_high).params["dpi"] == 600


def test_between_the_minimum_and_300_dpi_is_a_warning_and_the_product_minimum_counts():
    data = _pdf(b"q 72 0 0 72 50 50 cm /Mid Do Q", {"Mid": (200, 200)})
    check = _images_check(preflight(data, pages=1, **A5))
    assert check.result == WARNING and check.params["dpi"] == 200
    strict = _images_check(preflight(data, pages=1, min_dpi=250, **A5))
    assert strict.result == FAIL and strict.params["min"] == 250
    lenient = _images_check(preflight(_pdf(b"q 72 0 0 72 50 50 cm /Low Do Q", {"Low": (100, 100)}), pages=1,
                                      min_dpi=72, **A5))
    assert lenient.result == WARNING


def test_the_lower_direction_counts_and_rotation_and_nested_matrices_are_followed():
    # stretched: 300 px over 1 inch across, 300 px over 4 inches down -> 75 dpi
    stretched = _pdf(b"q 72 0 0 288 50 50 cm /Img Do Q", {"Img": (300, 300)})
    assert report_dpi(stretched) == [75]
    # rotated by 90 degrees and scaled twice (cm applied on cm): 1 inch each way -> 300 dpi
    rotated = _pdf(b"q 2 0 0 2 0 0 cm q 0 36 -36 0 200 100 cm /Img Do Q Q", {"Img": (300, 300)})
    assert report_dpi(rotated) == [300]
    # a form XObject scaled by half draws the image at 144 pt in its own space -> 72 pt on the page
    nested = _pdf(b"q 1 0 0 1 20 20 cm /Fm Do Q", {"Img": (300, 300)},
                  forms={"Fm": (b"q 144 0 0 144 0 0 cm /Img Do Q", [0.5, 0, 0, 0.5, 0, 0])})
    assert report_dpi(nested) == [300]
    # Q restores the matrix: the second placement is not scaled by the first one's cm
    restored = _pdf(b"q 10 0 0 10 0 0 cm Q q 72 0 0 72 0 0 cm /Img Do Q", {"Img": (300, 300)})
    assert report_dpi(restored) == [300]


def report_dpi(data: bytes) -> list[int]:
    return [i["dpi"] for i in preflight(data, pages=1, **A5).images]


def test_inline_images_count_and_stencil_masks_do_not():
    inline = b"q 72 0 0 72 50 50 cm BI /W 10 /H 10 /CS /G /BPC 8 ID " + bytes(100) + b" EI Q"
    report = preflight(_pdf(inline, {}), pages=1, **A5)
    assert [(i["image"], i["dpi"]) for i in report.images] == [("inline", 10)]
    assert _images_check(report).result == FAIL
    masked = preflight(_pdf(b"q 72 0 0 72 50 50 cm /Mask Do Q", {}, masks={"Mask": (8, 8)}), pages=1, **A5)
    assert masked.images == [] and _images_check(masked).result == OK


def test_a_pdf_without_images_says_so():
    check = _images_check(preflight(_pdf(b"", {}), pages=1, **A5))
    assert (check.result, check.message) == (OK, "No raster images.")


def _png(width: int, height: int) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.mark.parametrize(("pixels", "result"), [(120, FAIL), (240, WARNING), (900, OK)])
def test_weasyprint_images_sized_by_css(pixels, result):
    """A real producer: a PNG of ``pixels`` square shown 1 inch wide by CSS -> ``pixels`` dpi."""
    import weasyprint

    html = (f"<html><head><style>@page {{ size: 148mm 210mm; margin: 10mm; bleed: 3mm; }}</style></head><body>"
            f'<img src="{_png(pixels, pixels)}" style="width: 1in; height: 1in"></body></html>')
    report = preflight(weasyprint.HTML(string=html).write_pdf(), pages=1, **A5)
    assert [abs(i["dpi"] - pixels) <= 1 for i in report.images] == [True], report.images
    assert _images_check(report).result == result


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.floats(0.5, 500), st.floats(0.5, 500))
def test_the_effective_resolution_is_pixels_over_inches(px_w, px_h, width_pt, height_pt):
    data = _pdf(f"q {width_pt:.4f} 0 0 {height_pt:.4f} 10 10 cm /Img Do Q".encode(), {"Img": (px_w, px_h)})
    [image] = preflight(data, pages=1, **A5).images
    expected = min(px_w * 72 / float(f"{width_pt:.4f}"), px_h * 72 / float(f"{height_pt:.4f}"))
    assert abs(image["dpi"] - expected) <= 0.5 + 1e-6
