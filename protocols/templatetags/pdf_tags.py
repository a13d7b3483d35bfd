"""Filters for the print templates (protocols/templates/protocols/pdf/_base.html).

The running header and footer are CSS strings (``string-set`` from ``data-`` attributes of the
body, shown with ``content: string(...)`` in the page margins) rather than running elements:
WeasyPrint deep-copies and lays out a running element again on every page, which cost about a
fifth of a handout's render time.
"""

from __future__ import annotations

import re
from html import unescape

from django import template
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_PAGE_NUMBER = re.compile(r'<span class="page-number"></span>')
_PAGE_COUNT = re.compile(r'<span class="page-count"></span>')


def _plain(markup: str) -> str:
    """Rendered template text as the plain text an attribute holds (tags dropped, entities read)."""
    return " ".join(unescape(strip_tags(markup)).split())


@register.filter
def attr_text(markup: str) -> SafeString:
    """Rendered markup (a template block) as an escaped attribute value."""
    return escape(_plain(markup))


@register.filter
def page_of_attrs(translated: str) -> SafeString:
    """``data-page-before/-between/-after`` around the page number and count of the translated
    "Page <span class="page-number"></span> of <span class="page-count"></span>".

    The footer shows string(page-before) counter(page) string(page-between) counter(pages)
    string(page-after); a translation that puts the count first falls back to "n / N".
    """
    number, count = _PAGE_NUMBER.search(translated), _PAGE_COUNT.search(translated)
    if number is None or count is None or count.start() < number.start():
        parts = ("", " / ", "")
    else:
        parts = (
            translated[: number.start()],
            translated[number.end() : count.start()],
            translated[count.end() :],
        )
    names = ("data-page-before", "data-page-between", "data-page-after")
    # Keep the spaces around the numbers: _plain would trim them.
    return mark_safe(  # noqa: S308 - every value is escaped
        " ".join(f'{name}="{escape(unescape(strip_tags(part)))}"' for name, part in zip(names, parts, strict=True))
    )
