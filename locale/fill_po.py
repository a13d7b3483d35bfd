"""Fill empty (or fuzzy) msgstr entries of a .po file from a JSON dict {msgid: translation}.

Usage: python locale/fill_po.py locale/he/LC_MESSAGES/django.po translations.json
Prints the msgids that are still untranslated, so nothing is missed silently.
"""

from __future__ import annotations

import json
import re
import sys


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line[line.index('"') :]) for line in lines if '"' in line)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def fill(po_path: str, table: dict[str, str]) -> list[str]:
    with open(po_path, encoding="utf-8") as handle:
        blocks = handle.read().split("\n\n")
    missing: list[str] = []
    out: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        try:
            i_id = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
            i_str = next(i for i, line in enumerate(lines) if line.startswith("msgstr"))
        except StopIteration:
            out.append(block)
            continue
        if any(line.startswith("msgid_plural") for line in lines):
            out.append(block)  # plurals are filled by hand
            continue
        msgid = _unquote(lines[i_id:i_str])
        msgstr = _unquote(lines[i_str:])
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        if msgid and (not msgstr or fuzzy):
            if msgid in table:
                head = [re.sub(r",\s*fuzzy", "", line) if line.startswith("#,") else line for line in lines[:i_id]]
                head = [line for line in head if line.strip() != "#,"]
                block = "\n".join([*head, *lines[i_id:i_str], f"msgstr {_quote(table[msgid])}"])
            else:
                missing.append(msgid)
        out.append(block)
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
