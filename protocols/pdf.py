"""The PDF engine: WeasyPrint set up once per process, a static-only URL fetcher and a time limit.

Every PDF of the product (handouts, completed worksheets, class packets, sign-in sheets) goes
through ``render_pdf`` (or ``render_document`` when pages are merged), so all of them

* use the shipped Hebrew font (static/fonts/NotoSerifHebrew-*.ttf, OFL; the web pages use the
  same files), loaded through one ``FontConfiguration`` and one parsed base stylesheet per
  process: parsing CSS and registering fonts costs more than laying out a one-page handout;
* fetch nothing from the network: the URL fetcher serves files under ``static/`` and ``data:``
  URIs and refuses everything else, so a teacher's text or a student's answer that smuggles in
  ``<img src="http://...">`` (or ``file:///etc/passwd``) cannot make the server fetch it;
* stop after ``PDF_RENDER_TIME_LIMIT`` seconds (and ``PDF_MAX_PAGES`` pages) instead of tying up
  a worker: WeasyPrint reports each laid-out page on its progress logger, and a handler on that
  logger raises ``RenderTimeout`` in the rendering thread once the deadline has passed;
* lay out ``dir="auto"`` text in the direction of its first strong letter, as browsers do
  (WeasyPrint treats it as "inherit": an English protocol printed from the Hebrew interface would
  be set right to left, its full stops at the wrong end); ``resolve_auto_direction``;
* are tagged PDF/UA-1 documents with their title and language set, and every element with a
  ``lang`` attribute (the Hebrew of a text, ``<span lang="he">``) carries ``/Lang`` in the
  structure tree, so a screen reader switches to a Hebrew voice there (``_tag_languages``).

WeasyPrint's ``FontConfiguration`` wraps a Pango font map, which must not be used by two threads
at once. Renders therefore hold one process-wide lock. They are CPU-bound under the GIL anyway,
and the class packet renders one havruta at a time, so a handout never waits for a whole packet.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings

# WeasyPrint logs every rendering step at INFO, from import time on (its user-agent stylesheets).
# Those lines feed the time limit below; they are not for the server log.
PROGRESS_LOGGER = logging.getLogger("weasyprint.progress")
PROGRESS_LOGGER.setLevel(logging.INFO)
PROGRESS_LOGGER.propagate = False

import pydyf  # noqa: E402
from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.document import Document  # noqa: E402
from weasyprint.formatting_structure import boxes as wp_boxes  # noqa: E402
from weasyprint.pdf import tags as wp_tags  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

STATIC_DIR: Path = Path(settings.BASE_DIR) / "static"
PRINT_CSS_DIR: Path = STATIC_DIR / "css" / "print"
PDF_VARIANT = "pdf/ua-1"
PAPER_SIZES = {"letter": "letter", "a4": "A4"}
DEFAULT_PAPER = "letter"
# The stylesheets a document may ask for, by name (static/css/print/<name>.css). base.css is always used.
PRINT_STYLESHEETS = ("handout", "worksheet", "signin")


def render_time_limit() -> float:
    return float(getattr(settings, "PDF_RENDER_TIME_LIMIT", 30.0))


def render_max_pages() -> int:
    return int(getattr(settings, "PDF_MAX_PAGES", 400))


class RenderTimeout(Exception):
    """A render ran past its time or page limit and was stopped."""


class RefusedURL(ValueError):
    """The PDF engine only reads files under static/ and data: URIs."""


class StaticOnlyFetcher(URLFetcher):
    """Serves files under one folder (and ``data:`` URIs); refuses every other URL.

    WeasyPrint catches the refusal, logs it and renders without the resource, so a stray
    ``<img src="https://...">`` costs nothing and leaks nothing. Files are kept in memory after
    the first read: the same font and stylesheets are read by every render.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(timeout=1, allowed_protocols={"file", "data"}, allow_redirects=False)
        self.root = root.resolve()
        self._files: dict[Path, bytes] = {}

    def path_for(self, url: str) -> Path:
        """The file a ``file:`` URL names, if it is under the root; RefusedURL otherwise."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedURL(f"The PDF engine does not fetch {url[:80]!r}.")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RefusedURL(f"The PDF engine only reads files under {self.root}.")
        return path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            # urllib's DataHandler decodes it in memory; nothing is opened.
            return super().fetch(url, headers)
        path = self.path_for(url)
        body = self._files.get(path)
        if body is None:
            body = self._files[path] = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body, {"Content-Type": content_type})


# --------------------------------------------------------------------------------------------
# Time limit: a handler on WeasyPrint's progress logger, armed per thread
# --------------------------------------------------------------------------------------------

_limits = threading.local()


class _LimitHandler(logging.Handler):
    """Raises RenderTimeout from inside WeasyPrint (Handler.handle does not catch emit's errors)."""

    def emit(self, record: logging.LogRecord) -> None:
        deadline = getattr(_limits, "deadline", None)
        if deadline is None:
            return
        _limits.steps += 1
        if time.monotonic() > deadline:
            raise RenderTimeout(f"The PDF took longer than {_limits.seconds:g} s to render and was stopped.")
        if record.msg.startswith("Step 5 - Creating layout - Page") and record.args:
            page = record.args[0] if isinstance(record.args, tuple) else 0
            if isinstance(page, int) and page > _limits.max_pages:
                raise RenderTimeout(f"The PDF grew past {_limits.max_pages} pages and was stopped.")


@contextmanager
def _time_limit(seconds: float, max_pages: int) -> Iterator[None]:
    _limits.deadline = time.monotonic() + seconds
    _limits.seconds = seconds
    _limits.max_pages = max_pages
    _limits.steps = 0
    try:
        yield
    finally:
        _limits.deadline = None


# --------------------------------------------------------------------------------------------
# dir="auto", resolved before WeasyPrint sees the page
# --------------------------------------------------------------------------------------------

_AUTO_DIR = re.compile(r'\sdir="auto"')
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "source"})


def _first_strong_direction(html: str, start: int) -> str:
    """ "rtl", "ltr" or "" for the text of the element whose start tag ends at ``start``.

    The first letter with a strong direction decides (HTML's dir=auto); markup inside is skipped,
    and the scan stops at the element's end tag.
    """
    depth = 0
    position = start
    length = len(html)
    while position < length:
        char = html[position]
        if char == "<":
            tag = _TAG.match(html, position)
            if tag is None:
                position += 1
                continue
            closing, name, self_closing = tag.groups()
            if closing:
                depth -= 1
                if depth < 0:
                    return ""
            elif not self_closing and name.lower() not in _VOID:
                depth += 1
            position = tag.end()
            continue
        if char == "&":  # an escaped character (&amp;, &#x27;): never a letter with a direction
            end = html.find(";", position, position + 12)
            position = end + 1 if end != -1 else position + 1
            continue
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
        position += 1
    return ""


def resolve_auto_direction(html: str) -> str:
    """``html`` with every ``dir="auto"`` replaced by the direction of the element's own text
    (dropped when it has no letter, so the element inherits)."""
    if 'dir="auto"' not in html:
        return html
    pieces: list[str] = []
    last = 0
    for match in _AUTO_DIR.finditer(html):
        tag_end = html.find(">", match.end())
        direction = _first_strong_direction(html, tag_end + 1) if tag_end != -1 else ""
        pieces.append(html[last : match.start()])
        pieces.append(f' dir="{direction}"' if direction else "")
        last = match.end()
    pieces.append(html[last:])
    return "".join(pieces)


# --------------------------------------------------------------------------------------------
# Languages in the structure tree
# --------------------------------------------------------------------------------------------


def _tag_languages() -> None:
    """Give structure elements of ``lang="..."`` elements a ``/Lang`` entry (PDF/UA 7.2).

    WeasyPrint 70 sets the catalog's ``/Lang`` from ``<html lang>`` but drops the ``lang`` of
    inner elements, so a screen reader would read the Hebrew of a text with an English voice.
    Its tagger builds one structure element per box in ``tags._build_box_tree`` (a generator
    that calls itself through the module global), so wrapping that global reaches every box.
    weasyprint is pinned in pyproject.toml; test_it_marks_hebrew_spans_as_hebrew_in_the_structure_tree
    fails if an upgrade changes this internal.
    """
    original = getattr(wp_tags, "_build_box_tree", None)
    if original is None or getattr(original, "sets_lang", False):
        return

    def build_box_tree(box: Any, parent: Any, *args: Any) -> Iterator[Any]:
        source = getattr(box, "_box", box)  # an AbsolutePlaceholder stands for its box
        element = getattr(source, "element", None)
        lang = None
        page_level = isinstance(source, (wp_boxes.PageBox, wp_boxes.MarginBox))
        if element is not None and not page_level and getattr(source, "element_tag", None) not in ("html", "body"):
            lang = element.get("lang")  # <html lang> is the catalog's /Lang already
        for struct in original(box, parent, *args):
            if lang and "Lang" not in struct:
                struct["Lang"] = pydyf.String(lang)
            yield struct

    build_box_tree.sets_lang = True  # type: ignore[attr-defined]
    wp_tags._build_box_tree = build_box_tree


# --------------------------------------------------------------------------------------------
# The engine: built once per process
# --------------------------------------------------------------------------------------------


@dataclass
class Engine:
    font_config: FontConfiguration
    fetcher: StaticOnlyFetcher
    base: CSS
    sheets: dict[str, CSS]
    papers: dict[str, CSS]


_engine: Engine | None = None
_engine_lock = threading.Lock()
# One render at a time per process: see the module docstring.
render_lock = threading.RLock()


def _build_engine() -> Engine:
    _tag_languages()
    if not any(isinstance(h, _LimitHandler) for h in PROGRESS_LOGGER.handlers):
        PROGRESS_LOGGER.addHandler(_LimitHandler())
    font_config = FontConfiguration()
    fetcher = StaticOnlyFetcher(STATIC_DIR)

    def sheet(path: Path) -> CSS:
        return CSS(filename=str(path), font_config=font_config, url_fetcher=fetcher)

    sheets = {name: sheet(PRINT_CSS_DIR / f"{name}.css") for name in PRINT_STYLESHEETS}
    papers = {
        key: CSS(string=f"@page {{ size: {size}; }}", font_config=font_config, url_fetcher=fetcher)
        for key, size in PAPER_SIZES.items()
    }
    return Engine(font_config, fetcher, sheet(PRINT_CSS_DIR / "base.css"), sheets, papers)


def engine() -> Engine:
    """The process-wide WeasyPrint setup (font configuration, fetcher, parsed stylesheets)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build_engine()
    return _engine


def paper_or_default(paper: str | None) -> str:
    return paper if paper in PAPER_SIZES else DEFAULT_PAPER


def render_document(
    html: str,
    *,
    title: str,
    lang: str,
    paper: str = DEFAULT_PAPER,
    stylesheets: Sequence[str] = (),
    time_limit: float | None = None,
) -> Document:
    """Lay out ``html`` into pages (not yet a PDF), with the title and language set.

    Use ``render_pdf`` for one document; this is for merging several (``documents_to_pdf``).
    Relative URLs in ``html`` resolve against ``static/``.
    """
    setup = engine()
    css = [setup.base, *(setup.sheets[name] for name in stylesheets), setup.papers[paper_or_default(paper)]]
    document_html = HTML(string=resolve_auto_direction(html), base_url=str(STATIC_DIR) + "/", url_fetcher=setup.fetcher)
    with render_lock, _time_limit(time_limit or render_time_limit(), render_max_pages()):
        document = document_html.render(
            font_config=setup.font_config, stylesheets=css, pdf_variant=PDF_VARIANT, presentational_hints=False
        )
    # The template sets <title> and <html lang>; these make sure the PDF says the same.
    document.metadata.title = title
    document.metadata.lang = lang
    return document


def documents_to_pdf(documents: Sequence[Document], *, title: str, lang: str) -> bytes:
    """One tagged PDF from the pages of several rendered documents, in order."""
    pages = [page for document in documents for page in document.pages]
    merged = documents[0].copy(pages)
    merged.metadata.title = title
    merged.metadata.lang = lang
    with render_lock, _time_limit(render_time_limit(), render_max_pages()):
        return merged.write_pdf(pdf_variant=PDF_VARIANT)


def render_pdf(
    html: str,
    *,
    title: str,
    lang: str,
    paper: str = DEFAULT_PAPER,
    stylesheets: Sequence[str] = (),
    time_limit: float | None = None,
) -> bytes:
    """``html`` as a tagged PDF/UA-1 document (bytes) with its title and language set.

    Raises ``RenderTimeout`` when it takes longer than ``time_limit`` seconds (default: the
    ``PDF_RENDER_TIME_LIMIT`` setting, 30 s).
    """
    document = render_document(
        html, title=title, lang=lang, paper=paper, stylesheets=stylesheets, time_limit=time_limit
    )
    with render_lock, _time_limit(time_limit or render_time_limit(), render_max_pages()):
        return document.write_pdf(pdf_variant=PDF_VARIANT)
