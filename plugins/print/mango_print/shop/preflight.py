"""Automatic preflight of a customer's print-ready PDF (pypdf; no rendering, nothing executed).

Checks, each with a result ``ok``, ``warning`` or ``fail``:

* the file is a readable, unencrypted PDF;
* page count against the product (``pages``);
* page size: every page's trim box (the MediaBox when there is no TrimBox) must be the ordered
  format, and the bleed box (else the media box) must add the product's bleed on every side;
  a page exactly of the format but without bleed fails, as does any other size (±0.5 mm);
* fonts: every font used on a page (also inside form XObjects) must be embedded (Type 3 fonts
  are by nature); a missing font would be replaced on the press;
* colour spaces: a report of what the pages use (DeviceCMYK, DeviceRGB, DeviceGray, ICC, spot
  colours from Separation/DeviceN, images included); RGB is a warning (converted to CMYK, colours
  may shift), never a failure;
* image resolution: every placement of a raster image (image XObjects, also inside form XObjects,
  and inline images) gets its effective resolution on the page — its pixels divided by the size it
  is drawn at, which the content stream's current transformation matrix gives (``q``/``Q``/``cm``
  and a form's ``/Matrix``; the image fills the unit square of that matrix). Below
  :data:`WARN_DPI` (300 dpi) is a warning, below the product's minimum (``min_dpi``, default
  :data:`DEFAULT_MIN_DPI`, 150 dpi) a failure. Stencil masks (``/ImageMask``) are not photos and
  are left out.

The verdict is the worst result. Every problem is a message for the customer in plain words.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject, NameObject

from mango_core.tenancy.validators import N_

OK, WARNING, FAIL = "ok", "warning", "fail"
VERDICTS = (OK, WARNING, FAIL)
PT_PER_MM = Decimal("72") / Decimal("25.4")
TOLERANCE_MM = Decimal("0.5")
MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 1000
MAX_XOBJECT_DEPTH = 5
WARN_DPI = 300  # what offset printing wants of photos
DEFAULT_MIN_DPI = 150  # below this an image looks pixelated at reading distance
MAX_IMAGES = 500  # placements reported (a pattern of thousands of tiles says nothing more)


@dataclass
class Check:
    code: str  # "file", "pages", "size", "fonts", "colours"
    result: str
    message: str  # an N_() msgid, translated where it is shown
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "result": self.result, "message": self.message, "params": self.params}


@dataclass
class Report:
    checks: list[Check]
    pages: int = 0
    colour_spaces: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)  # see :class:`_Placements`

    @property
    def verdict(self) -> str:
        results = {c.result for c in self.checks}
        return FAIL if FAIL in results else WARNING if WARNING in results else OK

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "pages": self.pages, "colour_spaces": self.colour_spaces,
                "images": self.images, "checks": [c.to_json() for c in self.checks]}


def mm(points: Any) -> Decimal:
    return (Decimal(str(points)) / PT_PER_MM).quantize(Decimal("0.1"))


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _font_embedded(font: DictionaryObject) -> bool:
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not isinstance(descendants, ArrayObject) or not descendants:
            return False
        font = _resolve(descendants[0])
    descriptor = _resolve(font.get("/FontDescriptor"))
    if not isinstance(descriptor, DictionaryObject):
        return False
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _colour_space_name(space: Any) -> str:
    space = _resolve(space)
    if isinstance(space, NameObject):
        return str(space).lstrip("/")
    if isinstance(space, ArrayObject) and space:
        family = str(_resolve(space[0])).lstrip("/")
        if family == "ICCBased" and len(space) > 1:
            stream = _resolve(space[1])
            components = stream.get("/N") if hasattr(stream, "get") else None
            return {1: "ICC Gray", 3: "ICC RGB", 4: "ICC CMYK"}.get(int(components or 0), "ICC")
        if family in ("Separation", "DeviceN") and len(space) > 1:
            return f"{family} {_resolve(space[1])}".replace("/", "")
        if family == "Indexed" and len(space) > 1:
            return f"Indexed {_colour_space_name(space[1])}"
        return family
    return "?"


class _Walker:
    """Fonts and colour spaces of a page's resources, form XObjects included (bounded depth)."""

    def __init__(self) -> None:
        self.fonts: dict[str, bool] = {}  # base font name -> embedded
        self.spaces: set[str] = set()
        self.seen: set[int] = set()

    def resources(self, resources: Any, depth: int = 0) -> None:
        resources = _resolve(resources)
        if not isinstance(resources, DictionaryObject) or depth > MAX_XOBJECT_DEPTH:
            return
        fonts = _resolve(resources.get("/Font"))
        if isinstance(fonts, DictionaryObject):
            for ref in fonts.values():
                font = _resolve(ref)
                if isinstance(font, DictionaryObject):
                    name = str(font.get("/BaseFont", "/?")).lstrip("/")
                    self.fonts[name] = self.fonts.get(name, True) and _font_embedded(font)
        spaces = _resolve(resources.get("/ColorSpace"))
        if isinstance(spaces, DictionaryObject):
            for space in spaces.values():
                self.spaces.add(_colour_space_name(space))
        xobjects = _resolve(resources.get("/XObject"))
        if isinstance(xobjects, DictionaryObject):
            for ref in xobjects.values():
                key = ref.idnum if isinstance(ref, IndirectObject) else id(ref)
                if key in self.seen:
                    continue
                self.seen.add(key)
                xobject = _resolve(ref)
                if xobject.get("/Subtype") == "/Image":
                    if "/ColorSpace" in xobject:
                        self.spaces.add(_colour_space_name(xobject["/ColorSpace"]))
                elif xobject.get("/Subtype") == "/Form":
                    self.resources(xobject.get("/Resources"), depth + 1)

    def content(self, data: bytes) -> None:
        """Colours set directly by operators (rg/RG RGB, k/K CMYK, g/G grey)."""
        for raw in data.split():
            if raw in (b"rg", b"RG"):
                self.spaces.add("DeviceRGB")
            elif raw in (b"k", b"K"):
                self.spaces.add("DeviceCMYK")
            elif raw in (b"g", b"G"):
                self.spaces.add("DeviceGray")


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """``m × n`` in PDF's row-vector convention: ``cm`` with ``m`` on a CTM ``n`` gives ``m × n``."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def _matrix(values: Any) -> Matrix | None:
    try:
        numbers = tuple(float(_resolve(v)) for v in values)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == 6 and all(math.isfinite(x) for x in numbers) else None  # type: ignore[return-value]


class _Placements:
    """Every raster image drawn on a page with its effective resolution (a content-stream walk).

    An image is painted into the unit square of the current transformation matrix ``[a b c d e f]``:
    on the page it is ``hypot(a, b)`` points wide and ``hypot(c, d)`` high (rotation and skew
    included), so its resolution is ``pixels ÷ (points ÷ 72)`` in each direction; the lower one counts.
    """

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.images: list[dict[str, Any]] = []

    def page(self, number: int, page: Any) -> None:
        contents = page.get_contents()
        if contents is not None:
            self._walk(number, contents, page.get("/Resources"), IDENTITY, 0)

    def _add(self, number: int, name: str, width: Any, height: Any, ctm: Matrix) -> None:
        try:
            pixels_w, pixels_h = int(_resolve(width)), int(_resolve(height))
        except (TypeError, ValueError):
            return
        a, b, c, d, _e, _f = ctm
        placed_w, placed_h = math.hypot(a, b), math.hypot(c, d)
        if pixels_w <= 0 or pixels_h <= 0 or placed_w < 0.01 or placed_h < 0.01 or len(self.images) >= MAX_IMAGES:
            return
        dpi = min(pixels_w * 72 / placed_w, pixels_h * 72 / placed_h)
        self.images.append({"page": number, "image": name, "pixels": f"{pixels_w} × {pixels_h}",
                            "placed_mm": f"{mm(round(placed_w, 3))} × {mm(round(placed_h, 3))}",
                            "dpi": int(Decimal(str(dpi)).quantize(Decimal(1), ROUND_HALF_UP))})

    def _walk(self, number: int, contents: Any, resources: Any, ctm: Matrix, depth: int) -> None:
        resources = _resolve(resources)
        xobjects = _resolve(resources.get("/XObject")) if isinstance(resources, DictionaryObject) else None
        stack: list[Matrix] = []
        for operands, operator in contents.operations:
            if operator == b"q":
                stack.append(ctm)
            elif operator == b"Q":
                ctm = stack.pop() if stack else ctm
            elif operator == b"cm":
                matrix = _matrix(operands)
                ctm = _times(matrix, ctm) if matrix else ctm
            elif operator == b"INLINE IMAGE":
                settings = operands.get("settings", {}) if isinstance(operands, dict) else {}
                if not settings.get("/IM", settings.get("/ImageMask", False)):
                    self._add(number, "inline", settings.get("/W", settings.get("/Width")),
                              settings.get("/H", settings.get("/Height")), ctm)
            elif operator == b"Do" and operands and isinstance(xobjects, DictionaryObject):
                xobject = _resolve(xobjects.get(operands[0]))
                if not isinstance(xobject, DictionaryObject):
                    continue
                if xobject.get("/Subtype") == "/Image":
                    if not xobject.get("/ImageMask", False):
                        self._add(number, str(operands[0]).lstrip("/"), xobject.get("/Width"),
                                  xobject.get("/Height"), ctm)
                elif xobject.get("/Subtype") == "/Form" and depth < MAX_XOBJECT_DEPTH:
                    matrix = _matrix(xobject.get("/Matrix", IDENTITY)) or IDENTITY
                    # a form without resources of its own uses the page's (older PDFs do)
                    self._walk(number, ContentStream(xobject, self.reader), xobject.get("/Resources", resources),
                               _times(matrix, ctm), depth + 1)


def _image_check(images: list[dict[str, Any]], min_dpi: int) -> Check:
    if not images:
        return Check("images", OK, N_("No raster images."))
    lowest = min(images, key=lambda i: i["dpi"])
    params = {"image": lowest["image"], "page": lowest["page"], "dpi": lowest["dpi"], "min": min_dpi,
              "warn": WARN_DPI, "count": len(images), "below": sum(1 for i in images if i["dpi"] < min_dpi)}
    if lowest["dpi"] < min_dpi:
        return Check("images", FAIL, N_("Image %(image)s on page %(page)d has only %(dpi)d dpi; this product needs "
                                        "at least %(min)d dpi (images below it: %(below)d). Use images with more "
                                        "pixels or place them smaller."), params)
    if lowest["dpi"] < WARN_DPI:
        return Check("images", WARNING, N_("The lowest image resolution is %(dpi)d dpi (%(image)s on page "
                                           "%(page)d); below %(warn)d dpi the print may look soft."), params)
    return Check("images", OK, N_("Images: %(count)d, the lowest resolution %(dpi)d dpi."), params)


def _box(page: Any, name: str) -> Any:
    return page[name] if name in page else None


def _same(a: Any, b: Any) -> bool:
    return all(abs(mm(x) - mm(y)) <= TOLERANCE_MM for x, y in zip((a.left, a.bottom, a.right, a.top),
                                                                   (b.left, b.bottom, b.right, b.top), strict=True))


def _size_check(reader: PdfReader, width: Decimal, height: Decimal, bleed: Decimal) -> Check:
    for number, page in enumerate(reader.pages, start=1):
        media = page.mediabox
        trim = _box(page, "/TrimBox")
        if trim is not None and _same(page.trimbox, media):
            trim = None  # a tool that knows no trim box writes the media box: judge the page by it
        trim_box = page.trimbox if trim is not None else media
        outer = page.bleedbox if _box(page, "/BleedBox") is not None else media
        tw, th = mm(trim_box.width), mm(trim_box.height)
        ow, oh = mm(outer.width), mm(outer.height)
        if (page.get("/Rotate") or 0) % 180:
            tw, th, ow, oh = th, tw, oh, ow
        found = {"page": number, "width": str(tw), "height": str(th), "format": f"{width} × {height}",
                 "bleed": str(bleed)}

        def near(a: Decimal, b: Decimal) -> bool:
            return abs(a - b) <= TOLERANCE_MM

        if trim is None:  # only a media box: it must be the format plus bleed
            if near(tw, width + 2 * bleed) and near(th, height + 2 * bleed):
                continue
            if bleed and near(tw, width) and near(th, height):
                return Check("size", FAIL, N_("Page %(page)d has the format %(format)s mm but no bleed: add "
                                              "%(bleed)s mm on every side."), found)
            return Check("size", FAIL, N_("Page %(page)d measures %(width)s × %(height)s mm; the product needs "
                                          "%(format)s mm plus %(bleed)s mm bleed on every side."), found)
        if not (near(tw, width) and near(th, height)):
            return Check("size", FAIL, N_("Page %(page)d measures %(width)s × %(height)s mm; the product needs "
                                          "%(format)s mm plus %(bleed)s mm bleed on every side."), found)
        if ow + TOLERANCE_MM < width + 2 * bleed or oh + TOLERANCE_MM < height + 2 * bleed:
            return Check("size", FAIL, N_("Page %(page)d has the format %(format)s mm but no bleed: add "
                                          "%(bleed)s mm on every side."), found)
    return Check("size", OK, N_("Every page is %(format)s mm with %(bleed)s mm bleed."),
                 {"format": f"{width} × {height}", "bleed": str(bleed)})


def preflight(data: bytes, *, pages: int | None, width_mm: Decimal, height_mm: Decimal,
              bleed_mm: Decimal, min_dpi: int = DEFAULT_MIN_DPI) -> Report:
    """Check ``data`` against the product; never raises for a bad file (it is a failed check).

    ``min_dpi`` is the product's lowest acceptable image resolution (:data:`DEFAULT_MIN_DPI` by default).
    """
    if len(data) > MAX_BYTES:
        return Report([Check("file", FAIL, N_("The file is larger than %(max)d MB."), {"max": MAX_BYTES // 2**20})])
    if not data.startswith(b"%PDF-"):
        return Report([Check("file", FAIL, N_("The file is not a PDF."))])
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return Report([Check("file", FAIL, N_("The PDF is protected by a password; send it without one."))])
        count = len(reader.pages)
        if count > MAX_PAGES:
            return Report([Check("file", FAIL, N_("The PDF has more than %(max)d pages."), {"max": MAX_PAGES})])
        checks = [Check("file", OK, N_("The file is a readable PDF."))]
        if count == 0:
            return Report([Check("file", FAIL, N_("The PDF has no pages."))])
        if pages is not None and count != pages:
            checks.append(Check("pages", FAIL, N_("The PDF has %(found)d pages; the product has %(pages)d."),
                                {"found": count, "pages": pages}))
        else:
            checks.append(Check("pages", OK, N_("%(found)d pages."), {"found": count}))
        checks.append(_size_check(reader, width_mm, height_mm, bleed_mm))
        walker = _Walker()
        placements = _Placements(reader)
        for number, page in enumerate(reader.pages, start=1):
            walker.resources(page.get("/Resources"))
            contents = page.get_contents()
            if contents is not None:
                walker.content(contents.get_data())
            placements.page(number, page)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return Report([Check("file", FAIL, N_("The PDF cannot be read: %(error)s"), {"error": str(exc)[:200]})])
    missing = sorted(name for name, embedded in walker.fonts.items() if not embedded)
    if missing:
        checks.append(Check("fonts", FAIL, N_("Fonts not embedded: %(fonts)s. Export the PDF with fonts embedded "
                                              "(PDF/X) or convert text to curves."), {"fonts": ", ".join(missing)}))
    else:
        checks.append(Check("fonts", OK, N_("All fonts embedded (%(count)d)."), {"count": len(walker.fonts)}))
    spaces = sorted(walker.spaces)
    rgb = [s for s in spaces if "RGB" in s]
    params = {"spaces": ", ".join(spaces) or "—"}
    if rgb:
        checks.append(Check("colours", WARNING, N_("Colour spaces: %(spaces)s. RGB colours will be converted to CMYK "
                                                   "and may look different in print."), params))
    else:
        checks.append(Check("colours", OK, N_("Colour spaces: %(spaces)s."), params))
    checks.append(_image_check(placements.images, min_dpi))
    return Report(checks, pages=count, colour_spaces=spaces, images=placements.images)
