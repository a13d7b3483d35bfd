"""Plain answers read out of a worksheet document (pure; the layout in worksheets/PROTOCOL.md)."""

from __future__ import annotations

import pycrdt
from hypothesis import given
from hypothesis import strategies as st

from worksheets.extract import count_words, extract_answers, is_filled

FIELDS = [
    {"key": "question", "kind": "short_text"},
    {"key": "found", "kind": "long_text"},
    {"key": "notices", "kind": "list"},
    {"key": "agree", "kind": "choice"},
    {"key": "often", "kind": "scale"},
    {"key": "habits", "kind": "checklist"},
]


def test_it_reads_every_field_kind() -> None:
    doc = pycrdt.Doc()
    question = doc.get("question", type=pycrdt.Text)
    question.insert(0, "Why ", attrs={"a": "12"})
    question.insert(4, "here?", attrs={"a": "13"})
    doc.get("found", type=pycrdt.Text).insert(0, "שָׁם — there")
    doc.get("notices", type=pycrdt.Array).extend([pycrdt.Text("verse 1"), pycrdt.Text(" "), pycrdt.Text("verse 4")])
    doc.get("agree", type=pycrdt.Map)["value"] = "disagree"
    doc.get("often", type=pycrdt.Map)["value"] = "3"
    doc.get("habits", type=pycrdt.Map).update({"listen": True, "interrupt": False})
    assert extract_answers(doc.get_update(), FIELDS) == {
        "question": "Why here?",
        "found": "שָׁם — there",
        "notices": ["verse 1", "verse 4"],
        "agree": "disagree",
        "often": "3",
        "habits": {"listen": True, "interrupt": False},
    }


def test_it_gives_empty_values_for_an_empty_document() -> None:
    assert extract_answers(pycrdt.Doc(), FIELDS) == {
        "question": "",
        "found": "",
        "notices": [],
        "agree": "",
        "often": "",
        "habits": {},
    }


def test_it_treats_roots_of_the_wrong_type_as_empty() -> None:
    doc = pycrdt.Doc()
    doc.get("question", type=pycrdt.Map)["value"] = "not text"
    doc.get("notices", type=pycrdt.Text).insert(0, "not a list")
    doc.get("habits", type=pycrdt.Map)["listen"] = "yes please"  # not a boolean
    answers = extract_answers(doc.get_update(), FIELDS)
    assert answers["question"] == "" and answers["notices"] == [] and answers["habits"] == {}


def test_it_does_not_touch_the_document_it_reads() -> None:
    doc = pycrdt.Doc()
    doc.get("question", type=pycrdt.Text).insert(0, "x")
    before = doc.get_update()
    extract_answers(doc, FIELDS)
    assert doc.get_update() == before


@given(st.lists(st.text(max_size=30), max_size=8), st.text(max_size=200))
def test_it_reads_back_what_was_written(entries: list[str], text: str) -> None:
    doc = pycrdt.Doc()
    doc.get("found", type=pycrdt.Text).insert(0, text)
    doc.get("notices", type=pycrdt.Array).extend([pycrdt.Text(e) for e in entries])
    answers = extract_answers(doc.get_update(), FIELDS)
    assert answers["found"] == text
    assert answers["notices"] == [e for e in entries if e.strip()]


def test_it_counts_words_and_filled_fields() -> None:
    assert count_words("two words") == 2 and count_words(["a b", "c"]) == 3 and count_words({"x": True}) == 0
    assert is_filled("x") and not is_filled("  ") and is_filled({"a": True}) and not is_filled({"a": False})
