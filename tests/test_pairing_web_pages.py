"""The pairing pages as a teacher uses them: new pairing, the havruta board, history."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from classrooms.models import Classroom, Havruta, PairingConstraint, PairingSession
from classrooms.services_pairing import constraint_add, havruta_set_locked, pairing_session_create
from tests.factories import make_session
from tests.pairing_fixtures import (
    assert_valid_sizes,
    fast_password_hashing,  # noqa: F401  (autouse)
    layout,
    make_class,
    rows,
)

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _cards(html: str) -> list[str]:
    """The havruta cards of the board, each as its HTML."""
    return re.findall(r'<li class="havruta-card card[^"]*" data-havruta="\d+".*?</ul>\s*</li>', html, re.S)


# ---------------------------------------------------------------------------
# New pairing
# ---------------------------------------------------------------------------


def test_it_offers_everyone_as_present_and_rotate_as_the_explained_default() -> None:
    classroom, teacher, students = make_class(5)
    html = _html(_client(teacher).get(reverse("classrooms:pairing_new", args=[classroom.pk])))
    for student in students:
        assert re.search(
            rf'<input type="checkbox" name="present" value="{student.pk}" id="present-{student.pk}" checked>', html
        )
        assert f'<label for="present-{student.pk}" dir="auto">{student.name}</label>' in html
    assert re.search(r'<input type="radio" name="method" value="rotate"[^>]*checked', html)
    assert "fewest repeat partners" in html


def test_it_pairs_the_students_present_into_two_pairs_and_a_triad() -> None:
    classroom, teacher, students = make_class(8)
    present = students[:7]
    response = _client(teacher).post(
        reverse("classrooms:pairing_new", args=[classroom.pk]),
        {"present": [s.pk for s in present], "method": "rotate", "date": "2026-03-01"},
        follow=True,
    )
    html = _html(response)
    session = PairingSession.objects.get(classroom=classroom)
    assert response.redirect_chain[-1][0] == reverse("classrooms:pairing_detail", args=[session.pk])
    assert_valid_sizes(layout(session), 7)
    cards = _cards(html)
    assert len(cards) == 3
    assert sum('class="badge badge-triad"' in card for card in cards) == 1
    assert sorted(card.count('class="member"') for card in cards) == [2, 2, 3]
    # The absent student is listed as not here, with a way to add them.
    not_here = html.split('id="not-here-title"')[1].split("</section>")[0]
    assert students[7].name in not_here and "Mark present" in not_here


def test_it_explains_why_it_cannot_pair_fewer_than_two() -> None:
    classroom, teacher, students = make_class(3)
    html = _html(
        _client(teacher).post(
            reverse("classrooms:pairing_new", args=[classroom.pk]),
            {"present": [students[0].pk], "method": "rotate", "date": "2026-03-01"},
        )
    )
    assert "Choose at least two students who are here today." in html
    assert not PairingSession.objects.exists()


def test_it_tells_a_teacher_with_an_empty_roster_what_to_do() -> None:
    classroom, teacher, _students = make_class(0)
    html = _html(_client(teacher).get(reverse("classrooms:pairing_new", args=[classroom.pk])))
    assert "Add your students to the roster first" in html


def test_it_reuses_an_earlier_pairing_from_its_page() -> None:
    classroom, teacher, s = make_class(6)
    earlier = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5]]])
    client = _client(teacher)
    detail = _html(client.get(reverse("classrooms:pairing_detail", args=[earlier.pk])))
    link = reverse("classrooms:pairing_new", args=[classroom.pk]) + f"?reuse={earlier.pk}"
    assert f'href="{link}"' in detail
    form = _html(client.get(link))
    assert re.search(r'<input type="radio" name="method" value="reuse"[^>]*checked', form)
    assert re.search(rf'<option value="{earlier.pk}" selected>', form)
    client.post(
        reverse("classrooms:pairing_new", args=[classroom.pk]),
        {"present": [x.pk for x in s[1:]], "method": "reuse", "from_session": earlier.pk, "date": "2026-03-08"},
    )
    today = PairingSession.objects.exclude(pk=earlier.pk).get()
    assert today.method == "reuse"
    assert_valid_sizes(layout(today), 5)
    assert (s[2].pk, s[3].pk) in layout(today) or (s[4].pk, s[5].pk) in layout(today)


# ---------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------


def _seven(method: str = "manual") -> tuple[Classroom, User, list[User], PairingSession]:
    classroom, teacher, s = make_class(7)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5], s[6]]], method=method)
    return classroom, teacher, s, session


def test_it_shows_names_seats_and_a_move_form_for_each_student_without_javascript() -> None:
    _classroom, teacher, s, session = _seven()
    html = _html(_client(teacher).get(reverse("classrooms:pairing_detail", args=[session.pk])))
    for student in s:
        assert f'<span class="member-name" dir="auto">{student.name}</span>' in html
        assert f'<label class="visually-hidden" for="move-{student.pk}">Move {student.name} to</label>' in html
    assert html.count('<form method="post" action="' + reverse("classrooms:pairing_move", args=[session.pk])) == 7
    assert "Partner C" in html
    assert '<script src="/static/js/pairing.js" defer></script>' in html
    assert "<script>" not in html


def test_it_marks_a_student_absent_and_says_who_moved() -> None:
    _classroom, teacher, s, session = _seven()
    before = rows(session)
    response = _client(teacher).post(
        reverse("classrooms:pairing_absent", args=[session.pk]), {"student": s[0].pk}, follow=True
    )
    html = _html(response)
    assert f"{s[0].name} is marked absent." in html
    assert re.search(rf"{s[4].name}|{s[5].name}|{s[6].name} moved from havruta 3 to havruta 1\.", html)
    after = rows(session)
    assert (
        after[Havruta.objects.get(session=session, number=2).pk]
        == before[Havruta.objects.get(session=session, number=2).pk]
    )
    assert_valid_sizes(layout(session), 6)


def test_it_moves_a_student_with_the_plain_form_and_explains_a_refused_move() -> None:
    _classroom, teacher, s, session = _seven()
    client = _client(teacher)
    first, triad = Havruta.objects.get(session=session, number=1), Havruta.objects.get(session=session, number=3)
    html = _html(
        client.post(
            reverse("classrooms:pairing_move", args=[session.pk]), {"student": s[6].pk, "to": first.pk}, follow=True
        )
    )
    assert f"{s[6].name} moved from havruta 3 to havruta 1." in html
    html = _html(
        client.post(
            reverse("classrooms:pairing_move", args=[session.pk]), {"student": s[2].pk, "to": first.pk}, follow=True
        )
    )
    assert "Havruta 1 already has three students." in html
    html = _html(
        client.post(
            reverse("classrooms:pairing_move", args=[session.pk]), {"student": s[0].pk, "to": "new"}, follow=True
        )
    )
    assert "1 student is alone in a havruta: give them a partner." in html
    assert 'class="badge badge-alone"' in html
    assert triad.pk in {h.pk for h in Havruta.objects.filter(session=session)}


def test_it_swaps_two_students() -> None:
    _classroom, teacher, s, session = _seven()
    _client(teacher).post(
        reverse("classrooms:pairing_move", args=[session.pk]), {"student": s[0].pk, "to": f"swap:{s[2].pk}"}
    )
    assert (s[1].pk, s[2].pk) in layout(session) and (s[0].pk, s[3].pk) in layout(session)


def test_it_locks_a_havruta_and_keeps_it_through_reshuffles() -> None:
    _classroom, teacher, _students, session = _seven(method="rotate")
    client = _client(teacher)
    second = Havruta.objects.get(session=session, number=2)
    html = _html(
        client.post(reverse("classrooms:havruta_lock", args=[session.pk, second.pk]), {"locked": "1"}, follow=True)
    )
    assert "Havruta 2 is locked." in html
    assert 'aria-pressed="true"' in html
    before = rows(session)[second.pk]
    for _ in range(4):
        html = _html(client.post(reverse("classrooms:pairing_reshuffle", args=[session.pk]), follow=True))
        assert "locked ones stayed as they were" in html
        assert rows(session)[second.pk] == before
        assert_valid_sizes(layout(session), 7)
    client.post(reverse("classrooms:havruta_lock", args=[session.pk, second.pk]), {"locked": "0"})
    second.refresh_from_db()
    assert not second.locked


def test_it_warns_about_a_broken_rule_and_manages_rules() -> None:
    classroom, teacher, s, session = _seven()
    client = _client(teacher)
    html = _html(
        client.post(
            reverse("classrooms:constraint_new", args=[session.pk]),
            {"student_a": s[0].pk, "student_b": s[1].pk, "kind": "apart"},
            follow=True,
        )
    )
    assert "The rule is saved." in html
    assert f"Keep apart: <bdi>{s[0].name}</bdi> and <bdi>{s[1].name}</bdi> are in the same havruta." in html
    rule = PairingConstraint.objects.get(classroom=classroom)
    html = _html(client.post(reverse("classrooms:constraint_delete", args=[session.pk, rule.pk]), follow=True))
    assert "The rule is removed." in html and "Keep apart: <bdi>" not in html
    # A rule the new pairing can honour is honoured.
    constraint_add(classroom=classroom, student_a=s[0], student_b=s[1], kind="together")
    new = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=s, seed=4)
    assert any({s[0].pk, s[1].pk} <= set(g) for g in layout(new))
    html = _html(client.get(reverse("classrooms:pairing_detail", args=[new.pk])))
    assert "Keep together: <bdi>" not in html


def test_it_marks_a_late_student_present() -> None:
    classroom, teacher, s = make_class(5)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=s[:4], seed=1)
    html = _html(
        _client(teacher).post(
            reverse("classrooms:pairing_present", args=[session.pk]), {"student": s[4].pk}, follow=True
        )
    )
    assert f"{s[4].name} is here." in html
    assert f"{s[4].name} joined havruta" in html
    assert_valid_sizes(layout(session), 5)


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------


def test_it_shows_who_learned_with_whom_and_highlights_repeats() -> None:
    classroom, teacher, s = make_class(4)
    make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    make_session(classroom=classroom, groups=[[s[0], s[2]], [s[1], s[3]]])
    html = _html(_client(teacher).get(reverse("classrooms:pairing_history", args=[classroom.pk])))
    assert "Counted over 3 pairing sessions." in html
    assert "2 pairs of students have learned together more than once" in html
    for student in s:
        assert f'<th scope="col" class="history-col"><span dir="auto">{student.name}</span></th>' in html
        assert f'<th scope="row" dir="auto">{student.name}</th>' in html
    row = html.split(f'<th scope="row" dir="auto">{s[0].name}</th>')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    # Columns: S01 (self), S02 (twice), S03 (once), S04 (never), then "different partners".
    assert "same student" in cells[0]
    assert cells[1:] == ["<strong>2</strong>", "1", "0", "2"]
    assert row.count('class="is-repeat"') == 1


def test_it_shows_an_empty_history_with_a_next_step() -> None:
    classroom, teacher, _s = make_class(3)
    html = _html(_client(teacher).get(reverse("classrooms:pairing_history", args=[classroom.pk])))
    assert "No pairings yet." in html
    assert reverse("classrooms:pairing_new", args=[classroom.pk]) in html


# ---------------------------------------------------------------------------
# Queries do not grow with the class
# ---------------------------------------------------------------------------


def _big_class(n: int) -> tuple[User, Classroom, PairingSession]:
    classroom, teacher, students = make_class(n, labels=["Aleph", "Bet"])
    for seed in range(3):
        pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=seed)
    session = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students[1:], seed=9)
    for a, b in zip(students[:6:2], students[1:6:2], strict=True):
        constraint_add(classroom=classroom, student_a=a, student_b=b, kind="apart")
    havruta_set_locked(havruta=Havruta.objects.filter(session=session).first(), locked=True)  # type: ignore[arg-type]
    return teacher, classroom, session


# Per request: the session and the user (2), the access helper (1), then the page's own reads.
DETAIL_QUERIES = 2 + 1 + 5  # havrutot, members with students, roster, rules, assignments
HISTORY_QUERIES = 2 + 1 + 2  # roster, one flat list of (session, havruta, student)
LIST_QUERIES = 2 + 1 + 1
NEW_QUERIES = 2 + 1 + 2  # the roster, the earlier sessions (to reuse one)


@pytest.mark.parametrize("n", [30, 300])
def test_it_answers_the_board_and_the_history_in_a_fixed_number_of_queries(n: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    teacher, classroom, session = _big_class(n)
    client = _client(teacher)
    with django_assert_num_queries(DETAIL_QUERIES):
        html = _html(client.get(reverse("classrooms:pairing_detail", args=[session.pk])))
    assert html.count('class="member"') == n - 1
    with django_assert_num_queries(HISTORY_QUERIES):
        html = _html(client.get(reverse("classrooms:pairing_history", args=[classroom.pk])))
    assert html.count('<th scope="row" dir="auto">') == n
    with django_assert_num_queries(LIST_QUERIES):
        html = _html(client.get(reverse("classrooms:pairing_list", args=[classroom.pk])))
    for earlier in PairingSession.objects.filter(classroom=classroom):
        assert reverse("classrooms:pairing_detail", args=[earlier.pk]) in html
    assert f"<td>{n - 1}</td>" in html  # the students of the latest session
    with django_assert_num_queries(NEW_QUERIES):
        html = _html(client.get(reverse("classrooms:pairing_new", args=[classroom.pk])))
    assert html.count('name="present"') == n  # everyone on the roster, to mark who is here
