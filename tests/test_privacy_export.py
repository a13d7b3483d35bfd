"""Exporting everything stored about a student: one JSON file for the teachers of the class."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.urls import reverse

from tests.conftest import PERSONAS, client_for
from tests.factories import make_session
from tests.privacy_fixtures import (
    APPRECIATION,
    DETAIL_ENTRY,
    GOAL,
    NAME,
    PARTNER_APPRECIATION,
    PARTNER_TEXT,
    PERSONAL,
    PORTRAIT_LINE,
    SHARED_ENTRY,
    SHARED_TEXT,
    DocWriter,
    append_text,
    full_trace,
)
from tests.reflections_fixtures import assign_lesson
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db


def _url(world) -> str:  # type: ignore[no-untyped-def]
    return reverse("classrooms:student_export", args=[world.classroom.pk, world.student.pk])


def test_it_downloads_everything_the_student_wrote_as_json(world) -> None:  # type: ignore[no-untyped-def]
    trace = full_trace(world)
    response = client_for(world, "teacher").get(_url(world))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="student-zephyrine-quillfeather.json"'
    data = json.loads(response.content)

    assert data["student"]["display_name"] == NAME
    assert data["classroom"]["name"] == "Grade 7 Chumash"
    assert data["enrolments"] == [
        {"classroom": "Grade 7 Chumash", "group_label": "Blue", "since": data["enrolments"][0]["since"]}
    ]
    assert [h["partners"] for h in data["havrutot"]] == [["Eli"]]
    assert data["pairing_rules"] == [{"rule": "Keep apart", "with": "Noa"}]

    sheets = {w["id"]: w for w in data["worksheets"]}
    warm_up, study = sheets[trace.warm_up.pk], sheets[trace.text_sheet.pk]
    written = {a["field"]: a["text"] for a in study["shared_answers_they_wrote"]}
    assert written == {"possible_meaning": [SHARED_TEXT], "details": [DETAIL_ENTRY]}
    assert {a["field"]: a["text"] for a in warm_up["shared_answers_they_wrote"]} == {"our_intentions": [SHARED_ENTRY]}
    assert warm_up["personal_answers"] == [
        {"field": "hard_for_me", "label": warm_up["personal_answers"][0]["label"], "value": PERSONAL}
    ]
    assert warm_up["personal_answers"][0]["label"]
    # The partner's words are theirs: only the student's own runs of text are exported.
    assert PARTNER_TEXT not in response.content.decode()

    (reflection,) = data["reflections"]
    assert reflection["appreciation"]["text"] == APPRECIATION
    assert reflection["self_assessment"]["goal"] == GOAL
    assert [a["text"] for a in data["appreciations_received"]] == [PARTNER_APPRECIATION]
    assert data["portraits"][0]["answers"]["portrait_partner"] == [PORTRAIT_LINE]
    if data["help_requests"]:
        assert data["help_requests"][0]["note"]

    pdfs = data["pdfs"]
    assert {p["worksheet"] for p in pdfs["worksheets"]} == {trace.warm_up.pk, trace.text_sheet.pk}
    assert all(p["url"].startswith("http://testserver/worksheets/") for p in pdfs["worksheets"])
    for link in pdfs["reflections"]:
        assert link["url"].startswith("http://testserver/reflections/")
    # The PIN is a sign-in secret, not the student's data.
    assert "1111" not in response.content.decode()


def test_it_exports_a_student_with_nothing_written_yet(world) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(client_for(world, "co_teacher").get(_url(world)).content)
    assert data["student"]["display_name"] == "Dana"
    assert data["worksheets"] == [] and data["reflections"] == [] and data["portraits"] == []
    assert [h["partners"] for h in data["havrutot"]] == [["Eli"]]


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_lets_only_the_class_teachers_export(world, persona: str) -> None:  # type: ignore[no-untyped-def]
    response = client_for(world, persona).get(_url(world))
    if persona in ("teacher", "co_teacher"):
        assert response.status_code == 200
    elif persona == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 404


def test_it_hides_students_of_other_classes(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world, "teacher")
    outsider = reverse("classrooms:student_export", args=[world.classroom.pk, world.outsider.pk])
    other_class = reverse("classrooms:student_export", args=[world.other_class.pk, world.outsider.pk])
    assert client.get(outsider).status_code == 404
    assert client.get(other_class).status_code == 404


def test_it_reads_the_export_in_a_fixed_number_of_queries(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    full_trace(world)
    # Another lesson with two more worksheets the student wrote in: the count stays the same.
    later = make_session(classroom=world.classroom, groups=[[world.student, world.classmate]])
    for assignment in assign_lesson(later, world.teacher):
        worksheet = Worksheet.objects.get(assignment=assignment, havruta__memberships__student=world.student)
        DocWriter(worksheet, [world.student]).edit(world.student, append_text("promise_example", "Yes.", world.student))
    client = client_for(world, "teacher")
    help_requests = 1 if "classrooms.helprequest" in {m._meta.label_lower for m in apps.get_models()} else 0
    # session, user, class, enrollment; reflections history (9); worksheets, answers, snapshots,
    # log rows; pairing rules; havrutot with partners (2); help requests.
    with django_assert_num_queries(20 + help_requests):
        assert client.get(_url(world)).status_code == 200


def test_it_offers_the_export_on_the_roster(world) -> None:  # type: ignore[no-untyped-def]
    page = client_for(world, "teacher").get(reverse("classrooms:detail", args=[world.classroom.pk])).content.decode()
    assert _url(world) in page
