"""The 404 matrix: every class, roster, co-teacher, sign-in and student-home URL, for every persona.

Teachers of the class (owner and co-teacher) get the page; everyone else gets 404, never 403,
and the same answer for another class's ids as for ids that never existed. Anonymous visitors
of teacher pages are sent to sign in, the same way whether the id exists or not.

Every URL name of the classrooms urlconf must be requested by a persona matrix: here, in
tests/test_pairing_web_access.py, or in a test named in PERSONA_TESTS. A new URL fails
test_it_puts_every_url_of_the_classrooms_app_in_a_persona_matrix until it is classified.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from classrooms.models import Classroom, CoTeacherInvitation
from tests.classes_fixtures import fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.conftest import PERSONAS, World, client_for
from tests.factories import addr, classroom_add_teacher, make_classroom, make_student

pytestmark = pytest.mark.django_db

MISSING = 987654
TEACHERS = {"teacher", "co_teacher"}
STUDENTS = {"student", "partner", "classmate", "outsider"}


@dataclass(frozen=True)
class Case:
    name: str
    route: str  # the URL name in the classrooms namespace (checked against the URL itself)
    method: str
    url: Callable[[World], str]
    data: Callable[[World], dict[str, object]] | None = None
    ok: int = 200


def _c(w: World) -> int:
    return w.classroom.pk


def _invitation(w: World) -> CoTeacherInvitation:
    return CoTeacherInvitation.objects.create(
        classroom=w.classroom, email=addr("newcolleague"), token="tok-" + "a" * 40, invited_by=w.teacher
    )


def _second_class(w: World) -> Classroom:
    """Another class both teachers of world.classroom teach: somewhere to move a student to."""
    second = make_classroom(teacher=w.teacher, name="Grade 8 Chumash")
    classroom_add_teacher(classroom=second, teacher=w.co_teacher)
    return second


# URLs of world.classroom: the class's two teachers may use them.
CLASS_CASES = [
    Case("detail", "detail", "get", lambda w: f"/classes/{_c(w)}/"),
    Case("edit", "classroom_edit", "get", lambda w: f"/classes/{_c(w)}/edit/"),
    Case(
        "edit-post",
        "classroom_edit",
        "post",
        lambda w: f"/classes/{_c(w)}/edit/",
        lambda w: {"name": "Renamed", "grade_band": "adult", "language": "en"},
        302,
    ),
    Case("archive", "classroom_archive", "post", lambda w: f"/classes/{_c(w)}/archive/", ok=302),
    Case("unarchive", "classroom_unarchive", "post", lambda w: f"/classes/{_c(w)}/unarchive/", ok=302),
    Case("code", "join_code_regenerate", "get", lambda w: f"/classes/{_c(w)}/code/"),
    Case("code-post", "join_code_regenerate", "post", lambda w: f"/classes/{_c(w)}/code/", ok=302),
    Case("sheet", "signin_sheet", "get", lambda w: f"/classes/{_c(w)}/sign-in-sheet/"),
    Case("roster-add", "roster_add", "get", lambda w: f"/classes/{_c(w)}/roster/add/"),
    Case(
        "roster-add-post", "roster_add", "post", lambda w: f"/classes/{_c(w)}/roster/add/", lambda w: {"names": "Tamar"}
    ),
    Case(
        "roster-confirm",
        "roster_confirm",
        "post",
        lambda w: f"/classes/{_c(w)}/roster/confirm/",
        lambda w: {"token": "x"},
        302,
    ),
    Case("student-edit", "student_edit", "get", lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/edit/"),
    Case(
        "student-edit-post",
        "student_edit",
        "post",
        lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/edit/",
        lambda w: {"display_name": "Dana K", "group_label": "Blue"},
        302,
    ),
    Case("student-pin", "student_reset_pin", "get", lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/pin/"),
    Case(
        "student-pin-post",
        "student_reset_pin",
        "post",
        lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/pin/",
        ok=302,
    ),
    Case("student-remove", "student_remove", "get", lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/remove/"),
    Case(
        "student-remove-post",
        "student_remove",
        "post",
        lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/remove/",
        ok=302,
    ),
    Case("student-move", "student_move", "get", lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/move/"),
    Case(
        "student-move-post",
        "student_move",
        "post",
        lambda w: f"/classes/{_c(w)}/students/{w.student.pk}/move/",
        lambda w: {"to_classroom": _second_class(w).pk},
        302,
    ),
    Case("sheet-pdf", "signin_sheet_pdf", "get", lambda w: f"/classes/{_c(w)}/sign-in-sheet.pdf"),
    Case("invite", "coteacher_invite", "get", lambda w: f"/classes/{_c(w)}/co-teachers/invite/"),
    Case(
        "invite-post",
        "coteacher_invite",
        "post",
        lambda w: f"/classes/{_c(w)}/co-teachers/invite/",
        lambda w: {"email": addr("newcolleague")},
        302,
    ),
    Case(
        "coteacher-remove",
        "coteacher_remove",
        "get",
        lambda w: f"/classes/{_c(w)}/co-teachers/{w.co_teacher.pk}/remove/",
    ),
    Case(
        "coteacher-remove-post",
        "coteacher_remove",
        "post",
        lambda w: f"/classes/{_c(w)}/co-teachers/{w.co_teacher.pk}/remove/",
        ok=302,
    ),
    Case(
        "invitation-cancel",
        "invitation_cancel",
        "post",
        lambda w: f"/classes/{_c(w)}/invitations/{_invitation(w).pk}/cancel/",
        ok=302,
    ),
]


def _request(client: Client, case: Case, world: World):  # type: ignore[no-untyped-def]
    url = case.url(world)
    data = case.data(world) if case.data else {}
    return client.post(url, data) if case.method == "post" else client.get(url)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.name)
def test_it_lets_only_the_class_teachers_use_class_urls(world: World, persona: str, case: Case) -> None:
    response = _request(client_for(world, persona), case, world)
    if persona in TEACHERS:
        assert response.status_code == case.ok, response.content[:500]
    elif persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.name)
def test_it_names_the_url_each_case_requests(world: World, case: Case) -> None:
    assert resolve(case.url(world)).view_name == f"classrooms:{case.route}"


def _url_names(patterns: list[URLPattern | URLResolver]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _url_names(pattern.url_patterns)
        elif pattern.name:
            names.add(pattern.name)
    return names


def test_it_puts_every_url_of_the_classrooms_app_in_a_persona_matrix() -> None:
    """A new URL in the classrooms urlconf fails here until a matrix requests it as every persona."""
    from tests.test_pairing_web_access import ROUTES

    _prefix, resolver = get_resolver().namespace_dict["classrooms"]
    every_name = _url_names(resolver.url_patterns)
    classified = {c.route for c in CLASS_CASES} | {r.name for r in ROUTES} | set(PERSONA_TESTS)
    assert every_name - classified == set(), (
        "URL names no persona matrix requests: add them to CLASS_CASES (class URLs), "
        "tests/test_pairing_web_access.py ROUTES (session and assignment URLs) or PERSONA_TESTS"
    )
    assert classified - every_name == set(), "the matrix names URLs that no longer exist"


def _swap(url: str, world: World, *, classroom: int | None = None, student: int | None = None) -> str:
    if classroom is not None:
        url = url.replace(f"/classes/{world.classroom.pk}/", f"/classes/{classroom}/", 1)
    if student is not None:
        url = url.replace(f"/students/{world.student.pk}/", f"/students/{student}/", 1)
    return url


@pytest.mark.parametrize("persona", sorted(TEACHERS))
@pytest.mark.parametrize("case", CLASS_CASES, ids=lambda c: c.name)
def test_it_hides_other_classes_and_missing_ids_from_teachers(world: World, persona: str, case: Case) -> None:
    client = client_for(world, persona)
    data = case.data(world) if case.data else {}
    url = case.url(world)
    variants = [
        _swap(url, world, classroom=world.other_class.pk),
        _swap(url, world, classroom=MISSING),
    ]
    if "/students/" in url:
        variants += [_swap(url, world, student=world.outsider.pk), _swap(url, world, student=MISSING)]
    for variant in variants:
        response = client.post(variant, data) if case.method == "post" else client.get(variant)
        assert response.status_code == 404, variant


def test_it_hides_a_deleted_student_and_a_deleted_class(world: World) -> None:
    client = client_for(world, "teacher")
    student_pk, class_pk = world.classmate.pk, world.classroom.pk
    world.classmate.delete()
    assert client.get(f"/classes/{class_pk}/students/{student_pk}/edit/").status_code == 404
    world.classroom.delete()
    assert client.get(f"/classes/{class_pk}/").status_code == 404
    assert client.get(f"/classes/{class_pk}/sign-in-sheet/").status_code == 404


def test_it_answers_a_foreign_class_exactly_like_a_missing_one(world: World) -> None:
    client = client_for(world, "teacher")
    foreign = client.get(f"/classes/{world.other_class.pk}/")
    missing = client.get(f"/classes/{MISSING}/")
    assert foreign.status_code == missing.status_code == 404
    assert [t.name for t in foreign.templates] == [t.name for t in missing.templates]


# --- Co-teacher removal: the owner removes co-teachers, a co-teacher may only leave ----------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_never_lets_anyone_remove_the_owner(world: World, persona: str) -> None:
    response = client_for(world, persona).post(f"/classes/{world.classroom.pk}/co-teachers/{world.teacher.pk}/remove/")
    assert response.status_code == (302 if persona == "anonymous" else 404)


def test_it_lets_a_co_teacher_leave_but_not_remove_another_co_teacher(world: World) -> None:
    from tests.factories import classroom_add_teacher, make_teacher

    third = make_teacher(name="Third Teacher")
    classroom_add_teacher(classroom=world.classroom, teacher=third)
    client = client_for(world, "co_teacher")
    assert client.get(f"/classes/{world.classroom.pk}/co-teachers/{third.pk}/remove/").status_code == 404
    assert client.get(f"/classes/{world.classroom.pk}/co-teachers/{world.co_teacher.pk}/remove/").status_code == 200


# --- Moving a student: only to a class the same teacher teaches -----------------------------------


@pytest.mark.parametrize("persona", sorted(TEACHERS))
def test_it_does_not_move_a_student_to_a_class_the_teacher_does_not_teach(world: World, persona: str) -> None:
    client = client_for(world, persona)
    url = f"/classes/{world.classroom.pk}/students/{world.student.pk}/move/"
    for target in (world.other_class.pk, MISSING, "abc"):
        assert client.post(url, {"to_classroom": target}).status_code == 404
    world.student.enrollment.refresh_from_db()
    assert world.student.enrollment.classroom == world.classroom


def test_it_moves_a_student_to_another_class_of_the_same_teacher(world: World) -> None:
    second = make_classroom(teacher=world.teacher, name="Grade 8")
    client = client_for(world, "teacher")
    response = client.post(
        f"/classes/{world.classroom.pk}/students/{world.student.pk}/move/", {"to_classroom": second.pk}
    )
    assert response.status_code == 302
    world.student.enrollment.refresh_from_db()
    assert world.student.enrollment.classroom == second
    # The co-teacher of the old class does not teach the new one: the student is gone for them.
    co = client_for(world, "co_teacher")
    assert co.get(f"/classes/{world.classroom.pk}/students/{world.student.pk}/edit/").status_code == 404


# --- Lists, creation and the student home ------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url", ["/classes/", "/classes/new/"])
def test_it_shows_class_lists_and_creation_to_teachers_only(world: World, persona: str, url: str) -> None:
    response = client_for(world, persona).get(url)
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    elif persona in STUDENTS:
        assert response.status_code == 404
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_the_student_home_to_students_only(world: World, persona: str) -> None:
    response = client_for(world, persona).get("/me/")
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"] == "/join/"
    elif persona in STUDENTS:
        assert response.status_code == 200
    else:
        assert response.status_code == 404


def test_it_answers_404_on_the_student_home_for_a_student_without_a_class(world: World) -> None:
    world.student.enrollment.delete()
    assert client_for(world, "student").get("/me/").status_code == 404


# --- Sign-in pages are public, but only for a live code and a student of that class ---------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_serves_sign_in_pages_only_for_students_of_the_coded_class(world: World, persona: str) -> None:
    client = client_for(world, persona)
    code, other_code = world.classroom.join_code, world.other_class.join_code
    assert client.get("/join/").status_code == 200
    assert client.get(f"/join/{code}/").status_code == 200
    assert client.get(f"/join/{code}/{world.student.pk}/").status_code == 200
    for url in (
        f"/join/{code}/{world.outsider.pk}/",
        f"/join/{other_code}/{world.student.pk}/",
        f"/join/{code}/{MISSING}/",
        f"/join/{code}/{world.teacher.pk}/",
        "/join/ZZZZZZ/",
        f"/join/ZZZZZZ/{world.student.pk}/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"pin": "1111"}).status_code == 404, url


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_closes_sign_in_for_an_archived_class(world: World, persona: str) -> None:
    from classrooms.services import classroom_archive

    classroom_archive(classroom=world.classroom)
    client = client_for(world, persona)
    assert client.get(f"/join/{world.classroom.join_code}/").status_code == 404
    assert client.get(f"/join/{world.classroom.join_code}/{world.student.pk}/").status_code == 404


# --- Invitation links ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_an_invitation_only_to_the_invited_teacher_or_a_visitor_who_must_sign_in(
    world: World, persona: str
) -> None:
    invitation = CoTeacherInvitation.objects.create(
        classroom=world.classroom, email=addr("other"), token="t" * 43, invited_by=world.teacher
    )
    client = client_for(world, persona)
    response = client.get(f"/invitations/{invitation.token}/")
    expected = 200 if persona in {"anonymous", "other_teacher"} else 404
    assert response.status_code == expected
    assert client.get("/invitations/" + "u" * 43 + "/").status_code == 404
    posted = client.post(f"/invitations/{invitation.token}/")
    assert posted.status_code == {"anonymous": 200, "other_teacher": 302}.get(persona, 404)
    invitation.refresh_from_db()
    assert (invitation.accepted_at is not None) == (persona == "other_teacher")


def test_it_forgets_used_invitations(world: World) -> None:
    invitation = CoTeacherInvitation.objects.create(
        classroom=world.classroom, email=addr("other"), token="v" * 43, invited_by=world.teacher
    )
    client = client_for(world, "other_teacher")
    assert client.post(f"/invitations/{invitation.token}/").status_code == 302
    assert client.get(f"/invitations/{invitation.token}/").status_code == 404


def test_it_keeps_a_student_of_another_class_out_even_with_the_same_name(world: World) -> None:
    twin = make_student(classroom=world.other_class, name="Dana", pin="1111")
    client = Client()
    response = client.post(f"/join/{world.classroom.join_code}/{twin.pk}/", {"pin": "1111"})
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


# URLs whose persona matrix is a test of its own (each requests the URL as every persona), because
# their rules differ from "the class's teachers only": URL name -> "module::test".
PERSONA_TESTS = {
    "join": "tests.test_classes_access::test_it_serves_sign_in_pages_only_for_students_of_the_coded_class",
    "join_class": "tests.test_classes_access::test_it_serves_sign_in_pages_only_for_students_of_the_coded_class",
    "join_pin": "tests.test_classes_access::test_it_serves_sign_in_pages_only_for_students_of_the_coded_class",
    "student_home": "tests.test_classes_access::test_it_shows_the_student_home_to_students_only",
    "teacher_home": "tests.test_classes_access::test_it_shows_class_lists_and_creation_to_teachers_only",
    "classroom_new": "tests.test_classes_access::test_it_shows_class_lists_and_creation_to_teachers_only",
    "invitation": "tests.test_classes_access::"
    "test_it_shows_an_invitation_only_to_the_invited_teacher_or_a_visitor_who_must_sign_in",
    # The teacher's live session (issue 6) and the student's data export (issue 9).
    **dict.fromkeys(
        ("live", "live_panel", "live_comment", "live_broadcast", "live_timer", "live_help_resolve", "live_end"),
        "tests.test_live_pages::test_it_answers_404_to_everyone_but_the_class_teachers_on_every_teacher_url",
    ),
    "live_summary": "tests.test_live_pages::"
    "test_it_answers_404_to_everyone_but_the_class_teachers_on_every_teacher_url",
    **dict.fromkeys(
        ("live_help", "live_comment_done"),
        "tests.test_live_pages::test_it_lets_only_the_havruta_ask_for_help_and_mark_comments_done",
    ),
    "student_export": "tests.test_privacy_export::test_it_lets_only_the_class_teachers_export",
}


def test_it_points_every_persona_test_it_names_at_a_real_test() -> None:
    for name, where in PERSONA_TESTS.items():
        module, function = where.split("::")
        assert callable(getattr(importlib.import_module(module), function, None)), f"{name}: {where} is gone"
