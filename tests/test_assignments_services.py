"""Assignments: one worksheet per havruta, frozen protocol versions, warm-up first, close/reopen/delete."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from classrooms.models import Assignment, Havruta
from classrooms.services_pairing import (
    assignment_close,
    assignment_create,
    assignment_delete,
    assignment_reopen,
    havruta_move_student,
    pairing_session_create,
    session_mark_absent,
    session_mark_present,
)
from protocols.models import ProtocolStep
from tests.factories import make_session, make_teacher
from tests.pairing_fixtures import (
    fast_password_hashing,  # noqa: F401  (autouse)
    make_class,
    make_protocol,
    make_text,
    make_warm_ups,
)
from worksheets.models import FieldAnswer, Worksheet

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 1)


def test_it_creates_one_worksheet_per_havruta() -> None:
    classroom, teacher, students = make_class(7)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=1)
    protocol, text = make_protocol(), make_text()
    (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, text=text, date=DAY)
    assert assignment.position == 1 and assignment.text == text and assignment.date == DAY
    assert assignment.classroom == classroom and assignment.status == Assignment.Status.OPEN
    havrutot = set(Havruta.objects.filter(session=session).values_list("pk", flat=True))
    assert len(havrutot) == 3
    assert sorted(Worksheet.objects.filter(assignment=assignment).values_list("havruta_id", flat=True)) == sorted(
        havrutot
    )


def test_it_puts_the_warm_up_first() -> None:
    classroom, teacher, students = make_class(4)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=1)
    _older, younger = make_warm_ups()
    warm_up, main = assignment_create(
        session=session, by=teacher, protocol=make_protocol(), text=make_text(), warm_up=younger, date=DAY
    )
    assert (warm_up.position, main.position) == (1, 2)
    assert warm_up.protocol_version.protocol == younger and warm_up.text is None
    assert main.protocol_version.data["title"] == "Listening to the Text"
    assert Worksheet.objects.filter(assignment=warm_up).count() == 2
    assert Worksheet.objects.filter(assignment=main).count() == 2
    with pytest.raises(ValidationError, match="Warm Up"):
        assignment_create(session=session, by=teacher, protocol=younger, warm_up=make_protocol(slug="x"), date=DAY)


def test_it_keeps_the_protocol_as_it_was_when_assigned() -> None:
    classroom, teacher, students = make_class(4)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=1)
    protocol = make_protocol()
    (first,) = assignment_create(session=session, by=teacher, protocol=protocol, date=DAY)
    protocol.title = "Listening, renamed"
    protocol.save(update_fields=["title"])
    ProtocolStep.objects.filter(protocol=protocol, position=0).update(title="A new first step")
    first.refresh_from_db()
    assert first.protocol_version.data["title"] == "Listening to the Text"
    assert first.protocol_version.data["steps"][0]["title"] == "Read the text aloud"
    (second,) = assignment_create(session=session, by=teacher, protocol=protocol, date=DAY)
    assert second.protocol_version_id != first.protocol_version_id
    assert second.protocol_version.data["title"] == "Listening, renamed"


def test_it_closes_reopens_and_deletes_an_assignment_with_its_worksheets() -> None:
    classroom, teacher, students = make_class(4)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=1)
    (assignment,) = assignment_create(session=session, by=teacher, protocol=make_protocol(), date=DAY)
    assignment_close(assignment=assignment)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CLOSED
    assignment_reopen(assignment=assignment)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.OPEN
    worksheet = Worksheet.objects.filter(assignment=assignment).first()
    assert worksheet is not None
    FieldAnswer.objects.create(worksheet=worksheet, field_key="field-0", value="our reading")
    assignment_delete(assignment=assignment)
    assert not Assignment.objects.filter(pk=assignment.pk).exists()
    assert not Worksheet.objects.filter(assignment_id=assignment.pk).exists()
    assert not FieldAnswer.objects.exists()
    assert Havruta.objects.filter(session=session).count() == 2  # the pairing itself stays


def test_it_refuses_to_assign_while_the_pairing_is_unfinished() -> None:
    classroom, teacher, s = make_class(4)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    havruta_move_student(session=session, student=s[0], to_havruta=None)
    with pytest.raises(ValidationError) as error:
        assignment_create(session=session, by=teacher, protocol=make_protocol(), date=DAY)
    assert "Finish the pairing before assigning a protocol." in error.value.messages
    assert not Assignment.objects.exists()


def test_it_refuses_a_text_from_another_teachers_private_library() -> None:
    classroom, teacher, students = make_class(2)
    session = make_session(classroom=classroom, groups=[students])
    protocol = make_protocol()
    private = make_text(title="Mine", owner=make_teacher())
    with pytest.raises(ValidationError, match="not in your library"):
        assignment_create(session=session, by=teacher, protocol=protocol, text=private, date=DAY)
    own = make_text(title="Own", owner=teacher)
    (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, text=own, date=DAY)
    assert assignment.text == own


def test_it_gives_a_havruta_formed_after_assigning_its_own_worksheet() -> None:
    classroom, teacher, s = make_class(6)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=s[:5], seed=2)
    (assignment,) = assignment_create(session=session, by=teacher, protocol=make_protocol(), date=DAY)
    assert Worksheet.objects.filter(assignment=assignment).count() == 2
    session_mark_present(session=session, student=s[5])  # the triad splits: a third havruta appears
    assert Worksheet.objects.filter(assignment=assignment).count() == 3
    assert set(Worksheet.objects.filter(assignment=assignment).values_list("havruta_id", flat=True)) == set(
        Havruta.objects.filter(session=session).values_list("pk", flat=True)
    )


def test_it_keeps_a_havruta_and_its_work_when_its_students_leave() -> None:
    classroom, teacher, s = make_class(4)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    (assignment,) = assignment_create(session=session, by=teacher, protocol=make_protocol(), date=DAY)
    first = Havruta.objects.get(session=session, number=1)
    FieldAnswer.objects.create(
        worksheet=Worksheet.objects.get(assignment=assignment, havruta=first), field_key="field-0", value="x"
    )
    session_mark_absent(session=session, student=s[0])  # s[1] joins havruta 2
    assert Havruta.objects.filter(pk=first.pk).exists()
    assert FieldAnswer.objects.filter(worksheet__havruta=first).exists()
    assert not first.memberships.exists()
