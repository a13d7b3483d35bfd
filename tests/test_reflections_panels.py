"""What other pages include (home panel, Warm Up reminder), portraits, the class portrait and the PDF hook."""

from __future__ import annotations

import io

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from pypdf import PdfReader

from reflections.models import ClassPortrait, Portrait
from reflections.selectors import (
    reflection_for_pdf,
    reflection_pdf_answers,
    student_reflection_panel,
    warmup_reminder,
)
from tests.conftest import client_for
from tests.factories import make_session
from tests.reflections_fixtures import assign_lesson, end_learning, ensure_library, reflect, set_intentions
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db


@pytest.fixture
def reflected(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We listen to the end."])
    end_learning(world.session, world.teacher)
    reflect(
        world.session,
        world.student,
        ratings={"listening": 3},
        goal="Ask Eli for the line he means.",
        appreciation="Thank you for waiting for me.",
        send=True,
        kept=["partly"],
    )
    return world


def test_it_gives_the_home_page_a_panel_with_waiting_reflections_and_received_appreciations(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    html = render_to_string(
        "reflections/_student_home_panel.html", {"reflection_panel": student_reflection_panel(student=world.partner)}
    )
    assert "Waiting for your reflection" in html
    assert reverse("reflections:reflection", args=[world.session.pk]) in html
    assert "Thank you for waiting for me." in html and "Dana" in html
    dana = render_to_string(
        "reflections/_student_home_panel.html", {"reflection_panel": student_reflection_panel(student=world.student)}
    )
    assert "Nothing to reflect on right now" in dana
    assert "Ask Eli for the line he means." in dana
    assert "Thank you for waiting for me." not in dana  # her own appreciation is not "received"


def test_it_reminds_the_student_of_their_goal_and_portrait_at_the_next_warm_up(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    client = client_for(world, "student")
    client.post(
        reverse("reflections:portrait"),
        {"p-portrait_partner": "waits until I finish\nasks what I mean", "p-practice_to_grow": "challenging"},
    )
    reminder = warmup_reminder(student=world.student)
    html = render_to_string("reflections/_warmup_reminder.html", {"warmup_reminder": reminder})
    assert "Before you start: remember" in html
    assert "Ask Eli for the line he means." in html
    assert "waits until I finish" in html and "asks what I mean" in html
    assert "Challenging" in html
    # At the start of the same session's Warm Up, the goal written after it is not shown back.
    assert warmup_reminder(student=world.student, before=world.session).goal == ""
    assert render_to_string("reflections/_warmup_reminder.html", {"warmup_reminder": None}).strip() == ""
    assert warmup_reminder(student=world.classmate) is None


def test_it_shows_the_latest_goal_and_portrait_on_the_next_warm_up_worksheet(
    reflected, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    client_for(world, "student").post(
        reverse("reflections:portrait"),
        {"p-portrait_partner": "waits until I finish", "p-practice_to_grow": "wondering"},
    )
    later = make_session(
        classroom=world.classroom, groups=[[world.student, world.classmate], [world.partner, world.classmate_partner]]
    )
    warm_up, text = assign_lesson(later, world.teacher)

    def worksheet_html(persona: str, assignment, session=later) -> str:  # type: ignore[no-untyped-def]
        member = getattr(world, persona) if persona in ("student", "partner", "classmate") else world.student
        worksheet = Worksheet.objects.get(assignment=assignment, havruta__memberships__student=member)
        response = client_for(world, persona).get(reverse("worksheets:detail", args=[worksheet.pk]))
        assert response.status_code == 200
        return response.content.decode()

    html = worksheet_html("student", warm_up)
    reminder = html.split('class="card warmup-reminder"', 1)[1].split("</aside>", 1)[0]
    assert "Before you start: remember" in reminder
    assert "Ask Eli for the line he means." in reminder  # her goal, word for word
    assert "waits until I finish" in reminder and "Wondering" in reminder  # her portrait
    assert html.index("warmup-reminder") < html.index('class="worksheet-steps"')  # at the start
    # Only on a Warm Up, only for the student herself.
    assert "warmup-reminder" not in worksheet_html("student", text)
    assert "Ask Eli for the line he means." not in worksheet_html("classmate", warm_up)
    assert "warmup-reminder" not in worksheet_html("partner", warm_up)  # Eli set no goal, drew no portrait
    assert "Ask Eli for the line he means." not in worksheet_html("teacher", warm_up)
    # The Warm Up of the session the goal was written in (before the reflection) does not show it back.
    first_warm_up = Worksheet.objects.get(
        assignment__session=world.session, assignment__position=1, havruta__memberships__student=world.student
    )
    before = client_for(world, "student").get(reverse("worksheets:detail", args=[first_warm_up.pk])).content.decode()
    assert "Ask Eli for the line he means." not in before
    assert "waits until I finish" in before  # the portrait is current whatever the session

    # The reminder costs a fixed number of queries, however many reflections came before.
    worksheet = Worksheet.objects.get(assignment=warm_up, havruta__memberships__student=world.student)
    client = client_for(world, "student")
    with django_assert_num_queries(WARM_UP_PAGE_QUERIES):
        client.get(reverse("worksheets:detail", args=[worksheet.pk]))
    for _ in range(3):
        extra = make_session(classroom=world.classroom, groups=[[world.student, world.partner]])
        assign_lesson(extra, world.teacher, warm_up=False)
        end_learning(extra, world.teacher)
        reflect(extra, world.student, ratings={"listening": 2}, goal="A newer goal.")
    later_again = make_session(classroom=world.classroom, groups=[[world.student, world.partner]])
    warm_up_again, _text = assign_lesson(later_again, world.teacher)
    newest = Worksheet.objects.get(assignment=warm_up_again, havruta__memberships__student=world.student)
    with django_assert_num_queries(WARM_UP_PAGE_QUERIES):
        newest_html = client.get(reverse("worksheets:detail", args=[newest.pk])).content.decode()
    assert "A newer goal." in newest_html and "Ask Eli for the line he means." not in newest_html


# The worksheet page's queries (session, user, worksheet, members; a Warm Up has no text), then the
# reminder: the latest reflections with their versions and sessions, the latest portrait; and the
# live session's notes (one query, classrooms/selectors_live.py).
WARM_UP_PAGE_QUERIES = 7


def test_it_keeps_each_portrait_so_the_student_sees_how_it_changed(world) -> None:  # type: ignore[no-untyped-def]
    ensure_library()
    client = client_for(world, "student")
    url = reverse("reflections:portrait")
    page = client.get(url)
    assert page.status_code == 200 and "Portrait of a Learning Partner" in page.content.decode()
    client.post(url, {"p-portrait_self": "asks questions", "action": "save"})
    client.post(url, {"p-portrait_self": "asks questions\nbrings evidence", "action": "save"})
    assert Portrait.objects.filter(student=world.student).count() == 1
    client.post(url, {"p-portrait_self": "listens first", "action": "new"})
    portraits = list(Portrait.objects.filter(student=world.student))
    assert [p.answers["portrait_self"] for p in portraits] == [["listens first"], ["asks questions", "brings evidence"]]
    html = client.get(url).content.decode()
    assert "Earlier portraits" in html and "brings evidence" in html
    bad = client.post(url, {"p-practice_to_grow": "juggling"})
    assert bad.status_code == 400 and "choose one of the answers offered" in bad.content.decode()


def test_it_lets_the_teacher_build_a_class_portrait_from_students_lines(world) -> None:  # type: ignore[no-untyped-def]
    ensure_library()
    client_for(world, "student").post(reverse("reflections:portrait"), {"p-portrait_text": "reads it twice"})
    client_for(world, "partner").post(reverse("reflections:portrait"), {"p-portrait_partner": "lets me finish"})
    teacher = client_for(world, "teacher")
    url = reverse("reflections:class_portrait", args=[world.classroom.pk])
    builder = teacher.get(url).content.decode()
    assert "reads it twice" in builder and "(Dana)" in builder
    assert "lets me finish" in builder and "(Eli)" in builder
    teacher.post(url, {"pick": ["text|reads it twice"], "own-self": "comes ready to learn"})
    portrait = ClassPortrait.objects.get(classroom=world.classroom)
    assert portrait.items == [
        {"corner": "text", "text": "reads it twice"},
        {"corner": "self", "text": "comes ready to learn"},
    ]
    index = client_for(world, "classmate").get(reverse("reflections:index")).content.decode()
    assert "Our class portrait of a strong learning partner" in index
    assert "reads it twice" in index and "comes ready to learn" in index
    assert "lets me finish" not in index  # not chosen
    assert "(Dana)" not in index  # students see the lines without names


def test_it_hands_the_pdf_everything_one_student_wrote(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    document = reflection_for_pdf(student=world.student, session=world.session)
    assert document is not None
    assert document["student"]["name"] == "Dana" and document["partners"] == ["Eli"]
    assert document["self_assessment"]["goal"] == "Ask Eli for the line he means."
    assert document["intentions"]["rows"][0]["kept_label"] == "Partly"
    assert document["appreciation"]["sent"] is True
    assert reflection_for_pdf(student=world.partner, session=world.session) is None

    from worksheets.pdf import answers_pdf

    answers = reflection_pdf_answers(student=world.student, session=world.session)
    assert answers is not None
    pdf = answers_pdf(
        title=answers["title"], student=answers["student"], fields=answers["fields"], values=answers["values"]
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Ask Eli for the line he means." in text
    assert "We listen to the end." in text


def test_it_shows_the_teacher_the_state_of_every_reflection_of_a_session(reflected) -> None:  # type: ignore[no-untyped-def]
    world = reflected
    html = (
        client_for(world, "teacher")
        .get(reverse("reflections:session_overview", args=[world.session.pk]))
        .content.decode()
    )
    assert "1 of 4 students have handed in a reflection." in html
    assert reverse("reflections:reflection_for_teacher", args=[world.session.pk, world.student.pk]) in html
    assert "Lock reflections" in html
    index = client_for(world, "teacher").get(reverse("reflections:index")).content.decode()
    assert "Grade 7 Chumash" in index and reverse("reflections:class_growth", args=[world.classroom.pk]) in index
