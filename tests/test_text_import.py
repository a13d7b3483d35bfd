# Hebrew letters and punctuation (ס, ׃, ׳) are the subject of these tests, not look-alike typos.
# ruff: noqa: RUF003
"""Cleaning, splitting and pairing of study texts (protocols/text_import.py): no Django, no DB."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.text_import import (
    ParsedText,
    Segment,
    TextImportError,
    clean_markup,
    detect_script,
    parse_text_input,
    split_segments,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "texts"

# --- clean_markup ------------------------------------------------------------------------------


def test_it_removes_footnote_markers_and_their_text():
    raw = (
        'and said: ‘I have gotten<sup class="footnote-marker">a</sup>'
        '<i class="footnote">Heb. <i>kanah</i>, to get.</i> a man with the help of the LORD.’'
    )
    assert clean_markup(raw) == "and said: ‘I have gotten a man with the help of the LORD.’"


def test_it_removes_a_bare_sup_marker():
    assert clean_markup("did there confound<sup>1</sup> the language") == "did there confound the language"


def test_it_reads_small_caps_lord_as_capitals():
    assert clean_markup('the <span style="font-variant: small-caps">Lord</span> God') == "the LORD God"
    assert clean_markup('the <span class="small-caps">Lord</span> God') == "the LORD God"
    assert clean_markup("unto the <small>Lord</small>.") == "unto the LORD."


def test_it_keeps_a_longer_small_run_as_written():
    assert clean_markup("text <small>(see the note)</small> more") == "text (see the note) more"


def test_it_removes_sefaria_section_markers_and_keeps_sof_pasuq():
    raw = "וַיְכֻלּוּ הַשָּׁמַיִם וְהָאָרֶץ וְכָל־צְבָאָם׃ {פ}"
    assert clean_markup(raw) == "וַיְכֻלּוּ הַשָּׁמַיִם וְהָאָרֶץ וְכָל־צְבָאָם׃"
    assert clean_markup("אֶחָד׃ {ס}  וַיֹּאמֶר") == "אֶחָד׃ וַיֹּאמֶר"


def test_it_keeps_nikkud_cantillation_and_paseq():
    text = "וַיֹּ֣אמֶר יְהוָ֗ה ׀ לְמֹשֶׁ֖ה׃"
    assert clean_markup(text) == text


def test_it_unescapes_entities():
    assert clean_markup("Tom &amp; Jerry&nbsp;&mdash; &#x5D0;&#1489;") == "Tom & Jerry — אב"


def test_it_does_not_decode_an_entity_without_its_semicolon():
    assert clean_markup("you &not me") == "you &not me"


def test_it_drops_escaped_tags_rather_than_showing_them():
    assert clean_markup("a &lt;script&gt;alert(1)&lt;/script&gt; b") == "a alert(1) b"
    assert clean_markup("a &amp;lt;b&amp;gt; b") == "a b"


def test_it_turns_breaks_into_spaces_and_collapses_whitespace():
    assert clean_markup("  one<br>two<br/>three\n\n four\tfive  ") == "one two three four five"


def test_it_keeps_lines_when_asked():
    assert clean_markup("one<br>two\n\n  three  ", keep_lines=True) == "one\ntwo\n\nthree"


def test_it_keeps_prose_around_stray_angle_brackets_and_braces():
    assert clean_markup("if a < b and c > d") == "if a b and c d"
    assert clean_markup("a {gloss} here") == "a gloss here"


def test_it_keeps_the_text_after_an_unclosed_footnote_marker():
    assert clean_markup("and slew him.<sup>1 And the LORD said") == "and slew him.1 And the LORD said"


def test_it_unwraps_italics_and_bold():
    assert clean_markup("an <i>Am Ha'aretz</i> and <b>bold</b>") == "an Am Ha'aretz and bold"


# --- split_segments ----------------------------------------------------------------------------


def test_it_splits_on_inline_verse_numbers():
    text = "1 In the beginning God created. 2 Now the earth was unformed. 3 And God said: Let there be light."
    assert split_segments(text) == [
        ("1", "In the beginning God created."),
        ("2", "Now the earth was unformed."),
        ("3", "And God said: Let there be light."),
    ]


def test_it_splits_on_numbers_at_line_starts_in_any_common_style():
    assert split_segments("1. First\n2. Second") == [("1", "First"), ("2", "Second")]
    assert split_segments("(1) First (2) Second") == [("1", "First"), ("2", "Second")]
    assert split_segments("[20] First\n[21] Second") == [("20", "First"), ("21", "Second")]


def test_it_splits_on_chapter_and_verse_across_a_chapter_break():
    assert split_segments("4:25 a\n4:26 b\n5:1 c") == [("4:25", "a"), ("4:26", "b"), ("5:1", "c")]


def test_it_splits_on_hebrew_numerals():
    text = "א. וְהָאָדָם יָדַע\nב. וַתֹּסֶף לָלֶדֶת\nג. וַיְהִי מִקֵּץ"
    assert split_segments(text) == [("א", "וְהָאָדָם יָדַע"), ("ב", "וַתֹּסֶף לָלֶדֶת"), ("ג", "וַיְהִי מִקֵּץ")]


def test_it_splits_on_bracketed_hebrew_numerals_inline_past_ten():
    text = "(ט) עַל־כֵּן (י) אֵלֶּה (יא) וַיְחִי"
    assert split_segments(text) == [("ט", "עַל־כֵּן"), ("י", "אֵלֶּה"), ("יא", "וַיְחִי")]


def test_it_splits_hebrew_fifteen_and_sixteen_written_with_gershayim():
    assert split_segments("(יד) א (ט״ו) ב (ט״ז) ג") == [("יד", "א"), ("טו", "ב"), ("טז", "ג")]


def test_it_splits_on_lines_when_there_are_no_verse_numbers():
    text = "Rabbi Tarfon says: The day is short.\n\n  And the work is great.  \nThe master is pressing."
    assert split_segments(text) == [
        ("1", "Rabbi Tarfon says: The day is short."),
        ("2", "And the work is great."),
        ("3", "The master is pressing."),
    ]


def test_it_does_not_take_numbers_in_prose_for_verse_numbers():
    assert split_segments("He gave 1 sheep and 2 goats") == [("1", "He gave 1 sheep and 2 goats")]
    assert split_segments("40 days and 40 nights") == [("1", "40 days and 40 nights")]


def test_it_keeps_out_of_sequence_numbers_inside_the_verse():
    text = "1 Abram was 75 years old. 2 And he went."
    assert split_segments(text) == [("1", "Abram was 75 years old."), ("2", "And he went.")]


def test_it_does_not_take_hebrew_words_for_numerals():
    text = "הוא היה אומר. אם אין אני לי מי לי."
    assert split_segments(text) == [("1", text)]


# --- detect_script -----------------------------------------------------------------------------


def test_it_detects_hebrew_with_nikkud_and_cantillation():
    assert detect_script("וַיֹּ֣אמֶר יְהוָ֗ה אֶל־קַ֔יִן׃") == "he"


def test_it_detects_english():
    assert detect_script("And the LORD said unto Cain: ‘Where is Abel thy brother?’") == "en"


def test_it_ignores_digits_and_punctuation():
    assert detect_script("4:1 (1) — 12, 13.") == "empty"
    assert detect_script("") == "empty"
    assert detect_script("1. בְּרֵאשִׁית 2. וְהָאָרֶץ") == "he"


def test_it_detects_mixed_text_only_above_a_fifth():
    assert detect_script("Genesis בראשית ברא אלהים את השמים") == "mixed"
    # A Latin abbreviation in a Hebrew line stays Hebrew.
    assert detect_script("בראשית ברא אלהים את השמים ואת הארץ (JPS)") == "he"


# --- parse_text_input --------------------------------------------------------------------------


def test_it_pairs_lines_by_position():
    parsed = parse_text_input(hebrew="בְּרֵאשִׁית\nוְהָאָרֶץ", english="In the beginning\nNow the earth")
    assert parsed == ParsedText([Segment("1", "בְּרֵאשִׁית", "In the beginning"), Segment("2", "וְהָאָרֶץ", "Now the earth")])


def test_it_pairs_numbered_verses_by_number_even_with_hebrew_numerals():
    parsed = parse_text_input(hebrew="(א) בְּרֵאשִׁית (ב) וְהָאָרֶץ", english="1 In the beginning 2 Now the earth")
    assert [(s.label, s.he, s.en) for s in parsed.segments] == [
        ("1", "בְּרֵאשִׁית", "In the beginning"),
        ("2", "וְהָאָרֶץ", "Now the earth"),
    ]


def test_it_pairs_a_numbered_side_with_a_line_side_by_position():
    parsed = parse_text_input(hebrew="בְּרֵאשִׁית\nוְהָאָרֶץ", english="20. Verily\n21. I will go down")
    assert [(s.label, s.he, s.en) for s in parsed.segments] == [
        ("20", "בְּרֵאשִׁית", "Verily"),
        ("21", "וְהָאָרֶץ", "I will go down"),
    ]


def test_it_accepts_one_language_alone():
    parsed = parse_text_input(hebrew="", english="One line\nTwo lines")
    assert parsed.segments == [Segment("1", "", "One line"), Segment("2", "", "Two lines")]
    parsed = parse_text_input(hebrew="הוא היה אומר", english="   ")
    assert parsed.segments == [Segment("1", "הוא היה אומר", "")]


def test_it_cleans_markup_in_pasted_text():
    parsed = parse_text_input(
        hebrew="וַיֹּאמֶר{פ}<br>וַיֵּלֶךְ",
        english='And the <span style="font-variant: small-caps">Lord</span> said<br>And he went',
    )
    assert [(s.he, s.en) for s in parsed.segments] == [("וַיֹּאמֶר", "And the LORD said"), ("וַיֵּלֶךְ", "And he went")]


def test_it_rejects_two_empty_columns():
    for hebrew, english in [("", ""), ("  \n ", "\t"), ("<br>", "{פ}")]:
        with pytest.raises(TextImportError, match="Both columns are empty"):
            parse_text_input(hebrew=hebrew, english=english)


def test_it_rejects_a_text_over_the_size_limit():
    with pytest.raises(TextImportError) as excinfo:
        parse_text_input(hebrew="", english="word " * 40_001)
    assert "The text is too long: 201 KB; the limit is 200 KB" in excinfo.value.message


def test_it_counts_the_size_limit_in_utf8_bytes():
    hebrew = "שָׁלוֹם " * 3_000  # 3,000 x 15 bytes = 45 KB, though only 24,000 characters
    with pytest.raises(TextImportError, match=r"too long: 45 KB; the limit is 40 KB"):
        parse_text_input(hebrew=hebrew, english="", max_bytes=40_000)


def test_it_rejects_english_in_the_hebrew_column():
    with pytest.raises(TextImportError, match="The Hebrew column is mostly English"):
        parse_text_input(hebrew="In the beginning God created", english="")


def test_it_rejects_a_mixed_hebrew_column():
    with pytest.raises(TextImportError, match="The Hebrew column mixes Hebrew and English"):
        parse_text_input(hebrew="בראשית ברא אלהים In the beginning God", english="In the beginning")


def test_it_rejects_hebrew_in_the_english_column():
    with pytest.raises(TextImportError, match="The English column is mostly Hebrew"):
        parse_text_input(hebrew="בראשית", english="בְּרֵאשִׁית בָּרָא אֱלֹהִים")


def test_it_rejects_a_mixed_english_column():
    with pytest.raises(TextImportError, match="The English column mixes Hebrew and English"):
        parse_text_input(hebrew="בראשית", english="In the beginning בראשית ברא אלהים")


def test_it_rejects_different_segment_counts_and_says_both():
    with pytest.raises(TextImportError) as excinfo:
        parse_text_input(hebrew="א\nב\nג", english="one\ntwo")
    assert "The Hebrew has 3 segments but the English has 2 segments" in excinfo.value.message


def test_it_rejects_numbered_verses_that_do_not_match_and_names_them():
    with pytest.raises(TextImportError) as excinfo:
        parse_text_input(hebrew="(א) אחת (ב) שתים (ג) שלש", english="1 one 2 two")
    message = excinfo.value.message
    assert "The Hebrew has 3 segments and the English has 2 segments" in message
    assert "only in the Hebrew: ג" in message


def test_it_rejects_more_than_500_segments():
    english = "\n".join(f"line {n}" for n in range(501))
    with pytest.raises(TextImportError, match="The English has 501 segments; the limit is 500"):
        parse_text_input(hebrew="", english=english)


def test_it_accepts_exactly_500_segments():
    english = "\n".join(f"line {n}" for n in range(500))
    assert len(parse_text_input(hebrew="", english=english).segments) == 500


def test_it_gives_the_message_as_the_exception_text():
    with pytest.raises(TextImportError) as excinfo:
        parse_text_input(hebrew="", english="")
    assert str(excinfo.value) == excinfo.value.message


# --- properties --------------------------------------------------------------------------------

_markup_pieces = st.sampled_from(
    [
        "<i>", "</i>", "<b>", "</b>", "<br>", "<br/>", "<sup>", "</sup>", "<small>", "</small>",
        '<i class="footnote">', '<span style="font-variant: small-caps">', "</span>", "<p>", "</p>",
        "{פ}", "{ס}", "&amp;", "&lt;", "&gt;", "&nbsp;", "&#x5D0;", "&amp;lt;", "<", ">", "{", "}",
        "&", ";", " ", "\n", "\t", "Lord", "אֱלֹהִים", "׃", "־", "word", "1", "ß",
    ]
)  # fmt: skip
_markup_text = st.lists(st.one_of(_markup_pieces, st.text(max_size=5)), max_size=30).map("".join)


@given(_markup_text)
@settings(max_examples=400)
def test_it_cleans_idempotently(raw):
    once = clean_markup(raw)
    assert clean_markup(once) == once


@given(_markup_text)
@settings(max_examples=400)
def test_it_never_leaves_markup_characters(raw):
    for keep_lines in (False, True):
        cleaned = clean_markup(raw, keep_lines=keep_lines)
        assert not set("<>{}") & set(cleaned)
        assert not re.search(r"&(?:lt|gt|amp|nbsp);", cleaned)


@given(_markup_text)
def test_it_keeps_lines_idempotently(raw):
    once = clean_markup(raw, keep_lines=True)
    assert clean_markup(once, keep_lines=True) == once


_verse_words = st.sampled_from(
    ["And", "the", "LORD", "said", "אֱלֹהִים", "וַיֹּאמֶר", "׃", "75", "(7)", "3:16", "א.", "(ב)", "ט״ו", "—"]
)
_splittable = st.lists(
    st.one_of(
        _verse_words,
        st.integers(min_value=1, max_value=30).map(str),
        st.sampled_from([" ", "\n", "  ", "\n\n", ". ", ") "]),
        st.text(max_size=4),
    ),
    max_size=40,
).map("".join)


def _non_whitespace(s: str) -> str:
    return "".join(s.split())


def _bare_label(token: str) -> str:
    return "".join(ch for ch in token if ch not in "()[].׳״'\"")


@given(_splittable)
@settings(max_examples=500)
def test_it_never_loses_characters_when_splitting(text):
    segments = split_segments(text)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if segments == [(str(n), line) for n, line in enumerate(lines, start=1)]:
        return  # split on lines: every non-empty line is a body, whitespace aside
    # Split on verse numbers: walking through the text's non-whitespace characters, each
    # segment skips exactly its own label (with its brackets, full stop or gershayim) and
    # then continues with its body; nothing is left over.
    rest = _non_whitespace(text)
    for label, body in segments:
        body = _non_whitespace(body)
        skips = [
            k
            for k in range(1, min(len(rest), len(label) + 4) + 1)
            if _bare_label(rest[:k]) == label and rest[k:].startswith(body)
        ]
        assert skips, (label, body, rest)
        rest = rest[max(skips) + len(body) :]
    assert rest == ""


@given(_splittable)
def test_it_labels_every_segment(text):
    for label, _body in split_segments(text):
        assert label


# --- the shipped fixtures ----------------------------------------------------------------------

EXPECTED_SLUGS = {
    "genesis-4-1-16": 16,
    "genesis-11-1-9": 9,
    "genesis-18-20-33": 14,
    "exodus-3-1-12": 12,
    "genesis-12-1-9": 9,
    "genesis-22-1-19": 19,
    "exodus-18-13-27": 15,
    "ruth-1-1-18": 18,
    "avot-1-6": 1,
    "avot-1-14": 1,
    "avot-3-2": 1,
    "avot-4-1": 1,
}


@pytest.mark.parametrize(("slug", "count"), sorted(EXPECTED_SLUGS.items()))
def test_it_ships_clean_fixtures(slug, count):
    data = json.loads((FIXTURES / f"{slug}.json").read_text(encoding="utf-8"))
    assert data["slug"] == slug
    assert set(data) == {"slug", "title", "reference", "reference_he", "hebrew", "english", "segments"}
    assert len(data["segments"]) == count
    for side in ("hebrew", "english"):
        if data[side] is not None:
            assert set(data[side]) == {"version_title", "license", "source"}
            assert data[side]["license"] in ("Public Domain", "CC0")
    for segment in data["segments"]:
        assert set(segment) == {"label", "he", "en"}
        for text in (segment["he"], segment["en"]):
            assert not set("<>{}") & set(text)
            assert clean_markup(text) == text
        assert detect_script(segment["he"]) == "he"
        assert detect_script(segment["en"]) in ("en", "empty")
        if data["english"] is not None:
            assert segment["en"]


def test_it_lists_every_shipped_fixture():
    assert {path.stem for path in FIXTURES.glob("*.json")} == set(EXPECTED_SLUGS)


def test_it_does_not_ship_jps_1985():
    for path in FIXTURES.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        titles = [data[side]["version_title"] for side in ("hebrew", "english") if data[side]]
        assert not any("1985" in t or "Tanakh The Holy Scriptures, published by JPS" in t for t in titles), path


def test_it_drops_the_jps_footnote_letters_that_ran_into_words():
    genesis_4 = json.loads((FIXTURES / "genesis-4-1-16.json").read_text(encoding="utf-8"))
    genesis_11 = json.loads((FIXTURES / "genesis-11-1-9.json").read_text(encoding="utf-8"))
    assert "I have gotten a man" in genesis_4["segments"][0]["en"]
    assert "did there confound the language" in genesis_11["segments"][8]["en"]


def test_it_drops_the_other_footnote_letters_and_fixes_run_together_words():
    genesis_22 = json.loads((FIXTURES / "genesis-22-1-19.json").read_text(encoding="utf-8"))
    exodus_18 = json.loads((FIXTURES / "exodus-18-13-27.json").read_text(encoding="utf-8"))
    ruth_1 = json.loads((FIXTURES / "ruth-1-1-18.json").read_text(encoding="utf-8"))
    assert "God will provide Himself the lamb" in genesis_22["segments"][7]["en"]
    assert "went together to Beer-sheba;" in genesis_22["segments"][18]["en"]
    assert "Moses’ father-in-law saw" in exodus_18["segments"][1]["en"]
    assert "The LORD grant you" in ruth_1["segments"][8]["en"]
    assert "the LORD do so to me, and more also" in ruth_1["segments"][16]["en"]


def test_it_ships_its_own_translation_of_avot_1_6():
    avot = json.loads((FIXTURES / "avot-1-6.json").read_text(encoding="utf-8"))
    assert avot["english"] == {"version_title": "Havruta Classroom translation", "license": "CC0", "source": ""}
    assert avot["segments"][0]["en"].startswith("Yehoshua ben Perachyah and Nittai of Arbel received from them.")


NIKKUD = re.compile("[\u05b0-\u05bc\u05c1\u05c2\u05c7]")
SHIPPABLE = ("Public Domain", "CC0", "CC-BY")


def test_it_ships_at_least_eight_pointed_passages_beside_their_english():
    pointed = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["hebrew"]["license"].startswith(SHIPPABLE) and data["english"]["license"].startswith(SHIPPABLE)
        if all(NIKKUD.search(s["he"]) and s["en"].strip() for s in data["segments"]):
            pointed.append(data["slug"])
    assert len(pointed) >= 8, pointed


def test_it_lists_every_shipped_text_with_its_versions_in_the_attribution_file():
    attribution = (FIXTURES / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        row = next((line for line in attribution.splitlines() if line.startswith(f"| `{path.name}` |")), None)
        assert row, f"{path.name} is not in ATTRIBUTION.md"
        assert data["reference"] in row
        for side in ("hebrew", "english"):
            assert data[side]["version_title"] in row and data[side]["license"] in row, (path.name, side)
        if data["english"]["source"] == "":  # our own translation: the file says so and dedicates it
            assert "our own" in row and "CC0 1.0" in attribution


def test_it_credits_the_pedagogy_of_partnership_in_the_readme():
    readme = (FIXTURES.parent.parent / "README.md").read_text(encoding="utf-8")
    credit = readme.split("**Credit.**", 1)[1].split("\n\n", 1)[0]
    assert "Pedagogy of Partnership" in credit and "Dr. Orit Kent and Allison Cook" in credit
    assert "ATTRIBUTION.md" in credit
