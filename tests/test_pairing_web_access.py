"""The 404 matrix: every pairing and assignment URL, for every persona, plus other classes',
guessed and deleted ids. Teachers of the class (owner and co-teacher) get the page; everyone
else gets 404, never 403, and nothing changes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from classrooms.models import Assignment, Havruta, PairingConstraint, PairingSession
from classrooms.pdf import packet_job, packet_wait
from classrooms.services_pairing import assignment_create, constraint_add
from tests.conftest import PERSONAS, World, client_for
from tests.factories import make_session, make_student
from tests.pairing_fixtures import (
    fast_password_hashing,  # noqa: F401  (autouse)
    make_protocol,
    rows,
)

pytestmark = pytest.mark.django_db

TEACHERS = {"teacher", "co_teacher"}


@dataclass
class Objects:
    """One of each object in a class: session, havruta, rule, assignment, and a student on its roster."""

    classroom_pk: int
    session_pk: int
    havruta_pk: int
    constraint_pk: int
    assignment_pk: int
    student_pk: int
    other_student_pk: int


def _objects(world: World, *, other: bool) -> Objects:
    protocol = make_protocol(slug="other-protocol" if other else "listening-to-the-text")
    if other:
        classroom, teacher = world.other_class, world.other_teacher
        partner = make_student(classroom=classroom, name="Outsider Partner")
        session = make_session(classroom=classroom, groups=[[world.outsider, partner]])
        student, other_student = world.outsider, partner
    else:
        classroom, teacher, session = world.classroom, world.teacher, world.session
        student, other_student = world.student, world.classmate
    constraint = constraint_add(classroom=classroom, student_a=student, student_b=other_student, kind="apart")
    (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, date=datetime.date(2026, 3, 1))
    return Objects(
        classroom_pk=classroom.pk,
        session_pk=session.pk,
        havruta_pk=Havruta.objects.filter(session=session).order_by("number").first().pk,  # type: ignore[union-attr]
        constraint_pk=constraint.pk,
        assignment_pk=assignment.pk,
        student_pk=student.pk,
        other_student_pk=other_student.pk,
    )


@dataclass
class Route:
    name: str
    method: str
    args: Callable[[Objects], list[int]]
    data: Callable[[Objects], dict[str, Any]] = lambda o: {}
    ok: int = 200
    anonymous: int = 404  # the printouts send an anonymous visitor to sign in (302) instead


ROUTES = [
    Route("pairing_list", "get", lambda o: [o.classroom_pk]),
    Route("pairing_new", "get", lambda o: [o.classroom_pk]),
    Route(
        "pairing_new",
        "post",
        lambda o: [o.classroom_pk],
        lambda o: {"present": [o.student_pk, o.other_student_pk], "method": "rotate", "date": "2026-03-02"},
        302,
    ),
    Route("pairing_history", "get", lambda o: [o.classroom_pk]),
    Route("assignment_list", "get", lambda o: [o.classroom_pk]),
    Route("pairing_detail", "get", lambda o: [o.session_pk]),
    Route("pairing_reshuffle", "post", lambda o: [o.session_pk], ok=302),
    Route("pairing_move", "post", lambda o: [o.session_pk], lambda o: {"student": o.student_pk, "to": "new"}, 302),
    Route("pairing_absent", "post", lambda o: [o.session_pk], lambda o: {"student": o.student_pk}, 302),
    Route("pairing_present", "post", lambda o: [o.session_pk], lambda o: {"student": o.student_pk}, 302),
    Route("havruta_lock", "post", lambda o: [o.session_pk, o.havruta_pk], lambda o: {"locked": "1"}, 302),
    Route(
        "constraint_new",
        "post",
        lambda o: [o.session_pk],
        lambda o: {"student_a": o.student_pk, "student_b": o.other_student_pk, "kind": "together"},
        302,
    ),
    Route("constraint_delete", "post", lambda o: [o.session_pk, o.constraint_pk], ok=302),
    Route("assignment_new", "get", lambda o: [o.session_pk]),
    Route("assignment_detail", "get", lambda o: [o.assignment_pk]),
    Route("assignment_close", "post", lambda o: [o.assignment_pk], ok=302),
    Route("assignment_reopen", "post", lambda o: [o.assignment_pk], ok=302),
    Route("assignment_delete", "get", lambda o: [o.assignment_pk]),
    Route("assignment_delete", "post", lambda o: [o.assignment_pk], ok=302),
    # An assignment's printouts (classrooms/urls_pdf.py); a packet not built yet sends to its progress page.
    Route("packet", "get", lambda o: [o.assignment_pk], anonymous=302),
    Route("packet_status", "get", lambda o: [o.assignment_pk], anonymous=302),
    Route("packet_pdf", "get", lambda o: [o.assignment_pk], ok=302, anonymous=302),
    Route("assignment_handout_pdf", "get", lambda o: [o.assignment_pk], anonymous=302),
]
PACKET_ROUTES = {"packet", "packet_status"}
ROUTE_IDS = [f"{r.method}-{r.name}" for r in ROUTES]


@pytest.fixture(autouse=True)
def _packets_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.PDF_CACHE_DIR = tmp_path / "pdf-cache"


def _request(client: Client, route: Route, objects: Objects) -> int:
    url = reverse(f"classrooms:{route.name}", args=route.args(objects))
    call = client.post if route.method == "post" else client.get
    status = call(url, route.data(objects)).status_code
    if route.name in PACKET_ROUTES and status == 200:
        # The packet renders in a background thread: let it finish inside this test.
        packet_wait(packet_job(Assignment.objects.get(pk=objects.assignment_pk)), timeout=120)
    return status


def _state() -> tuple[Any, ...]:
    """Everything a pairing or assignment URL could change."""
    return (
        sorted(PairingSession.objects.values_list("pk", "seed")),
        {s.pk: rows(s) for s in PairingSession.objects.all()},
        sorted(PairingConstraint.objects.values_list("pk", "kind")),
        sorted(Assignment.objects.values_list("pk", "status")),
        sorted(PairingSession.absent.through.objects.values_list("pairingsession_id", "user_id")),
    )


def test_it_covers_every_url_of_urls_pairing_and_every_assignment_pdf() -> None:
    from classrooms.urls_pairing import urlpatterns
    from classrooms.urls_pdf import urlpatterns as pdf_urlpatterns

    assignment_pdfs = {p.name for p in pdf_urlpatterns if str(p.pattern).startswith("assignments/")}
    assert assignment_pdfs == {"packet", "packet_status", "packet_pdf", "assignment_handout_pdf"}
    assert {p.name for p in urlpatterns} | assignment_pdfs == {r.name for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_it_answers_only_the_classs_teachers(world: World, persona: str, route: Route) -> None:
    objects = _objects(world, other=False)
    before = _state()
    status = _request(client_for(world, persona), route, objects)
    if persona in TEACHERS:
        assert status == route.ok
    else:
        assert status == (route.anonymous if persona == "anonymous" else 404)
        assert _state() == before


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_it_hides_another_classs_objects_from_a_teacher(world: World, route: Route) -> None:
    other = _objects(world, other=True)
    before = _state()
    assert _request(client_for(world, "teacher"), route, other) == 404
    assert _state() == before
    # ...while their own teacher reaches them.
    assert _request(client_for(world, "other_teacher"), route, other) == route.ok


MIXED: list[tuple[str, str, Callable[[Objects, Objects], list[int]], Callable[[Objects, Objects], dict[str, Any]]]] = [
    ("their havruta", "havruta_lock", lambda m, t: [m.session_pk, t.havruta_pk], lambda m, t: {"locked": "1"}),
    ("their rule", "constraint_delete", lambda m, t: [m.session_pk, t.constraint_pk], lambda m, t: {}),
    ("their student", "pairing_move", lambda m, t: [m.session_pk], lambda m, t: {"student": t.student_pk, "to": "new"}),
    (
        "into their havruta",
        "pairing_move",
        lambda m, t: [m.session_pk],
        lambda m, t: {"student": m.student_pk, "to": str(t.havruta_pk)},
    ),
    (
        "swap with their student",
        "pairing_move",
        lambda m, t: [m.session_pk],
        lambda m, t: {"student": m.student_pk, "to": f"swap:{t.student_pk}"},
    ),
    ("their student", "pairing_absent", lambda m, t: [m.session_pk], lambda m, t: {"student": t.student_pk}),
    ("their student", "pairing_present", lambda m, t: [m.session_pk], lambda m, t: {"student": t.student_pk}),
]


@pytest.mark.parametrize(
    ("label", "name", "args", "data"), MIXED, ids=[f"{name}-{label}" for label, name, _a, _d in MIXED]
)
def test_it_hides_another_classs_objects_inside_my_own_session(
    world: World,
    label: str,
    name: str,
    args: Callable[[Objects, Objects], list[int]],
    data: Callable[[Objects, Objects], dict[str, Any]],
) -> None:
    mine, theirs = _objects(world, other=False), _objects(world, other=True)
    before = _state()
    response = client_for(world, "teacher").post(
        reverse(f"classrooms:{name}", args=args(mine, theirs)), data(mine, theirs)
    )
    assert response.status_code == 404
    assert _state() == before


def test_it_refuses_a_rule_about_a_student_of_another_class(world: World) -> None:
    mine, theirs = _objects(world, other=False), _objects(world, other=True)
    before = _state()
    response = client_for(world, "teacher").post(
        reverse("classrooms:constraint_new", args=[mine.session_pk]),
        {"student_a": mine.student_pk, "student_b": theirs.student_pk, "kind": "apart"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Choose two different students and a rule." in response.content.decode()
    assert _state() == before


def _guessed(objects: Objects) -> Objects:
    return Objects(**{key: 987_654 for key in vars(objects)})


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_it_answers_404_for_guessed_ids(world: World, route: Route) -> None:
    objects = _guessed(_objects(world, other=False))
    assert _request(client_for(world, "teacher"), route, objects) == 404


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_it_answers_404_for_deleted_objects(world: World, route: Route) -> None:
    objects = _objects(world, other=False)
    Assignment.objects.filter(pk=objects.assignment_pk).delete()
    PairingConstraint.objects.filter(pk=objects.constraint_pk).delete()
    PairingSession.objects.filter(pk=objects.session_pk).delete()
    world.classroom.delete()
    assert _request(client_for(world, "teacher"), route, objects) == 404
