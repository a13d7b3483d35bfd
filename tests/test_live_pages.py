"""The teacher's live session over HTTP: who may open what, the grid, and what a reload shows.

Everything here works without JavaScript: forms post and redirect, and the worksheet page renders
the broadcasts, the timer, the comments and the help request it was sent live.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classrooms import services_live
from classrooms.models import Broadcast, FieldComment, Havruta, HelpRequest, LiveConnection, SessionStep
from tests.conftest import PERSONAS, World, client_for
from tests.factories import make_session, make_student
from tests.live_fixtures import assign_lesson, big_class
from worksheets.models import FieldAnswer, Worksheet

pytestmark = pytest.mark.django_db

TEACHERS = {"teacher", "co_teacher"}
MEMBERS = {"student", "partner"}


def worksheet_html(world: World, persona: str, worksheet: Worksheet) -> str:
    response = client_for(world, persona).get(reverse("worksheets:detail", args=[worksheet.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def lesson(world: World) -> dict[int, Worksheet]:
    return assign_lesson(session=world.session)


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------


def _teacher_urls(world: World, lesson: dict[int, Worksheet], help_pk: int) -> list[tuple[str, str]]:
    s = world.session.pk
    w = lesson[1].pk
    return [
        ("get", reverse("classrooms:live", args=[world.classroom.pk])),
        ("get", reverse("classrooms:live_panel", args=[s, w])),
        ("post", reverse("classrooms:live_comment", args=[s, w])),
        ("post", reverse("classrooms:live_broadcast", args=[s])),
        ("post", reverse("classrooms:live_timer", args=[s])),
        ("post", reverse("classrooms:live_help_resolve", args=[s, help_pk])),
        ("post", reverse("classrooms:live_end", args=[s])),
        ("get", reverse("classrooms:live_summary", args=[s])),
    ]


def test_it_answers_404_to_everyone_but_the_class_teachers_on_every_teacher_url(world, lesson) -> None:  # type: ignore[no-untyped-def]
    help_request = services_live.help_request_create(worksheet=lesson[1], student=world.student, note="Stuck")
    data = {"message": "Hi", "action": "pause", "field": "shared:notices", "text": "Look again"}
    for method, url in _teacher_urls(world, lesson, help_request.pk):
        for persona in PERSONAS:
            if persona in TEACHERS:
                continue
            response = getattr(client_for(world, persona), method)(url, data)
            assert response.status_code == 404, (persona, url)
    # Nothing changed: the session runs on, no broadcast, no comment, the request is still open.
    world.session.refresh_from_db()
    assert world.session.ended_at is None
    assert not Broadcast.objects.exists() and not FieldComment.objects.exists()
    assert HelpRequest.objects.get().resolved_at is None


def test_it_answers_404_for_another_class_session_or_worksheet(world, lesson) -> None:  # type: ignore[no-untyped-def]
    partner = make_student(classroom=world.other_class, name="Far")
    other_session = make_session(classroom=world.other_class, groups=[[world.outsider, partner]])
    other = assign_lesson(session=other_session)
    teacher = client_for(world, "teacher")
    assert teacher.get(reverse("classrooms:live", args=[world.other_class.pk])).status_code == 404
    assert teacher.get(reverse("classrooms:live_panel", args=[other_session.pk, other[1].pk])).status_code == 404
    # A worksheet of another session cannot be reached through this session's URLs either.
    assert teacher.get(reverse("classrooms:live_panel", args=[world.session.pk, other[1].pk])).status_code == 404
    assert teacher.get(reverse("classrooms:live_summary", args=[other_session.pk])).status_code == 404


def test_it_lets_only_the_havruta_ask_for_help_and_mark_comments_done(world, lesson) -> None:  # type: ignore[no-untyped-def]
    comment = services_live.comment_create(
        worksheet=lesson[1], by=world.teacher, field_id="shared:notices", text="Where in the text?"
    )
    help_url = reverse("classrooms:live_help", args=[lesson[1].pk])
    done_url = reverse("classrooms:live_comment_done", args=[lesson[1].pk, comment.pk])
    for persona in PERSONAS:
        if persona in MEMBERS:
            continue
        client = client_for(world, persona)
        assert client.post(help_url, {"note": "x"}).status_code == 404, persona
        assert client.post(done_url).status_code == 404, persona
    assert not HelpRequest.objects.exists()
    comment.refresh_from_db()
    assert comment.done_at is None
    # A comment of another worksheet cannot be marked through this one.
    other = services_live.comment_create(worksheet=lesson[2], by=world.teacher, field_id="shared:notices", text="?")
    wrong = reverse("classrooms:live_comment_done", args=[lesson[1].pk, other.pk])
    assert client_for(world, "student").post(wrong).status_code == 404


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


def test_it_shows_every_havruta_with_its_members_progress_and_help(world, lesson) -> None:  # type: ignore[no-untyped-def]
    FieldAnswer.objects.create(worksheet=lesson[1], field_key="notices", value=["Cain was angry", "God spoke"])
    FieldAnswer.objects.create(worksheet=lesson[1], field_key="chosen_question", value="Why was he angry?")
    Worksheet.objects.filter(pk=lesson[1].pk).update(last_edit_at=timezone.now())
    services_live.help_request_create(worksheet=lesson[2], student=world.classmate, note="We disagree")
    html = client_for(world, "co_teacher").get(reverse("classrooms:live", args=[world.classroom.pk])).content.decode()
    assert "Havruta 1" in html and "Havruta 2" in html
    for name in ("Dana", "Eli", "Noa", "Yoni"):
        assert name in html
    assert "2 of 5 answers" in html  # 3 shared fields + 1 personal field per member
    assert "9 words" in html
    assert "Why was he angry?" in html  # the latest answer, previewed
    assert "Step 2 of 3: Wonder together" in html  # the furthest step with an answer
    assert "We disagree" in html and "Asked for help" in html
    # Help first, whatever the numbers.
    first, second = f'data-havruta="{lesson[2].havruta_id}"', f'data-havruta="{lesson[1].havruta_id}"'
    assert html.index(first) < html.index(second)


def test_a_card_says_not_started_once_and_still_says_it_beside_a_help_request(world, lesson) -> None:  # type: ignore[no-untyped-def]
    services_live.help_request_create(worksheet=lesson[2], student=world.classmate, note="")
    html = client_for(world, "teacher").get(reverse("classrooms:live", args=[world.classroom.pk])).content.decode()
    grid = html.split("data-live-grid>", 1)[1].split("</ol>", 1)[0]
    cards = {
        havruta: grid.split(f'data-havruta="{havruta}"', 1)[1].split('<li class="live-card', 1)[0]
        for havruta in (lesson[1].havruta_id, lesson[2].havruta_id)
    }
    assert cards[lesson[1].havruta_id].count("Not started") == 1  # the badge; no second line saying it again
    quiet, asking = cards[lesson[1].havruta_id], cards[lesson[2].havruta_id]
    assert 'class="live-step"' not in quiet
    assert "Asked for help" in asking and asking.count("Not started") == 1


def test_it_sorts_by_need_help_then_idle_then_not_started(world) -> None:  # type: ignore[no-untyped-def]
    session, _students = big_class(classroom=world.classroom, havrutot=4)
    sheets = assign_lesson(session=session)
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    for number in (1, 2, 4):
        FieldAnswer.objects.create(worksheet=sheets[number], field_key="chosen_question", value="Something")
    Worksheet.objects.filter(pk=sheets[1].pk).update(last_edit_at=timezone.now())
    Worksheet.objects.filter(pk=sheets[2].pk).update(last_edit_at=long_ago)
    Worksheet.objects.filter(pk=sheets[4].pk).update(last_edit_at=timezone.now())
    services_live.help_request_create(worksheet=sheets[4], student=_students[6], note="")
    from classrooms.selectors_live import live_rows

    order = [row["number"] for row in live_rows(session_id=session.pk)]
    assert order == [4, 2, 3, 1]  # help, idle 10 minutes, not started, working


# The page's queries: session and user (2), the class (1), the current session (1), assignments,
# the current step, havrutot and their members (4), worksheets, answers, help requests, open
# comments, connections (5), broadcasts and their havrutot (2).
LIVE_PAGE_QUERIES = 15


@pytest.mark.parametrize("size", [5, 50])
def test_it_answers_the_live_page_in_a_constant_number_of_queries(world, size, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    session, students = big_class(classroom=world.classroom, havrutot=size)
    sheets = assign_lesson(session=session)
    now = timezone.now()
    for number, sheet in sheets.items():
        FieldAnswer.objects.create(worksheet=sheet, field_key="chosen_question", value=f"Question {number}")
        FieldAnswer.objects.create(
            worksheet=sheet, field_key="my_idea", student=students[2 * number - 2], value="An idea of my own"
        )
        LiveConnection.objects.create(
            channel_name=f"c{number}",
            user=students[2 * number - 1],
            havruta_id=sheet.havruta_id,
            worksheet=sheet,
            seen_at=now,
        )
    services_live.help_request_create(worksheet=sheets[1], student=students[0], note="Help")
    services_live.comment_create(worksheet=sheets[2], by=world.teacher, field_id="shared:notices", text="Look")
    services_live.broadcast_send(session=session, by=world.teacher, message="All", link="")
    services_live.broadcast_send(
        session=session, by=world.teacher, message="Some", havrutot=Havruta.objects.filter(session=session)[:2]
    )
    services_live.timer_start(session=session, by=world.teacher, minutes=5)
    client = client_for(world, "teacher")
    with django_assert_num_queries(LIVE_PAGE_QUERIES):
        response = client.get(reverse("classrooms:live", args=[world.classroom.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('class="live-card live-rank') == size


# --------------------------------------------------------------------------------------------
# Without JavaScript: forms post and redirect; a reload shows everything
# --------------------------------------------------------------------------------------------


def test_it_keeps_broadcasts_timer_comments_and_help_on_the_worksheet_page_after_a_reload(world, lesson) -> None:  # type: ignore[no-untyped-def]
    teacher = client_for(world, "teacher")
    s = world.session.pk
    live_url = reverse("classrooms:live", args=[world.classroom.pk])
    response = teacher.post(
        reverse("classrooms:live_broadcast", args=[s]), {"message": "Five minutes left", "to": "all"}
    )
    assert response.status_code == 302 and response.url == live_url
    teacher.post(
        reverse("classrooms:live_broadcast", args=[s]),
        {"message": "Only for havruta 2", "to": "some", "havrutot": [str(lesson[2].havruta_id)]},
    )
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "start", "minutes": "5"})
    teacher.post(
        reverse("classrooms:live_comment", args=[s, lesson[1].pk]),
        {"field": "shared:chosen_question", "text": "Where do you see that in the text?"},
    )
    student = client_for(world, "student")
    response = student.post(reverse("classrooms:live_help", args=[lesson[1].pk]), {"action": "ask", "note": "Stuck"})
    assert response.status_code == 302 and response.url == reverse("worksheets:detail", args=[lesson[1].pk])

    for persona in ("student", "partner"):
        html = worksheet_html(world, persona, lesson[1])
        assert "Five minutes left" in html
        assert "Only for havruta 2" not in html  # students never see other havrutot's messages
        assert "Step 1 of 3: Notice the details" in html
        assert "left" in html and 'data-state="running"' in html
        assert "Where do you see that in the text?" in html and "Our question" in html
        assert "You asked your teacher for help." in html and "Stuck" in html
    other = worksheet_html(world, "classmate", lesson[2])
    assert "Five minutes left" in other and "Only for havruta 2" in other
    assert "Where do you see that in the text?" not in other and "Stuck" not in other

    # Paused: the same remaining time after a reload.
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "pause"})
    step = SessionStep.objects.get()
    assert step.timer_ends_at is None and 290 <= step.timer_remaining <= 300
    html = worksheet_html(world, "student", lesson[1])
    assert 'data-state="paused"' in html and f'data-remaining="{step.timer_remaining}"' in html

    # The student marks the comment done; the teacher resolves the request: both leave the page.
    comment = FieldComment.objects.get()
    student.post(reverse("classrooms:live_comment_done", args=[lesson[1].pk, comment.pk]))
    help_request = HelpRequest.objects.get()
    teacher.post(reverse("classrooms:live_help_resolve", args=[s, help_request.pk]))
    html = worksheet_html(world, "student", lesson[1])
    assert "Where do you see that in the text?" not in html
    assert "data-help-open hidden" in html and "data-help-ask hidden" not in html
    assert "Five minutes left" in html


def test_it_moves_the_class_step_by_step_and_counts_time_per_step_in_the_summary(world, lesson) -> None:  # type: ignore[no-untyped-def]
    teacher = client_for(world, "teacher")
    s = world.session.pk
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "start", "minutes": "5"})
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "extend", "extend": "2"})
    assert SessionStep.objects.get().timer_duration == 7 * 60
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "next"})
    current = SessionStep.objects.get(ended_at__isnull=True)
    assert current.title == "Wonder together" and current.timer_duration == 7 * 60  # the step's own minutes
    teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "next"})
    response = teacher.post(reverse("classrooms:live_timer", args=[s]), {"action": "next"}, follow=True)
    assert "This is the last step." in response.content.decode()
    html = worksheet_html(world, "student", lesson[1])
    assert "Step 3 of 3: Prepare to share" in html

    response = teacher.post(reverse("classrooms:live_end", args=[s]))
    assert response.url == reverse("classrooms:live_summary", args=[s])
    world.session.refresh_from_db()
    assert world.session.ended_at is not None
    summary = teacher.get(response.url).content.decode()
    for title in ("Notice the details", "Wonder together", "Prepare to share"):
        assert title in summary
    assert "0 of 2 havrutot finished" in summary
    # After the end the worksheet is read-only and no one can ask for help.
    html = worksheet_html(world, "student", lesson[1])
    assert "The learning time for this lesson has ended." in html
    assert "Ask for help" not in html


def test_it_refuses_bad_input_with_a_message_and_changes_nothing(world, lesson) -> None:  # type: ignore[no-untyped-def]
    teacher = client_for(world, "teacher")
    s = world.session.pk
    cases = [
        (reverse("classrooms:live_broadcast", args=[s]), {"message": "  "}, "Write a message first."),
        (reverse("classrooms:live_broadcast", args=[s]), {"message": "x" * 501}, "Keep the message to 500"),
        (
            reverse("classrooms:live_broadcast", args=[s]),
            {"message": "Hi", "link": "javascript:alert(1)"},
            "A link must",
        ),
        (reverse("classrooms:live_broadcast", args=[s]), {"message": "Hi", "to": "some"}, "Choose at least one"),
        (reverse("classrooms:live_timer", args=[s]), {"action": "start", "minutes": "0"}, "Choose between 1 and 120"),
        (reverse("classrooms:live_timer", args=[s]), {"action": "start", "minutes": "soon"}, "whole minutes"),
        (
            reverse("classrooms:live_comment", args=[s, lesson[1].pk]),
            {"field": "shared:nope", "text": "Hm"},
            "Choose a question",
        ),
        (
            reverse("classrooms:live_comment", args=[s, lesson[1].pk]),
            {"field": "shared:notices", "text": ""},
            "Write a comment",
        ),
    ]
    for url, data, expected in cases:
        html = teacher.post(url, data, follow=True).content.decode()
        assert expected in html, (url, data)
        response = teacher.post(url, data, headers={"Accept": "application/json"})
        assert response.status_code == 400 and response.json()["ok"] is False
    student = client_for(world, "student")
    html = student.post(reverse("classrooms:live_help", args=[lesson[1].pk]), {"note": "n" * 301}, follow=True)
    assert "Keep the note to 300 characters" in html.content.decode()
    assert not Broadcast.objects.exists() and not FieldComment.objects.exists()
    assert not SessionStep.objects.exists() and not HelpRequest.objects.exists()


def test_it_follows_the_latest_session_not_ended(world, lesson) -> None:  # type: ignore[no-untyped-def]
    newer = make_session(classroom=world.classroom, groups=[[world.student, world.classmate]])
    newer.ended_at = timezone.now()
    newer.save(update_fields=["ended_at"])
    html = client_for(world, "teacher").get(reverse("classrooms:live", args=[world.classroom.pk])).content.decode()
    # The newer session has ended, so the page follows the one still running (two havrutot).
    assert html.count('class="live-card live-rank') == 2
    world.session.ended_at = timezone.now()
    world.session.save(update_fields=["ended_at"])
    html = client_for(world, "teacher").get(reverse("classrooms:live", args=[world.classroom.pk])).content.decode()
    assert "The learning time has ended." in html


def test_it_pops_a_worksheet_in_read_only_beside_the_grid(world, lesson) -> None:  # type: ignore[no-untyped-def]
    teacher: Client = client_for(world, "teacher")
    url = reverse("classrooms:live", args=[world.classroom.pk]) + f"?pop={lesson[1].pk}&listen=quiet"
    html = teacher.get(url).content.decode()
    frame = f"/worksheets/{lesson[1].pk}/?embed=1&amp;listen=quiet"
    assert frame in html
    assert "My idea (Dana)" in html and "My idea (Eli)" in html  # personal boxes can be commented on
    embedded = teacher.get(f"/worksheets/{lesson[1].pk}/?embed=1&listen=quiet")
    assert embedded["X-Frame-Options"] == "SAMEORIGIN"
    body = embedded.content.decode()
    assert "is-embed" in body and '"teacherVisible": false' in body
    assert "data-teacher-visible>" in body  # the "let them see me" box starts unticked
