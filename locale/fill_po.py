"""Fill empty (or fuzzy) msgstr entries of a .po file from a JSON dict {msgid: translation}.

Usage: python locale/fill_po.py locale/he/LC_MESSAGES/django.po translations.json
Prints the msgids that are still untranslated, so nothing is missed silently.

Keys and values:
- a plain entry: "msgid": "translation";
- an entry with a context (pgettext, {% translate ... context "..." %}): the key is
  "context\\u0004msgid", the separator gettext itself uses in .mo files;
- a plural entry (ngettext, {% blocktranslate count %}): the key is the singular msgid and the
  value a list with one string per plural form (as many as nplurals in the header).
An entry that is filled loses its fuzzy flag and its "#|" previous-msgid comments.
"""

from __future__ import annotations

import json
import re
import sys

CONTEXT_SEPARATOR = "\x04"


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line[line.index('"') :]) for line in lines if '"' in line)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _nplurals(blocks: list[str]) -> int:
    for block in blocks:
        found = re.search(r"nplurals\s*=\s*(\d+)", block)
        if found:
            return int(found.group(1))
    return 2


def _keyword_spans(lines: list[str]) -> dict[str, list[str]]:
    """Group the lines of one entry by the keyword that starts them (msgid, msgstr[0], ...)."""
    spans: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if line.startswith("#"):
            current = None
            continue
        if line.startswith('"') and current is not None:
            spans[current].append(line)
            continue
        keyword = line.split(" ", 1)[0]
        current = keyword
        spans[current] = [line]
    return spans


def fill(po_path: str, table: dict[str, str | list[str]]) -> list[str]:
    with open(po_path, encoding="utf-8") as handle:
        blocks = handle.read().split("\n\n")
    nplurals = _nplurals(blocks[:1])
    missing: list[str] = []
    out: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        spans = _keyword_spans(lines)
        if "msgid" not in spans or all(line.startswith("#~") for line in lines if line):
            out.append(block)
            continue
        msgid = _unquote(spans["msgid"])
        context = _unquote(spans["msgctxt"]) if "msgctxt" in spans else None
        plural = "msgid_plural" in spans
        key = f"{context}{CONTEXT_SEPARATOR}{msgid}" if context is not None else msgid
        if plural:
            current = [_unquote(spans.get(f"msgstr[{n}]", [])) for n in range(nplurals)]
            empty = not all(current)
        else:
            empty = not _unquote(spans.get("msgstr", []))
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        if not msgid or not (empty or fuzzy):
            out.append(block)
            continue
        value = table.get(key)
        if plural and isinstance(value, str):
            value = None  # a plural entry needs every form; a lone string is a mistake
        if plural and value is not None and len(value) != nplurals:
            value = None
        if value is None:
            missing.append(key + (" [plural]" if plural else ""))
            out.append(block)
            continue
        head = []
        for line in lines:
            if line.startswith(("msgid", "msgctxt", "msgstr", '"')):
                continue
            if line.startswith("#|"):
                continue
            if line.startswith("#,"):
                line = re.sub(r",\s*fuzzy\b", "", line)
                line = re.sub(r"^#,\s*fuzzy,\s*", "#, ", line)
                if line.strip() in ("#", "#,"):
                    continue
            head.append(line)
        body = [*spans.get("msgctxt", []), *spans["msgid"], *spans.get("msgid_plural", [])]
        if plural:
            body += [f"msgstr[{n}] {_quote(text)}" for n, text in enumerate(value)]
        else:
            body.append(f"msgstr {_quote(value)}")
        out.append("\n".join([*head, *body]))
    with open(po_path, "w", encoding="utf-8") as handle:
        handle.write("\n\n".join(out))
    return missing


if __name__ == "__main__":
    po, table_path = sys.argv[1], sys.argv[2]
    with open(table_path, encoding="utf-8") as handle:
        left = fill(po, json.load(handle))
    for msgid in left:
        print("UNTRANSLATED:", msgid)
    print(f"{len(left)} untranslated")
