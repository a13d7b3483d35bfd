"""The teacher's CSV of a class's reflections (safe against formula injection) and a student's JSON history."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from reflections.exports import csv_safe, csv_text
from tests.conftest import client_for
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("We kept it = mostly", "We kept it = mostly"),
        ("", ""),
        (3, "3"),
        (None, ""),
    ],
)
def test_it_neutralises_cells_a_spreadsheet_would_run_as_formulas(cell: object, written: str) -> None:
    assert csv_safe(cell) == written


@given(st.text())
def test_it_never_writes_a_cell_that_starts_a_formula(text: str) -> None:
    rows = list(csv.reader(io.StringIO(csv_text([("a", "A")], [{"a": text}]), newline="")))
    cell = rows[1][0] if len(rows) > 1 and rows[1] else ""
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.fixture
def reflected(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We listen to the end.", "=cmd|' /C calc'!A0"])
    end_learning(world.session, world.teacher)
    reflect(
        world.session,
        world.student,
        ratings={"listening": 3, "challenging": 1},
        examples={"listening": '=HYPERLINK("http://evil.example")', "challenging": "+I never disagreed"},
        goal="-Disagree once, with evidence",
        appreciation="@Eli thank you for waiting",
        send=True,
        kept=["yes", "no"],
        reflection={"partner_helped": "Eli reread verse 7 with me."},
    )
    reflect(world.session, world.classmate, ratings={"listening": 2}, appreciation="Thanks Yoni", send=False)
    return world


def _csv(world):  # type: ignore[no-untyped-def]
    response = client_for(world, "teacher").get(reverse("reflections:class_export_csv", args=[world.classroom.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.django_db
def test_it_exports_one_row_per_student_per_session_with_formulas_neutralised(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    rows = _csv(world)
    assert sorted(row["Student"] for row in rows) == ["Dana", "Eli", "Noa", "Yoni"]
    dana = next(row for row in rows if row["Student"] == "Dana")
    assert dana["Partners"] == "Eli"
    assert dana["Status"] == "Submitted"
    assert dana["Listening: rating"] == "3"
    assert dana["Challenging: rating"] == "1"
    assert dana["Listening: example"] == '\'=HYPERLINK("http://evil.example")'
    assert dana["Challenging: example"] == "'+I never disagreed"
    assert dana["Goal for next time"] == "'-Disagree once, with evidence"
    assert dana["Appreciation"] == "'@Eli thank you for waiting"
    assert dana["Appreciation sent to partner"] == "yes"
    assert dana["What my partner did that helped me learn"] == "Eli reread verse 7 with me."
    assert dana["Intentions review"].startswith("We listen to the end. — Yes, we kept it | =cmd")
    noa = next(row for row in rows if row["Student"] == "Noa")
    assert noa["Appreciation"] == "Thanks Yoni" and noa["Appreciation sent to partner"] == "no"
    eli = next(row for row in rows if row["Student"] == "Eli")
    assert eli["Status"] == "Not started" and eli["Listening: rating"] == ""
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.django_db
def test_it_exports_a_students_whole_history_as_json(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    response = client_for(world, "co_teacher").get(reverse("reflections:student_export_json", args=[world.student.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    assert data["student"]["name"] == "Dana"
    assert data["classroom"]["name"] == "Grade 7 Chumash"
    [session] = data["sessions"]
    assert session["partners"] == ["Eli"] and session["status"] == "submitted"
    [reflection] = data["reflections"]
    ratings = {r["key"]: r["value"] for r in reflection["self_assessment"]["ratings"]}
    assert ratings["rate_listening"] == 3 and ratings["rate_wondering"] is None
    assert reflection["self_assessment"]["goal"] == "-Disagree once, with evidence"
    assert [row["text"] for row in reflection["intentions"]["rows"]] == ["We listen to the end.", "=cmd|' /C calc'!A0"]
    assert reflection["appreciation"] == {
        "text": "@Eli thank you for waiting",
        "send": True,
        "sent": True,
        "sent_at": reflection["appreciation"]["sent_at"],
    }
    assert reflection["status"]["submitted_at"]
