# Hebrew letters are the subject of some tests, not look-alike typos.
"""/texts/, /texts/<slug>/ and "My texts": library texts are public, a teacher's own are private."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from protocols.models import Text, TextSegment
from protocols.services import text_create_from_paste, text_share
from tests.conftest import PERSONAS, World, client_for
from tests.factories import make_teacher
from tests.protocols_fixtures import TEXT_SLUGS, library  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _own_text(world: World) -> Text:
    return text_create_from_paste(
        owner=world.teacher, title="Rivka's passage", hebrew="", english="A private line.\nAnother private line."
    )


@pytest.mark.usefixtures("library")
def test_it_lists_the_library_texts_with_their_references(client: Client) -> None:
    html = client.get("/texts/").content.decode()
    for slug in TEXT_SLUGS:
        assert f'href="/texts/{slug}/"' in html
    assert "Genesis 4:1-16" in html
    assert '<span lang="he" dir="rtl">בראשית ד:א-טז</span>' in html
    assert "16 lines" in html


@pytest.mark.usefixtures("library")
def test_it_shows_a_library_text_with_rtl_hebrew_and_its_sources(client: Client) -> None:
    html = client.get("/texts/genesis-4-1-16/").content.decode()
    hebrew = re.findall(r'<p class="segment-he" lang="he" dir="rtl">', html)
    english = re.findall(r'<p class="segment-en" lang="en" dir="ltr">', html)
    assert len(hebrew) == len(english) == 16
    assert "segments-both" in html
    assert "Tanach with Nikkud" in html
    assert "The Holy Scriptures: A New Translation (JPS 1917)" in html
    assert "Public Domain" in html
    assert 'href="http://www.tanach.us/Tanach.xml"' in html


def test_it_shows_a_hebrew_only_text_in_one_column(world: World) -> None:
    text = text_create_from_paste(owner=world.teacher, title="Avot", hebrew="עֲשֵׂה לְךָ רַב\nוּקְנֵה לְךָ חָבֵר", english="")
    html = client_for(world, "teacher").get(f"/texts/{text.slug}/").content.decode()
    assert "segments-he" in html
    assert html.count('lang="he" dir="rtl"') == 2
    assert 'class="segment-en' not in html


def test_it_answers_404_for_an_unknown_text(client: Client) -> None:
    assert client.get("/texts/no-such-text/").status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_keeps_a_teachers_own_text_private(world: World, persona: str) -> None:
    text = _own_text(world)
    response = client_for(world, persona).get(f"/texts/{text.slug}/")
    if persona == "teacher":
        assert response.status_code == 200
        assert "Your own text: private" in response.content.decode()
        assert "Another private line." in response.content.decode()
    else:
        assert response.status_code == 404


def test_it_shares_a_text_with_a_co_teacher_only(world: World) -> None:
    text = _own_text(world)
    owner = client_for(world, "teacher")
    page = owner.get(f"/texts/{text.slug}/").content.decode()
    assert "Only you can see this text." in page
    assert f'<option value="{world.co_teacher.pk}">Co Teacher</option>' in page
    assert f'value="{world.other_teacher.pk}"' not in page

    response = owner.post(f"/texts/{text.slug}/share/", {"teacher": world.co_teacher.pk})
    assert response.status_code == 302
    co_teacher = client_for(world, "co_teacher")
    shared = co_teacher.get(f"/texts/{text.slug}/").content.decode()
    assert "Shared with you by Rivka Teacher" in shared
    assert "Another private line." in shared
    assert "Rivka&#x27;s passage" in co_teacher.get("/texts/mine/").content.decode()
    assert client_for(world, "other_teacher").get(f"/texts/{text.slug}/").status_code == 404

    # Someone who does not teach with the owner cannot be chosen, even by a crafted POST.
    owner.post(f"/texts/{text.slug}/share/", {"teacher": world.other_teacher.pk})
    assert client_for(world, "other_teacher").get(f"/texts/{text.slug}/").status_code == 404
    with pytest.raises(ValidationError):
        text_share(text=text, with_user=world.other_teacher)

    owner.post(f"/texts/{text.slug}/unshare/", {"teacher": world.co_teacher.pk})
    assert client_for(world, "co_teacher").get(f"/texts/{text.slug}/").status_code == 404


def test_it_lets_only_the_owner_share(world: World) -> None:
    text = _own_text(world)
    text_share(text=text, with_user=world.co_teacher)
    stranger = make_teacher(name="Stranger")
    co_teacher = client_for(world, "co_teacher")
    assert co_teacher.post(f"/texts/{text.slug}/share/", {"teacher": stranger.pk}).status_code == 404
    assert co_teacher.post(f"/texts/{text.slug}/unshare/", {"teacher": world.co_teacher.pk}).status_code == 404
    assert client_for(world, "student").post(f"/texts/{text.slug}/share/", {"teacher": 1}).status_code == 404
    assert client_for(world, "teacher").get(f"/texts/{text.slug}/share/").status_code == 405


def test_it_lists_my_texts_and_those_shared_with_me(world: World) -> None:
    mine = _own_text(world)
    theirs = text_create_from_paste(owner=world.co_teacher, title="From my colleague", hebrew="", english="Shared.")
    text_share(text=theirs, with_user=world.teacher)
    secret = text_create_from_paste(owner=world.other_teacher, title="Not for you", hebrew="", english="No.")
    html = client_for(world, "teacher").get("/texts/mine/").content.decode()
    assert f'href="/texts/{mine.slug}/"' in html
    assert f'href="/texts/{theirs.slug}/"' in html
    assert "From Co Teacher" in html
    assert secret.slug not in html


def test_it_shows_my_texts_empty_state_and_keeps_students_out(world: World) -> None:
    html = client_for(world, "teacher").get("/texts/mine/").content.decode()
    assert "You have not added a text yet" in html
    assert 'href="/texts/new/"' in html
    assert client_for(world, "student").get("/texts/mine/").status_code == 404
    assert client_for(world, "anonymous").get("/texts/mine/").status_code == 302


# --- queries -----------------------------------------------------------------------------------


def _more_library_texts(count: int) -> None:
    for n in range(count):
        text = Text.objects.create(slug=f"extra-{n}", title=f"Extra {n}", reference=f"Extra {n}:1-3")
        TextSegment.objects.bulk_create(
            TextSegment(text=text, position=i, label=str(i), he="שָׁלוֹם", en="Peace") for i in range(1, 4)
        )


@pytest.mark.usefixtures("library")
def test_it_answers_the_texts_list_in_a_fixed_number_of_queries(
    client: Client,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with django_assert_num_queries(1):
        assert client.get("/texts/").status_code == 200
    _more_library_texts(15)
    with django_assert_num_queries(1):
        html = client.get("/texts/").content.decode()
    assert html.count('class="card text-card"') == len(TEXT_SLUGS) + 15


@pytest.mark.usefixtures("library")
def test_it_answers_my_texts_and_a_text_in_a_fixed_number_of_queries(
    world: World,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for(world, "teacher")
    mine = _own_text(world)
    # session, user, my texts (own and shared, with counts and owners)
    with django_assert_num_queries(3):
        client.get("/texts/mine/")
    # session, user, the text, its segments, who it is shared with, whom it could be shared with
    with django_assert_num_queries(6):
        client.get(f"/texts/{mine.slug}/")
    for n in range(6):
        theirs = text_create_from_paste(owner=world.co_teacher, title=f"Shared {n}", hebrew="", english="A.\nB.")
        text_share(text=theirs, with_user=world.teacher)
        _own_text(world)
    text_share(text=mine, with_user=world.co_teacher)
    with django_assert_num_queries(3):
        assert client.get("/texts/mine/").content.decode().count('class="card text-card"') == 13
    with django_assert_num_queries(6):
        client.get(f"/texts/{mine.slug}/")
