"""The PDF engine (protocols/pdf.py): tagged PDF/UA with title and language, the shipped font,
a URL fetcher that reads only static/ and data: URIs, and a render time limit."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from weasyprint.urls import URLFetchingError, fetch

from protocols import pdf
from tests.pdf_fixtures import (
    letters,
    missing_glyphs,
    pdf_fonts,
    pdf_reader,
    pdf_text,
    squash,
    struct_languages,
)

SHIPPED_FONTS = {"Havruta-Hebrew", "Havruta-Hebrew-Bold"}
PAGE = """<!doctype html><html lang="{lang}"><head><title>ignored</title></head><body>
<h1>Shalom</h1><p lang="he" dir="rtl">שָׁלוֹם עֲלֵיכֶם</p>{extra}</body></html>"""


def test_it_tags_the_pdf_and_sets_its_title_and_language() -> None:
    document = pdf.render_pdf(PAGE.format(lang="en", extra=""), title="A handout title", lang="en")
    reader = pdf_reader(document)
    root = reader.trailer["/Root"]
    assert reader.metadata.title == "A handout title"
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert "pdfuaid" in root["/Metadata"].get_object().get_data().decode()


def test_it_marks_hebrew_spans_as_hebrew_in_the_structure_tree() -> None:
    """The catalog says the document is English; the <p lang="he"> is Hebrew for a screen reader."""
    document = pdf.render_pdf(PAGE.format(lang="en", extra="<p>No language of its own.</p>"), title="t", lang="en")
    assert pdf_reader(document).trailer["/Root"]["/Lang"] == "en"
    # Only the Hebrew paragraph has a /Lang of its own, and it holds the Hebrew's text.
    assert struct_languages(document) == {"he": 1}


def test_it_draws_nikkud_and_cantillation_without_missing_glyph_boxes() -> None:
    verse = "בְּרֵאשִׁ֖ית בָּרָ֣א אֱלֹהִ֑ים אֵ֥ת הַשָּׁמַ֖יִם וְאֵ֥ת הָאָֽרֶץ׃"  # Genesis 1:1 with te'amim
    document = pdf.render_pdf(PAGE.format(lang="en", extra=f'<p lang="he" dir="rtl">{verse}</p>'), title="t", lang="en")
    assert missing_glyphs(document) == set()
    assert pdf_fonts(document) == SHIPPED_FONTS
    extracted = pdf_text(document)
    cantillation = {c for c in verse if "\u0591" <= c <= "\u05af"}
    assert len(cantillation) >= 4
    assert cantillation <= set(extracted)
    assert squash(letters(verse)) in squash(letters(extracted))
    # The check can fail: a character the font lacks is found, though it is drawn in our font.
    arabic = pdf.render_pdf(PAGE.format(lang="en", extra="<p>\u0628</p>"), title="t", lang="en")
    assert "\u0628" in missing_glyphs(arabic)


def test_it_uses_only_the_shipped_hebrew_font() -> None:
    document = pdf.render_pdf(PAGE.format(lang="en", extra=""), title="Fonts", lang="en")
    # The @font-face family of static/fonts/NotoSerifHebrew-*.ttf; a system font would show its own name.
    assert pdf_fonts(document) == SHIPPED_FONTS
    assert "Shalom" in pdf_text(document)


def test_it_sets_up_weasyprint_once_per_process() -> None:
    first = pdf.engine()
    pdf.render_pdf(PAGE.format(lang="en", extra=""), title="t", lang="en")
    assert pdf.engine() is first
    assert pdf.engine().font_config is first.font_config


@pytest.mark.parametrize(("paper", "size"), [("letter", (612, 792)), ("a4", (595, 842)), ("legal", (612, 792))])
def test_it_prints_on_letter_or_a4(paper: str, size: tuple[int, int]) -> None:
    document = pdf.render_pdf(PAGE.format(lang="en", extra=""), title="t", lang="en", paper=paper)
    box = pdf_reader(document).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A real local HTTP server that records every request it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/svg+xml")
            self.end_headers()
            self.wfile.write(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_it_never_fetches_from_the_network(web_server: tuple[str, list[str]]) -> None:
    base, seen = web_server
    extra = (
        f'<img src="{base}/tracker.svg" alt="">'
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<div style="background: url({base}/bg.svg)">x</div>'
    )
    document = pdf.render_pdf(PAGE.format(lang="en", extra=extra), title="t", lang="en")
    assert "Shalom" in pdf_text(document)
    assert seen == []


def test_it_reads_only_files_under_static_and_data_uris() -> None:
    fetcher = pdf.engine().fetcher
    font = pdf.STATIC_DIR / "fonts" / "NotoSerifHebrew-Regular.ttf"
    with fetch(fetcher, font.as_uri()) as response:
        assert response.read(4) == font.read_bytes()[:4]
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"/>').decode()
    with fetch(fetcher, f"data:image/svg+xml;base64,{svg}") as response:
        assert response.read().startswith(b"<svg")
    outside = pdf.STATIC_DIR.parent / "pyproject.toml"
    for url in (
        outside.as_uri(),
        (pdf.STATIC_DIR / ".." / "pyproject.toml").as_uri(),
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        "https://example.org/font.ttf",
        "ftp://example.org/x",
    ):
        with pytest.raises(URLFetchingError), fetch(fetcher, url):
            pass


def test_it_stops_a_render_that_runs_past_its_time_limit() -> None:
    # 3000 paragraphs: about 60 pages, several seconds of layout, far past the limit below. The
    # limit is checked between WeasyPrint's steps and after each page, so it stops within a page.
    long_body = "".join(f"<p>Paragraph {i} of a very long document.</p>" for i in range(3000))
    started = time.monotonic()
    with pytest.raises(pdf.RenderTimeout, match=r"longer than 0\.3 s"):
        pdf.render_pdf(PAGE.format(lang="en", extra=long_body), title="t", lang="en", time_limit=0.3)
    assert time.monotonic() - started < 3
    # The engine is still usable afterwards.
    assert "Shalom" in pdf_text(pdf.render_pdf(PAGE.format(lang="en", extra=""), title="t", lang="en"))


def test_it_sets_dir_auto_text_in_the_direction_of_its_first_letter() -> None:
    """WeasyPrint ignores dir="auto"; the engine resolves it the way browsers do."""
    html = (
        '<p dir="auto">&quot;<b>שָׁלוֹם</b> world</p>'
        '<p dir="auto"><span dir="auto">12. </span>Hello עולם</p>'
        '<h4 dir="auto">3 · 4</h4>'
        '<span dir="auto"></span>after'
    )
    assert pdf.resolve_auto_direction(html) == (
        '<p dir="rtl">&quot;<b>שָׁלוֹם</b> world</p>'
        '<p dir="ltr"><span>12. </span>Hello עולם</p>'
        "<h4>3 · 4</h4>"
        "<span></span>after"
    )


def test_it_keeps_print_templates_free_of_tables_grids_and_flex() -> None:
    """WeasyPrint lays out tables, grids and flex boxes several times slower than blocks; a class
    packet of thirty havrutot must stay a matter of seconds (bench/pdf.py)."""
    root = pdf.STATIC_DIR.parent
    templates = [
        *root.glob("protocols/templates/protocols/pdf/*.html"),
        *root.glob("worksheets/templates/worksheets/pdf/*.html"),
        *root.glob("classrooms/templates/classrooms/pdf/*.html"),
    ]
    assert len(templates) >= 10
    for path in templates:
        assert "<table" not in path.read_text(encoding="utf-8"), path.name
    for path in pdf.PRINT_CSS_DIR.glob("*.css"):
        css = path.read_text(encoding="utf-8")
        for slow in ("display: table", "display: grid", "display: flex", "display: inline-flex"):
            assert slow not in css, f"{path.name}: {slow}"
