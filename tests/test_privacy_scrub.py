"""Taking one author out of a shared worksheet document (worksheets/scrub.py): pure, no database."""

from __future__ import annotations

import pycrdt
from hypothesis import given, settings
from hypothesis import strategies as st

from worksheets.scrub import authored_parts, mentions_author, scrub_author

FIELDS = [
    {"key": "meaning", "kind": "long_text"},
    {"key": "question", "kind": "short_text"},
    {"key": "notices", "kind": "list"},
    {"key": "agree", "kind": "choice"},
]
STUDENT, PARTNER = 42, 7


def _sync(a: pycrdt.Doc, b: pycrdt.Doc) -> None:
    a.apply_update(b.get_update(a.get_state()))
    b.apply_update(a.get_update(b.get_state()))


def _written() -> tuple[pycrdt.Doc, pycrdt.Doc]:
    """Two browsers of one havruta (each a Yjs client), in sync, with interleaved writing."""
    partner, student = pycrdt.Doc(), pycrdt.Doc()
    partner.get("meaning", type=pycrdt.Text).insert(0, "Cain brought fruit.", {"a": str(PARTNER)})
    _sync(partner, student)
    student.get("meaning", type=pycrdt.Text).insert(5, "שלום 😀 violet ", {"a": str(STUDENT)})
    student.get("question", type=pycrdt.Text).insert(0, "Why smoke?", {"a": str(STUDENT)})
    notices = student.get("notices", type=pycrdt.Array)
    notices.append(pycrdt.Text())
    notices[0].insert(0, "marble gate", {"a": str(STUDENT)})
    student.get("agree", type=pycrdt.Map)["value"] = "yes"
    _sync(partner, student)
    shared = partner.get("notices", type=pycrdt.Array)
    shared.append(pycrdt.Text())
    shared[1].insert(0, "the flock", {"a": str(PARTNER)})
    shared[0].insert(0, "near the ", {"a": str(PARTNER)})
    _sync(partner, student)
    return partner, student


def _read(update: bytes) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    doc.apply_update(update)
    return doc


def test_it_deletes_every_word_of_the_author_and_keeps_the_partners() -> None:
    partner, _student = _written()
    result = scrub_author(partner.get_update(), FIELDS, STUDENT, delete=True)
    doc = _read(result.update)
    assert str(doc.get("meaning", type=pycrdt.Text)) == "Cain brought fruit."
    assert str(doc.get("question", type=pycrdt.Text)) == ""
    assert [str(t) for t in doc.get("notices", type=pycrdt.Array)] == ["near the ", "the flock"]
    assert doc.get("agree", type=pycrdt.Map)["value"] == "yes"  # choices carry no author
    for gone in ("violet", "שלום", "Why smoke", "marble", f'"{STUDENT}"'):
        assert gone.encode() not in result.update
    assert not mentions_author(result.update, FIELDS, STUDENT)
    assert authored_parts(result.update, FIELDS, PARTNER) == {
        "meaning": ["Cain brought fruit."],
        "notices": ["near the", "the flock"],
    }
    assert result.removed_entries == []  # the partner added words to the student's entry: it stays


def test_it_removes_a_list_entry_the_author_wrote_alone() -> None:
    doc = pycrdt.Doc()
    entries = doc.get("notices", type=pycrdt.Array)
    for author, text in ((PARTNER, "the flock"), (STUDENT, "marble gate")):
        entries.append(pycrdt.Text())
        entries[len(entries) - 1].insert(0, text, {"a": str(author)})
    result = scrub_author(doc.get_update(), FIELDS, STUDENT, delete=True)
    assert [str(t) for t in _read(result.update).get("notices", type=pycrdt.Array)] == ["the flock"]
    assert result.removed_entries == ["marble gate"]
    assert f'"{STUDENT}"'.encode() not in result.update


def test_it_anonymises_without_changing_a_word() -> None:
    partner, _student = _written()
    before = {f["key"]: str(_read(partner.get_update()).get(f["key"], type=pycrdt.Text)) for f in FIELDS[:2]}
    result = scrub_author(partner.get_update(), FIELDS, STUDENT, delete=False)
    doc = _read(result.update)
    assert {f["key"]: str(doc.get(f["key"], type=pycrdt.Text)) for f in FIELDS[:2]} == before
    assert "violet" in str(doc.get("meaning", type=pycrdt.Text))
    assert authored_parts(result.update, FIELDS, STUDENT) == {}
    assert f'"{STUDENT}"'.encode() not in result.update
    assert authored_parts(result.update, FIELDS, PARTNER)["notices"] == ["near the", "the flock"]


def test_it_converges_with_every_old_copy_of_the_document() -> None:
    """A browser that still holds the old document (IndexedDB, offline) merges the change, and its
    old copy cannot bring the words back: the server already holds them as deleted."""
    partner, student = _written()
    result = scrub_author(partner.get_update(), FIELDS, STUDENT, delete=True)
    for old in (partner, student):
        old.apply_update(result.update)
        assert "violet" not in str(old.get("meaning", type=pycrdt.Text))
    server = _read(result.update)
    server.apply_update(student.get_update())  # the old copy syncs everything it has
    assert str(server.get("meaning", type=pycrdt.Text)) == "Cain brought fruit."


def test_it_finds_what_the_author_wrote_for_the_export() -> None:
    partner, _student = _written()
    assert authored_parts(partner.get_update(), FIELDS, STUDENT) == {
        "meaning": ["שלום 😀 violet"],
        "question": ["Why smoke?"],
        "notices": ["marble gate"],
    }


def test_it_ignores_roots_of_an_unexpected_type() -> None:
    doc = pycrdt.Doc()
    doc.get("meaning", type=pycrdt.Map)["x"] = "y"  # a misbehaving client wrote a map where text belongs
    result = scrub_author(doc.get_update(), FIELDS, STUDENT, delete=True)
    assert result.changed == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=40), st.text(min_size=1, max_size=6)), max_size=25
    )
)
def test_it_leaves_exactly_the_partners_characters(edits: list[tuple[bool, int, str]]) -> None:
    """Any interleaving of two writers: deleting one leaves the other's characters, in order."""
    partner, student = pycrdt.Doc(), pycrdt.Doc()
    expected_marks: list[tuple[str, bool]] = []  # (character, written by the student)
    for by_student, at, text in edits:
        doc = student if by_student else partner
        field = doc.get("meaning", type=pycrdt.Text)
        current = str(field)
        position = min(at, len(current))
        # pycrdt counts UTF-8 bytes; the model below counts characters.
        field.insert(len(current[:position].encode()), text, {"a": str(STUDENT if by_student else PARTNER)})
        expected_marks[position:position] = [(ch, by_student) for ch in text]
        _sync(partner, student)
    result = scrub_author(partner.get_update(), FIELDS, STUDENT, delete=True)
    remaining = str(_read(result.update).get("meaning", type=pycrdt.Text))
    assert remaining == "".join(ch for ch, mine in expected_marks if not mine)
    assert not mentions_author(result.update, FIELDS, STUDENT)
