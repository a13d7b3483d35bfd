"""A teacher pastes a text: text_create_from_paste and the /texts/new/ page."""

from __future__ import annotations

import pytest

from protocols.models import Text
from protocols.services import text_create_from_paste
from protocols.text_import import TextImportError
from tests.conftest import World, client_for

pytestmark = pytest.mark.django_db

NEW = "/texts/new/"
HEBREW = "(א) בְּרֵאשִׁית <b>בָּרָא</b> אֱלֹהִים{פ}\n(ב) וְהָאָרֶץ הָיְתָה תֹהוּ"
ENGLISH = (
    '1 In the beginning<sup class="footnote-marker">a</sup><i class="footnote">Or, when</i> God created\n'
    "2 Now the earth was unformed"
)
TWO_MB = "and the word was good " * 95_000  # about 2 MB


def test_it_splits_and_cleans_a_pasted_text(world: World) -> None:
    text = text_create_from_paste(owner=world.teacher, title="Creation", hebrew=HEBREW, english=ENGLISH)
    segments = list(text.segments.order_by("position"))
    assert [(s.position, s.label) for s in segments] == [(1, "1"), (2, "2")]
    assert segments[0].he == "בְּרֵאשִׁית בָּרָא אֱלֹהִים"
    assert segments[0].en == "In the beginning God created"
    assert segments[1].en == "Now the earth was unformed"
    assert text.owner == world.teacher
    assert text.slug.startswith("creation-")


def test_it_splits_unnumbered_text_on_line_breaks(world: World) -> None:
    text = text_create_from_paste(
        owner=world.teacher, title="Lines", hebrew="", english="First line.\n\nSecond line.\nThird line."
    )
    assert list(text.segments.values_list("label", "en")) == [
        ("1", "First line."),
        ("2", "Second line."),
        ("3", "Third line."),
    ]


def test_it_makes_a_slug_for_a_hebrew_title(world: World) -> None:
    text = text_create_from_paste(owner=world.teacher, title="בראשית", hebrew="בְּרֵאשִׁית בָּרָא", english="")
    assert text.slug.startswith("text-")
    assert text.title == "בראשית"


@pytest.mark.parametrize(
    ("hebrew", "english", "message"),
    [
        ("", "", "Both columns are empty"),
        ("  \n ", "<p></p>", "Both columns are empty"),
        ("", TWO_MB, "too long"),
        ("שָׁלוֹם עֲלֵיכֶם and peace be upon you all", "", "mixes Hebrew and English"),
        ("", "In the beginning God created", None),
        ("In the beginning God created", "", "wrong column"),
    ],
    ids=["empty", "only markup", "2 MB", "mixed scripts", "english only is fine", "english in the hebrew column"],
)
def test_it_refuses_bad_input_with_a_clear_error(world: World, hebrew: str, english: str, message: str | None) -> None:
    if message is None:
        assert text_create_from_paste(owner=world.teacher, title="Fine", hebrew=hebrew, english=english)
        return
    with pytest.raises(TextImportError, match=message):
        text_create_from_paste(owner=world.teacher, title="Bad", hebrew=hebrew, english=english)
    assert not Text.objects.filter(title="Bad").exists()


def test_it_lets_only_teachers_add_texts(world: World) -> None:
    with pytest.raises(PermissionError):
        text_create_from_paste(owner=world.student, title="Mine", hebrew="", english="A line.")


# --- the /texts/new/ page --------------------------------------------------------------------


def test_it_shows_the_paste_form_to_a_teacher_only(world: World) -> None:
    response = client_for(world, "teacher").get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<textarea name="hebrew"' in html and 'lang="he"' in html and 'dir="rtl"' in html
    assert '<label for="id_english">' in html
    assert 'enctype="multipart/form-data"' in html
    assert "<script>" not in html  # no inline script (CSP)
    assert '<script src="/static/js/library.js" defer></script>' in html
    assert 'data-max-bytes="200000"' in html
    assert client_for(world, "student").get(NEW).status_code == 404
    anonymous = client_for(world, "anonymous").get(NEW)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_it_adds_a_text_and_shows_it_to_its_owner(world: World) -> None:
    client = client_for(world, "teacher")
    response = client.post(
        NEW, {"title": "Creation", "reference": "Genesis 1:1-2", "hebrew": HEBREW, "english": ENGLISH}
    )
    text = Text.objects.get(title="Creation")
    assert response.status_code == 302
    assert response["Location"] == f"/texts/{text.slug}/"
    page = client.get(response["Location"]).content.decode()
    assert "was added with 2 numbered segments" in page
    assert '<p class="segment-he" lang="he" dir="rtl">בְּרֵאשִׁית בָּרָא אֱלֹהִים</p>' in page
    assert "footnote" not in page and "Or, when" not in page
    assert text.reference == "Genesis 1:1-2"


@pytest.mark.parametrize(
    ("hebrew", "english", "message"),
    [
        ("", "", "Both columns are empty"),
        ("", TWO_MB, "The text is too long"),
        ("שָׁלוֹם עֲלֵיכֶם and peace be upon you all", "Peace be upon you", "The Hebrew column mixes Hebrew and English"),
    ],
    ids=["empty", "2 MB", "mixed scripts"],
)
def test_it_shows_the_error_on_the_form_and_keeps_what_was_pasted(
    world: World, hebrew: str, english: str, message: str
) -> None:
    client = client_for(world, "teacher")
    response = client.post(NEW, {"title": "My passage", "reference": "", "hebrew": hebrew, "english": english})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert 'value="My passage"' in html
    if hebrew:
        assert f"{hebrew}</textarea>" in html
    if english:
        assert english[-200:] + "</textarea>" in html
    assert not Text.objects.filter(owner=world.teacher).exists()


def test_it_asks_for_a_title_and_keeps_the_text(world: World) -> None:
    html = client_for(world, "teacher").post(NEW, {"title": "", "hebrew": "", "english": "Keep me."}).content.decode()
    assert "This field is required." in html
    assert "Keep me.</textarea>" in html
    assert not Text.objects.exists()
