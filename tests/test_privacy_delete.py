"""Deleting a student: every trace goes; shared work stays anonymised, or goes too if the teacher says so."""

from __future__ import annotations

import pycrdt
import pytest
from django.urls import reverse

from classrooms.models import ClassroomTeacher, Enrollment, Havruta, HavrutaMember
from classrooms.services import STUDENT_SIGNIN_LIMIT
from classrooms.services_privacy import DeletionMode, student_delete
from reflections.models import ClassPortrait, Reflection
from tests.conftest import PERSONAS, client_for
from tests.privacy_fixtures import (
    DETAIL_ENTRY,
    HELP_NOTE,
    NAME,
    PARTNER_APPRECIATION,
    PARTNER_ENTRY,
    PARTNER_PORTRAIT_LINE,
    PARTNER_TEXT,
    PERSONAL,
    PORTRAIT_LINE,
    PRIVATE_SENTENCES,
    SHARED_ENTRY,
    SHARED_SENTENCES,
    SHARED_TEXT,
    find_traces,
    full_trace,
)
from worksheets import persistence
from worksheets.models import DocSnapshot, DocUpdate, FieldAnswer
from worksheets.scrub import authored_parts
from worksheets.selectors import protocol_fields

pytestmark = pytest.mark.django_db


def _delete(trace, mode: str, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    enrollment = Enrollment.objects.select_related("student").get(student=trace.student)
    with django_capture_on_commit_callbacks(execute=True):
        return student_delete(enrollment=enrollment, mode=mode, by=trace.world.teacher)


def _shared(worksheet, key):  # type: ignore[no-untyped-def]
    return FieldAnswer.objects.get(worksheet=worksheet, student__isnull=True, field_key=key).value


def _doc(worksheet) -> bytes:  # type: ignore[no-untyped-def]
    update = persistence.doc_update(worksheet_id=worksheet.pk)
    assert update is not None
    return update


def test_it_leaves_nothing_of_the_student_when_everything_is_deleted(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    trace = full_trace(world)
    pk = trace.student.pk
    needles = (NAME, *SHARED_SENTENCES, *PRIVATE_SENTENCES, PORTRAIT_LINE, HELP_NOTE)
    before = find_traces(pk, needles)
    # The fixture really stored the student everywhere the test looks.
    for expected in (
        "classrooms.Enrollment.student",
        "classrooms.HavrutaMember.student",
        "classrooms.PairingConstraint.student_a",
        "worksheets.FieldAnswer.student",
        "worksheets.DocUpdate.student",
        "reflections.Reflection.student",
        "reflections.Portrait.student",
        "admin.LogEntry.object_repr",
        "worksheets.DocSnapshot.state",
        "session ",
    ):
        assert any(line.startswith(expected) for line in before), (expected, before)

    report = _delete(trace, DeletionMode.DELETE_ALL, django_capture_on_commit_callbacks)

    assert find_traces(pk, needles) == []
    assert report.worksheets_rewritten == 2
    assert STUDENT_SIGNIN_LIMIT.failures(str(pk)) == 0
    # Signed out for good: the old session no longer signs anyone in.
    assert trace.client.get(reverse("classrooms:student_home")).status_code == 302


def test_it_keeps_the_partners_work_when_everything_is_deleted(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    trace = full_trace(world)
    _delete(trace, DeletionMode.DELETE_ALL, django_capture_on_commit_callbacks)

    havruta = Havruta.objects.get(pk=trace.warm_up.havruta_id)
    assert list(havruta.memberships.values_list("student_id", flat=True)) == [world.partner.pk]
    assert _shared(trace.warm_up, "our_intentions") == [PARTNER_ENTRY]
    assert _shared(trace.text_sheet, "possible_meaning") == PARTNER_TEXT
    assert _shared(trace.text_sheet, "details") == ["verse 4: the firstlings"]
    fields = protocol_fields(trace.text_sheet, scope="shared")
    assert authored_parts(_doc(trace.text_sheet), fields, world.partner.pk) == {
        "possible_meaning": [PARTNER_TEXT],
        "details": ["verse 4: the firstlings"],
    }
    partner_reflection = Reflection.objects.get(student=world.partner)
    assert [row["text"] for row in partner_reflection.intentions] == [PARTNER_ENTRY]
    assert partner_reflection.appreciation == PARTNER_APPRECIATION
    items = ClassPortrait.objects.get(classroom=world.classroom).items
    assert items == [{"corner": "partner", "text": PARTNER_PORTRAIT_LINE}]
    assert FieldAnswer.objects.filter(student=world.partner, field_key="hard_for_me").exists()
    if "shared_comment" in trace.extra:
        trace.extra["shared_comment"].refresh_from_db()  # a comment on the havruta's box stays


def test_it_keeps_shared_work_anonymised(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    trace = full_trace(world)
    pk = trace.student.pk
    _delete(trace, DeletionMode.KEEP_SHARED, django_capture_on_commit_callbacks)

    assert find_traces(pk, (NAME, *PRIVATE_SENTENCES, HELP_NOTE)) == []
    # The havruta's worksheet reads as before, with nothing pointing at the student.
    assert _shared(trace.warm_up, "our_intentions") == [PARTNER_ENTRY, SHARED_ENTRY]
    meaning = _shared(trace.text_sheet, "possible_meaning")
    assert SHARED_TEXT in meaning and "Abel brought the flock." in meaning
    assert DETAIL_ENTRY in _shared(trace.text_sheet, "details")
    fields = protocol_fields(trace.text_sheet, scope="shared")
    doc = _doc(trace.text_sheet)
    assert authored_parts(doc, fields, pk) == {}
    assert "".join(authored_parts(doc, fields, world.partner.pk)["possible_meaning"]) == PARTNER_TEXT
    # Personal work and reflections are gone; the partner's reflection still lists the shared intention.
    assert not DocUpdate.objects.filter(student_id=pk).exists()
    assert not DocSnapshot.objects.filter(student_id=pk).exists()
    assert not Reflection.objects.filter(student_id=pk).exists()
    partner_reflection = Reflection.objects.get(student=world.partner)
    assert [row["text"] for row in partner_reflection.intentions] == [PARTNER_ENTRY, SHARED_ENTRY]
    if "help" in trace.extra:  # a help request's note is the student's own words: it goes in both modes
        assert not type(trace.extra["help"]).objects.filter(pk=trace.extra["help"].pk).exists()


def test_it_asks_what_happens_to_shared_work_before_deleting(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world, "teacher")
    url = reverse("classrooms:student_remove", args=[world.classroom.pk, world.student.pk])
    page = client.get(url).content.decode()
    assert "Keep shared work, anonymised" in page
    assert "Delete everything the student wrote" in page
    assert reverse("classrooms:student_export", args=[world.classroom.pk, world.student.pk]) in page
    assert Enrollment.objects.filter(student=world.student).exists()

    refused = client.post(url, {"mode": "shred"})
    assert refused.status_code == 400
    assert "Choose what happens to the worksheets" in refused.content.decode()
    assert Enrollment.objects.filter(student=world.student).exists()

    done = client.post(url, {"mode": "delete"}, follow=True)
    assert "Dana was removed from the class." in done.content.decode()
    assert not Enrollment.objects.filter(student_id=world.student.pk).exists()
    assert HavrutaMember.objects.filter(student=world.partner).exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_lets_only_the_class_teachers_delete(world, persona: str) -> None:  # type: ignore[no-untyped-def]
    url = reverse("classrooms:student_remove", args=[world.classroom.pk, world.student.pk])
    response = client_for(world, persona).post(url, {"mode": "delete"})
    if persona in ("teacher", "co_teacher"):
        assert response.status_code == 302
        assert not Enrollment.objects.filter(student_id=world.student.pk).exists()
    else:
        assert response.status_code == (302 if persona == "anonymous" else 404)
        assert Enrollment.objects.filter(student=world.student).exists()


def test_it_never_deletes_a_teacher_through_the_student_service(world) -> None:  # type: ignore[no-untyped-def]
    from classrooms.services_privacy import students_delete

    report = students_delete(students=[world.teacher], mode=DeletionMode.DELETE_ALL)
    assert report.students == 0
    assert ClassroomTeacher.objects.filter(teacher=world.teacher).exists()


def test_it_removes_cached_class_packets_that_print_the_student(
    world, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.PDF_CACHE_DIR = tmp_path
    trace = full_trace(world)
    packets = tmp_path / "packets"
    packets.mkdir()
    theirs = packets / f"packet-a{trace.text_sheet.assignment_id}-letter-abc.pdf"
    other = packets / "packet-a999999-letter-abc.pdf"
    theirs.write_bytes(b"%PDF-1.7")
    other.write_bytes(b"%PDF-1.7")
    _delete(trace, DeletionMode.KEEP_SHARED, django_capture_on_commit_callbacks)
    assert not theirs.exists()
    assert other.exists()


def test_it_deletes_the_text_and_the_author_marks_from_the_stored_bytes(
    world, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    trace = full_trace(world)
    pk = trace.student.pk
    _delete(trace, DeletionMode.DELETE_ALL, django_capture_on_commit_callbacks)
    for snapshot in DocSnapshot.objects.filter(worksheet__in=[trace.warm_up, trace.text_sheet]):
        state = bytes(snapshot.state)
        assert SHARED_TEXT.encode() not in state and PERSONAL.encode() not in state
        assert f'"{pk}"'.encode() not in state
        doc = pycrdt.Doc()
        doc.apply_update(state)  # still a valid document every client can merge
