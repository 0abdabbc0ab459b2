"""HTML to PDF with WeasyPrint, without network access.

A template's HTML and CSS may name images, fonts or style sheets by URL. WeasyPrint would fetch
them; here a fetcher refuses every URL except ``data:`` URIs and files inside Mango's own
vendored static folder (``mango_core/web/static``), which is also the base URL, so a template
may write ``<img src="mango.svg">``. Refused URLs are left out of the document (WeasyPrint logs
a warning) and listed in :attr:`GuardedFetcher.refused`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint import urls as wp_urls

STATIC = (Path(__file__).resolve().parent.parent / "web" / "static").resolve()

# Every document: A4, page numbers at the bottom (a template's CSS comes after and may override).
BASE_CSS = """
@page {
  size: A4;
  margin: 20mm 18mm 22mm 18mm;
  @bottom-right { content: "Strana " counter(page) " / " counter(pages); font-size: 8pt; color: #666; }
}
html { font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 10pt; line-height: 1.35; }
"""


class RefusedURL(ValueError):
    pass


def allowed(url: str) -> bool:
    """``data:`` URIs, and ``file:`` URLs of files inside the vendored static folder."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "data":
        return True
    if scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    try:
        path = Path(unquote(parts.path)).resolve()
    except (OSError, ValueError):
        return False
    return path.is_relative_to(STATIC) and path.is_file()


_Base = getattr(wp_urls, "URLFetcher", None)

if _Base is not None:  # WeasyPrint >= 66: fetchers are URLFetcher objects

    class GuardedFetcher(_Base):
        def __init__(self) -> None:
            super().__init__(timeout=5, allowed_protocols=("data", "file"), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):  # noqa: ANN001, ANN201
            if not allowed(url):
                self.refused.append(url)
                raise RefusedURL(f"Mango documents may not load {url[:200]}")
            return super().fetch(url, headers)

else:  # WeasyPrint 62–65: a fetcher is a function returning a dict

    class GuardedFetcher:  # type: ignore[no-redef]
        def __init__(self) -> None:
            self.refused: list[str] = []

        def __call__(self, url: str):  # noqa: ANN204
            if not allowed(url):
                self.refused.append(url)
                raise RefusedURL(f"Mango documents may not load {url[:200]}")
            return weasyprint.default_url_fetcher(url, timeout=5)


def to_pdf(html: str, css: str = "", *, fetcher: GuardedFetcher | None = None) -> bytes:
    """Render HTML (and the template's CSS) to PDF bytes."""
    fetcher = fetcher if fetcher is not None else GuardedFetcher()
    base_url = STATIC.as_uri() + "/"
    stylesheets = [weasyprint.CSS(string=BASE_CSS, base_url=base_url, url_fetcher=fetcher)]
    if css.strip():
        stylesheets.append(weasyprint.CSS(string=css, base_url=base_url, url_fetcher=fetcher))
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    pdf = document.write_pdf(stylesheets=stylesheets)
    if not pdf or not pdf.startswith(b"%PDF"):
        raise RuntimeError("WeasyPrint produced no PDF")
    return pdf
