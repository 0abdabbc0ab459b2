"""PDF rendering: A4, Czech text, page numbers, and no fetching from the network or the disk."""

from __future__ import annotations

import base64
import http.server
import io
import threading

import pypdf
import pytest

from mango_core.documents import pdf


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_czech_text_a4_and_page_numbers():
    html = "<h1>Příliš žluťoučký kůň úpěl ďábelské ódy</h1>" + "<p>řádek</p>" * 120
    data = pdf.to_pdf(html)
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = text_of(data)
    assert "Příliš žluťoučký kůň úpěl ďábelské ódy" in text
    assert f"Strana 1 / {len(reader.pages)}" in text


@pytest.fixture
def web_server():
    """A real HTTP server on localhost that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"h1 { color: red }")

        def log_message(self, *args):  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_external_and_local_urls_are_refused(web_server):
    base, hits = web_server
    html = (f'<link rel="stylesheet" href="{base}/style.css"><img src="{base}/logo.png">'
            '<img src="file:///etc/passwd"><img src="../../../../../etc/hostname"><p>ok</p>')
    css = f"body {{ background: url({base}/bg.png) }} @font-face {{ font-family: X; src: url({base}/f.woff) }}"
    fetcher = pdf.GuardedFetcher()
    data = pdf.to_pdf(html, css, fetcher=fetcher)
    assert data.startswith(b"%PDF") and "ok" in text_of(data)
    assert hits == [], "WeasyPrint reached the network"
    refused = " ".join(fetcher.refused)
    assert f"{base}/style.css" in refused and f"{base}/logo.png" in refused and f"{base}/bg.png" in refused
    assert "file:///etc/passwd" in refused and "/etc/hostname" in refused


def test_data_uris_and_vendored_static_files_are_allowed():
    png = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
    fetcher = pdf.GuardedFetcher()
    data = pdf.to_pdf(f'<img src="data:image/png;base64,{png}"><img src="mango.svg">', fetcher=fetcher)
    assert data.startswith(b"%PDF") and fetcher.refused == []
    assert pdf.allowed((pdf.STATIC / "mango.svg").as_uri())
    assert not pdf.allowed((pdf.STATIC / ".." / "templates" / "layout.html").as_uri())
    assert not pdf.allowed("https://example.com/x.png") and not pdf.allowed("ftp://x/y")


def test_without_weasyprint_mango_runs_and_says_what_to_install(db, world, monkeypatch):
    """A machine without Pango: no PDF, a clear message, no 500 and no failed start-up."""
    import sys

    import mango_core.documents
    from mango_core.documents import service
    from mango_core.tenancy import location_scope

    monkeypatch.delattr(mango_core.documents, "pdf", raising=False)
    monkeypatch.setitem(sys.modules, "mango_core.documents.pdf", None)  # the import now fails
    with location_scope(world.loc_a.id), pytest.raises(service.PdfUnavailable, match="Pango"):
        service.render(db, "<p>{{ 1 }}</p>", "", {})
