"""The assignment pages: assign a protocol to a pairing, see the worksheets, close, reopen, delete."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from classrooms.models import Assignment, Havruta, PairingSession
from classrooms.services_pairing import assignment_create, havruta_move_student, pairing_session_create
from protocols.models import Protocol, ProtocolStep
from tests.factories import make_classroom, make_session
from tests.pairing_fixtures import (
    fast_password_hashing,  # noqa: F401  (autouse)
    make_class,
    make_protocol,
    make_text,
    make_warm_ups,
)
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _paired(n: int = 7, *, grade_band: str = "middle-school") -> tuple[User, PairingSession, list[User]]:
    classroom, teacher, students = make_class(n)
    if classroom.grade_band != grade_band:
        classroom.grade_band = grade_band
        classroom.save(update_fields=["grade_band"])
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=3)
    return teacher, session, students


def test_it_offers_protocols_by_category_and_the_warm_up_for_the_classs_grade_band() -> None:
    teacher, session, _students = _paired()
    make_protocol()
    make_protocol(slug="joys-and-oys", title="Joys and Oys", category=Protocol.Category.ENGAGEMENT, uses_text=False)
    older, younger = make_warm_ups()
    html = _html(_client(teacher).get(reverse("classrooms:assignment_new", args=[session.pk])))
    assert re.search(r'<optgroup label="Text learning">\s*<option value="\d+">Listening to the Text</option>', html)
    assert re.search(r'<optgroup label="Engagement warm-up">\s*<option value="\d+">Joys and Oys</option>', html)
    assert f'<option value="{younger.pk}" selected>Upper elementary and middle school</option>' in html
    # A high-school class is offered the older variant.
    classroom = make_classroom(teacher=teacher, grade_band="high-school")
    other = make_session(classroom=classroom, groups=[])
    html = _html(_client(teacher).get(reverse("classrooms:assignment_new", args=[other.pk])))
    assert f'<option value="{older.pk}" selected>High school and adults</option>' in html


def test_it_assigns_a_protocol_with_a_warm_up_and_lists_every_havrutas_worksheet() -> None:
    teacher, session, students = _paired(7)
    protocol, text = make_protocol(), make_text()
    _older, younger = make_warm_ups()
    response = _client(teacher).post(
        reverse("classrooms:assignment_new", args=[session.pk]),
        {
            "protocol": protocol.pk,
            "text": text.pk,
            "warm_up_first": "on",
            "warm_up": younger.pk,
            "date": "2026-03-01",
        },
        follow=True,
    )
    html = _html(response)
    warm_up, main = Assignment.objects.filter(session=session).order_by("position")
    assert (warm_up.position, main.position) == (1, 2)
    assert warm_up.protocol_version.protocol == younger and main.protocol_version.protocol == protocol
    assert response.redirect_chain[-1][0] == reverse("classrooms:assignment_detail", args=[main.pk])
    assert "Assigned. Every havruta has its worksheet." in html
    assert "<h1>Listening to the Text</h1>" in html
    assert "Cain and Abel (Genesis 4:1-16)" in html
    for worksheet in Worksheet.objects.filter(assignment=main):
        assert f'href="/worksheets/{worksheet.pk}/"' in html
    for student in students:
        assert f'<span dir="auto">{student.name}</span>' in html
    assert html.count('<span class="badge badge-triad">Triad</span>') == 1
    assert reverse("classrooms:assignment_detail", args=[warm_up.pk]) in html


def test_it_assigns_without_a_warm_up_or_a_text() -> None:
    teacher, session, _students = _paired(4)
    protocol = make_protocol(slug="joys-and-oys", title="Joys and Oys", uses_text=False)
    make_warm_ups()
    _client(teacher).post(
        reverse("classrooms:assignment_new", args=[session.pk]),
        {"protocol": protocol.pk, "text": "", "warm_up": "", "date": "2026-03-01"},
    )
    (assignment,) = Assignment.objects.filter(session=session)
    assert assignment.text is None and assignment.position == 1
    assert Worksheet.objects.filter(assignment=assignment).count() == 2


def test_it_shows_the_protocol_as_it_was_when_assigned() -> None:
    teacher, session, _students = _paired(4)
    protocol = make_protocol()
    (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, date=session.date)
    protocol.title = "Listening, rewritten"
    protocol.save(update_fields=["title"])
    ProtocolStep.objects.filter(protocol=protocol).update(title="Something else entirely")
    html = _html(_client(teacher).get(reverse("classrooms:assignment_detail", args=[assignment.pk])))
    assert "<h1>Listening to the Text</h1>" in html
    assert "Read the text aloud" in html and "Notice details" in html
    assert "rewritten" not in html and "Something else entirely" not in html


def test_it_closes_reopens_and_deletes_after_asking() -> None:
    teacher, session, _students = _paired(4)
    (assignment,) = assignment_create(session=session, by=teacher, protocol=make_protocol(), date=session.date)
    client = _client(teacher)
    html = _html(client.post(reverse("classrooms:assignment_close", args=[assignment.pk]), follow=True))
    assert "The assignment is closed." in html and ">Reopen</button>" in html
    assignment.refresh_from_db()
    assert assignment.status == "closed"
    html = _html(client.post(reverse("classrooms:assignment_reopen", args=[assignment.pk]), follow=True))
    assert "The assignment is open again." in html and ">Close</button>" in html
    assignment.refresh_from_db()
    assert assignment.status == "open"

    html = _html(client.get(reverse("classrooms:assignment_delete", args=[assignment.pk])))
    assert "Delete this assignment?" in html
    assert "and its 2 worksheets will be deleted" in html
    assert Assignment.objects.filter(pk=assignment.pk).exists()  # asking deletes nothing
    response = client.post(reverse("classrooms:assignment_delete", args=[assignment.pk]), follow=True)
    html = _html(response)
    assert response.redirect_chain[-1][0] == reverse("classrooms:pairing_detail", args=[session.pk])
    assert "is deleted with its worksheets." in html
    assert not Assignment.objects.filter(pk=assignment.pk).exists()
    assert not Worksheet.objects.filter(assignment_id=assignment.pk).exists()


def test_it_explains_why_an_unfinished_pairing_cannot_be_assigned_yet() -> None:
    teacher, session, students = _paired(4)
    havruta_move_student(session=session, student=students[0], to_havruta=None)
    protocol = make_protocol()
    client = _client(teacher)
    html = _html(client.get(reverse("classrooms:assignment_new", args=[session.pk])))
    assert "Finish the pairing before assigning a protocol" in html
    html = _html(
        client.post(
            reverse("classrooms:assignment_new", args=[session.pk]), {"protocol": protocol.pk, "date": "2026-03-01"}
        )
    )
    assert "students are alone in a havruta" in html
    assert not Assignment.objects.exists()


def test_it_lists_a_classs_assignments_with_their_worksheet_counts() -> None:
    teacher, session, _students = _paired(7)
    assignment_create(session=session, by=teacher, protocol=make_protocol(), text=make_text(), date=session.date)
    html = _html(_client(teacher).get(reverse("classrooms:assignment_list", args=[session.classroom_id])))
    assert "Listening to the Text" in html and "Genesis 4:1-16" in html
    assert re.search(r"<td>3</td>", html)


def test_it_shows_recent_pairings_and_assignments_on_the_class_page() -> None:
    teacher, session, _students = _paired(4)
    assignment_create(session=session, by=teacher, protocol=make_protocol(), date=session.date)
    html = _html(_client(teacher).get(reverse("classrooms:detail", args=[session.classroom_id])))
    assert "Havrutot and assignments" in html
    assert reverse("classrooms:pairing_new", args=[session.classroom_id]) in html
    assert reverse("classrooms:pairing_detail", args=[session.pk]) in html
    assert "Listening to the Text" in html


@pytest.mark.parametrize("n", [30, 300])
def test_it_answers_the_assignment_page_in_a_fixed_number_of_queries(n: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    teacher, session, _students = _paired_random(n)
    (assignment,) = assignment_create(session=session, by=teacher, protocol=make_protocol(), date=session.date)
    client = _client(teacher)
    # session + user (2), access helper (1), worksheets with havrutot, their members, sibling assignments (3)
    with django_assert_num_queries(6):
        html = _html(client.get(reverse("classrooms:assignment_detail", args=[assignment.pk])))
    assert html.count("Open worksheet") == Havruta.objects.filter(session=session).count()
    with django_assert_num_queries(4):
        _html(client.get(reverse("classrooms:assignment_list", args=[session.classroom_id])))


def _paired_random(n: int) -> tuple[User, PairingSession, list[User]]:
    classroom, teacher, students = make_class(n)
    session = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=1)
    return teacher, session, students
