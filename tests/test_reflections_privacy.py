"""Who may see what: a reflection is private to its student and the class's teachers.

Every reflections URL is requested by every persona: outsiders get 404 (never 403), exactly as
for something that does not exist. The partner sees only an appreciation that was sent.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from reflections.models import Reflection
from tests.conftest import PERSONAS, client_for
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions

pytestmark = pytest.mark.django_db

TEACHERS = {"teacher": 200, "co_teacher": 200}
STUDENTS_OF_SESSION = {"student": 200, "partner": 200, "classmate": 200}


def _urls(world):  # type: ignore[no-untyped-def]
    """(method, url, {persona: expected status}); every persona not listed expects 404."""
    s, st, c = world.session.pk, world.student.pk, world.classroom.pk
    own_portrait = {"student": 200, "partner": 200, "classmate": 200, "outsider": 200}
    return [
        ("get", reverse("reflections:index"), {p: 200 for p in PERSONAS if p != "anonymous"} | {"anonymous": 302}),
        ("get", reverse("reflections:reflection", args=[s]), STUDENTS_OF_SESSION),
        ("post", reverse("reflections:autosave", args=[s]), STUDENTS_OF_SESSION),
        ("get", reverse("reflections:session_overview", args=[s]), TEACHERS),
        ("get", reverse("reflections:reflection_for_teacher", args=[s, st]), TEACHERS),
        ("get", reverse("reflections:reflection_for_teacher", args=[s, world.outsider.pk]), {}),
        ("post", reverse("reflections:session_lock", args=[s]), {"teacher": 302, "co_teacher": 302}),
        ("post", reverse("reflections:session_end", args=[s]), {"teacher": 302, "co_teacher": 302}),
        ("get", reverse("reflections:student_growth", args=[st]), TEACHERS | {"student": 200}),
        ("get", reverse("reflections:student_export_json", args=[st]), TEACHERS),
        ("get", reverse("reflections:class_growth", args=[c]), TEACHERS),
        ("get", reverse("reflections:class_export_csv", args=[c]), TEACHERS),
        ("get", reverse("reflections:class_portrait", args=[c]), TEACHERS),
        ("post", reverse("reflections:class_portrait", args=[c]), {"teacher": 302, "co_teacher": 302}),
        ("get", reverse("reflections:portrait"), own_portrait),
    ]


@pytest.fixture
def lesson(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We listen to the end before we answer."])
    end_learning(world.session, world.teacher)
    reflect(
        world.session,
        world.student,
        ratings={"listening": 3},
        examples={"listening": "I waited for Eli to finish his reading."},
        goal="Ask one question about the text.",
        appreciation="Thank you for rereading the verse with me.",
        send=False,
        reflection={"partner_helped": "Eli found the word that changed my mind."},
    )
    return world


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_answers_every_reflections_url_only_to_the_people_allowed(lesson, persona: str) -> None:  # type: ignore[no-untyped-def]
    world = lesson
    client = client_for(world, persona)
    for method, url, allowed in _urls(world):
        response = getattr(client, method)(url)
        expected = allowed.get(persona, 404)
        assert response.status_code == expected, f"{persona} {method.upper()} {url}: {response.status_code}"


def test_it_gives_the_partner_404_on_the_others_reflection(lesson) -> None:  # type: ignore[no-untyped-def]
    world = lesson
    partner = client_for(world, "partner")
    url = reverse("reflections:reflection_for_teacher", args=[world.session.pk, world.student.pk])
    assert partner.get(url).status_code == 404
    # The session URL is always one's own reflection: the partner's page holds none of the student's answers.
    html = partner.get(reverse("reflections:reflection", args=[world.session.pk])).content.decode()
    assert "Eli found the word that changed my mind." not in html
    assert "I waited for Eli to finish his reading." not in html
    assert "Thank you for rereading the verse with me." not in html
    # The teacher reads it all.
    teacher_html = client_for(world, "teacher").get(url).content.decode()
    assert "Eli found the word that changed my mind." in teacher_html
    assert "I waited for Eli to finish his reading." in teacher_html
    assert "Not sent: only the student and their teachers see it." in teacher_html


def _partner_sees(world, text: str) -> bool:  # type: ignore[no-untyped-def]
    partner = client_for(world, "partner")
    pages = [reverse("reflections:index"), reverse("reflections:reflection", args=[world.session.pk])]
    return any(text in partner.get(url).content.decode() for url in pages)


def test_it_shows_the_partner_only_an_appreciation_that_was_sent(lesson) -> None:  # type: ignore[no-untyped-def]
    world = lesson
    text = "Thank you for rereading the verse with me."
    assert not _partner_sees(world, text)  # written, not sent

    reflect(world.session, world.student, appreciation=text, send=True, submit=False)
    assert _partner_sees(world, text)  # handed in earlier, now sent
    assert not _partner_sees(world, "I waited for Eli")  # never the rest of the reflection

    classmate_index = client_for(world, "classmate").get(reverse("reflections:index")).content.decode()
    assert text not in classmate_index  # only the partner it was sent to

    reflect(world.session, world.student, appreciation=text, send=False)
    assert not _partner_sees(world, text)  # taken back
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.appreciation_sent_at is None


def test_it_shows_a_sent_appreciation_on_the_partners_home_page(lesson) -> None:  # type: ignore[no-untyped-def]
    world = lesson
    text = "Thank you for rereading the verse with me."

    def home(persona: str) -> str:
        response = client_for(world, persona).get("/me/")
        assert response.status_code == 200
        return response.content.decode()

    eli = home("partner")
    assert text not in eli  # written, not sent
    assert "Waiting for your reflection" in eli  # his own reflection is waiting for him
    assert reverse("reflections:reflection", args=[world.session.pk]) in eli

    reflect(world.session, world.student, appreciation=text, send=True)
    eli = home("partner")
    received = eli.split('class="card reflection-panel"', 1)[1].split("</section>", 1)[0]
    assert "Appreciations from your partners" in received
    assert text in received and "Dana" in received
    assert "I waited for Eli" not in eli  # never the rest of her reflection
    assert text not in home("classmate")  # only the partner it was sent to
    assert "Appreciations from your partners" not in home("student")  # her own is not "received"


def test_it_waits_for_the_hand_in_before_an_appreciation_reaches_the_partner(world) -> None:  # type: ignore[no-untyped-def]
    assign_lesson(world.session, world.teacher)
    end_learning(world.session, world.teacher)
    text = "You helped me see the second meaning."
    reflect(world.session, world.student, appreciation=text, send=True, submit=False)
    assert not _partner_sees(world, text)  # a draft is still being written
    reflect(world.session, world.student, appreciation=text, send=True, submit=True)
    assert _partner_sees(world, text)


def test_it_shows_a_moved_student_nothing_from_the_old_class(lesson) -> None:  # type: ignore[no-untyped-def]
    world = lesson
    from classrooms.models import Enrollment

    Enrollment.objects.filter(student=world.partner).update(classroom=world.other_class)
    partner = client_for(world, "partner")
    assert partner.get(reverse("reflections:reflection", args=[world.session.pk])).status_code == 404
