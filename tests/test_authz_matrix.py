"""The authorization matrix: every URL and every websocket route of the project, for every persona.

One table (ROUTES for HTTP, WS_ROUTES for websockets) says what each persona gets from each route:
the page (a status, or a redirect within the flow), 404, a redirect to sign in, or close code 4403.
The routes come from the project itself (`get_resolver()` walked recursively: allauth, admin and
the site pages included; the URLRouter of `pop_site.asgi`), so a new route fails
`test_it_classifies_every_url` / `test_it_classifies_every_websocket_route` until it is in the table.

Beyond the verdict, nobody may learn whether an object exists: every persona's answer on the
class's own objects is compared (status, headers, body, with the URL and CSRF token blanked) with
its answer for an id that never existed; and whoever gets in is also asked for another class's
objects, deleted objects, the next sequential id and guessed ids, which must look exactly missing.
Writes are rolled back after each request, so every request sees the same scene.

The per-app matrices (tests/test_classes_access.py, test_pairing_web_access.py, test_ws_access.py,
test_live_sockets.py, test_reflections_privacy.py) test the finer rules of their own URLs; this
file's job is completeness over the whole project.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Model
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.models import User
from classrooms.models import (
    Assignment,
    Classroom,
    CoTeacherInvitation,
    FieldComment,
    Havruta,
    HavrutaMember,
    HelpRequest,
    PairingConstraint,
    PairingSession,
)
from classrooms.selectors_live import worksheet_field_choices
from classrooms.services import classroom_add_teacher
from classrooms.services_live import comment_create, help_request_create
from classrooms.services_pairing import constraint_add
from protocols.models import AgeBand, Practice, Protocol, ProtocolVersion, Stance, Text
from protocols.services import text_create_from_paste
from tests.conftest import PERSONAS, World, client_for
from tests.factories import addr, make_classroom, make_session, make_student, make_teacher
from tests.reflections_fixtures import assign_lesson, end_learning, reflect
from worksheets.models import Worksheet

pytest_plugins = ["tests.ws_fixtures"]  # logins, and the DB-thread cleanup after socket tests
pytestmark = pytest.mark.django_db

MISSING = 987_654
HUGE = 2**63  # one past the largest bigint: a guessed id must not make the database raise

# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ok:
    """Let in: this status; for a redirect within the flow, where it leads (a prefix)."""

    status: int = 200
    location: str = ""


NOT_FOUND = "404"
SIGN_IN = "redirect to sign in"  # /accounts/login/?next=<the URL>, the same for every id
JOIN = "redirect to the class-code page"  # a student's page asked for by a visitor: /join/
ADMIN_SIGN_IN = "redirect to the admin sign-in"  # Django admin: anyone not staff
ADMIN_NO_PERMISSION = "403 from the admin"  # staff without model permissions: Django admin's own answer

Outcome = Ok | str

TEACHERS = ("teacher", "co_teacher")
TEACHER_ROLE = ("teacher", "co_teacher", "other_teacher", "staff")  # staff is a teacher account with is_staff
STUDENTS = ("student", "partner", "classmate", "outsider")
MEMBERS = ("student", "partner")  # the havruta of the worksheet
SESSION_STUDENTS = ("student", "partner", "classmate")  # students of the class's sessions


def who(allowed: Mapping[str, Outcome | int], *, anonymous: Outcome = NOT_FOUND) -> dict[str, Outcome]:
    """Every persona's outcome: `allowed` get in, anonymous gets `anonymous`, everyone else 404."""
    table: dict[str, Outcome] = dict.fromkeys(PERSONAS, NOT_FOUND)
    table["anonymous"] = anonymous
    for persona, outcome in allowed.items():
        table[persona] = Ok(outcome) if isinstance(outcome, int) else outcome
    return table


def only(
    personas: tuple[str, ...] | list[str], ok: Outcome | int = 200, *, anonymous: Outcome = NOT_FOUND
) -> dict[str, Outcome]:
    """`personas` get `ok`, anonymous gets `anonymous`, everyone else 404."""
    return who(dict.fromkeys(personas, ok), anonymous=anonymous)


def everyone(ok: Outcome | int = 200) -> dict[str, Outcome]:
    return who(dict.fromkeys(PERSONAS, ok), anonymous=Ok(ok) if isinstance(ok, int) else ok)


# --------------------------------------------------------------------------------------------
# The scene: one of each object in the class, and the same in another class
# --------------------------------------------------------------------------------------------

# URL placeholders ("kinds") and the model their ids come from (for the next sequential id).
ID_KINDS: dict[str, type[Model]] = {
    "classroom": Classroom,
    "student": User,
    "coteacher": User,
    "invitation": CoTeacherInvitation,
    "session": PairingSession,
    "past": PairingSession,  # an ended session with reflections
    "havruta": Havruta,
    "constraint": PairingConstraint,
    "assignment": Assignment,
    "worksheet": Worksheet,
    "help": HelpRequest,
    "comment": FieldComment,
}
VARIANTS = ("missing", "foreign", "deleted", "sequential", "guessed")


@dataclass
class Scene:
    own: dict[str, Any]  # URL values of the class's objects, plus extra values for POST data
    variants: dict[str, dict[str, Any]]  # variant -> kind -> value (None: no such variant for this kind)
    cookies: dict[str, str | None] = field(default_factory=dict)


def _lesson(classroom: Classroom, teacher: User, groups: list[list[User]]) -> dict[str, Any]:
    """A live session with an assignment, a help request and a comment; an ended one with a reflection."""
    past = make_session(classroom=classroom, groups=groups)
    PairingSession.objects.filter(pk=past.pk).update(date=past.date - datetime.timedelta(days=7))
    past.refresh_from_db()
    assign_lesson(past, teacher)
    end_learning(past, teacher)
    reflect(past, groups[0][0], ratings={"listening": 3}, goal="Ask one question.")
    session = make_session(classroom=classroom, groups=groups)
    _warm_up, main = assign_lesson(session, teacher)
    worksheet = Worksheet.objects.select_related("havruta__session").get(
        assignment=main, havruta__memberships__student=groups[0][0]
    )
    help_request = help_request_create(worksheet=worksheet, student=groups[0][0], note="We are stuck.")
    members = list(HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).select_related("student"))
    field_id = worksheet_field_choices(worksheet=worksheet, members=members)[0].field_id
    comment = comment_create(worksheet=worksheet, by=teacher, field_id=field_id, text="Look at verse 2 again.")
    constraint = constraint_add(classroom=classroom, student_a=groups[0][0], student_b=groups[1][0], kind="apart")
    return {
        "classroom": classroom.pk,
        "code": classroom.join_code,
        "student": groups[0][0].pk,
        "session": session.pk,
        "past": past.pk,
        "havruta": worksheet.havruta_id,
        "constraint": constraint.pk,
        "assignment": main.pk,
        "worksheet": worksheet.pk,
        "help": help_request.pk,
        "comment": comment.pk,
        "field": field_id,
        "other_student": groups[1][0].pk,
    }


def _build_scene(world: World) -> Scene:
    from tests.reflections_fixtures import ensure_library

    ensure_library()
    w = world
    own = _lesson(w.classroom, w.teacher, [[w.student, w.partner], [w.classmate, w.classmate_partner]])
    # world.session stays the class's first session; the live one is the newest not ended.
    own["coteacher"] = w.co_teacher.pk
    own["invitation"] = CoTeacherInvitation.objects.create(
        classroom=w.classroom, email=addr("newcolleague"), token="own-" + "a" * 40, invited_by=w.teacher
    ).pk
    # The invitation link is for other_teacher's (verified) address.
    own["token"] = CoTeacherInvitation.objects.create(
        classroom=w.classroom, email=addr("other"), token="tok-" + "b" * 40, invited_by=w.teacher
    ).token
    own["text"] = text_create_from_paste(owner=w.teacher, title="My own text", hebrew="", english="Mine.").slug
    own["protocol"] = "listening-to-the-text"
    own["second"] = make_classroom(teacher=w.teacher, name="Grade 8 Chumash").pk  # somewhere to move a student
    classroom_add_teacher(classroom=Classroom.objects.get(pk=own["second"]), teacher=w.co_teacher)

    far = [make_student(classroom=w.other_class, name=name) for name in ("Far Partner", "Far One", "Far Two")]
    foreign = _lesson(w.other_class, w.other_teacher, [[w.outsider, far[0]], far[1:]])
    far_co = make_teacher(name="Far Co-teacher")
    classroom_add_teacher(classroom=w.other_class, teacher=far_co)
    foreign["coteacher"] = far_co.pk
    foreign["invitation"] = CoTeacherInvitation.objects.create(
        classroom=w.other_class, email=addr("faraway"), token="far-" + "c" * 40, invited_by=w.other_teacher
    ).pk
    foreign["text"] = text_create_from_paste(
        owner=w.other_teacher, title="Their text", hebrew="", english="Theirs."
    ).slug
    foreign["code"] = None  # another class's code is a working code: the join pages are public
    foreign["token"] = None  # an invitation link is a secret; only used, unknown and deleted ones are probed
    foreign["protocol"] = None  # the library is public

    own.update(_admin_objects(world, locked_session=foreign["past"]))
    deleted = _deleted_ids(world)
    sequential: dict[str, Any] = {
        kind: (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1 for kind, model in ID_KINDS.items()
    }
    sequential["text"] = own["text"] + "-2"
    missing: dict[str, Any] = dict.fromkeys(ID_KINDS, MISSING)
    missing.update(code="ZZZZZZ", token="t" * 43, text="no-such-text", protocol="no-such-protocol")
    missing.update(dict.fromkeys((k for k in own if k.startswith("admin_")), MISSING))
    guessed: dict[str, Any] = dict.fromkeys(ID_KINDS, HUGE)
    return Scene(
        own=own,
        variants={
            "missing": missing,
            "foreign": foreign,
            "deleted": deleted,
            "sequential": sequential,
            "guessed": guessed,
        },
    )


def _admin_objects(world: World, *, locked_session: int) -> dict[str, Any]:
    """One row of each model on the admin site (admin_<app>_<model>), and User's content type."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from reflections.models import ClassPortrait, Portrait, Reflection, ReflectionLock

    version = ProtocolVersion.objects.first()
    assert version is not None
    rows: dict[str, Model | None] = {
        "auth.group": Group.objects.create(name="Editors"),
        "account.emailaddress": EmailAddress.objects.filter(user=world.teacher).first(),
        "accounts.user": world.student,
        "protocols.practice": Practice.objects.first(),
        "protocols.stance": Stance.objects.first(),
        "protocols.ageband": AgeBand.objects.first(),
        "protocols.protocol": Protocol.objects.first(),
        "protocols.protocolversion": version,
        "protocols.text": Text.objects.filter(owner__isnull=True).first(),
        "reflections.reflection": Reflection.objects.first(),
        "reflections.reflectionlock": ReflectionLock.objects.create(
            session_id=locked_session, locked_by=world.other_teacher
        ),
        "reflections.portrait": Portrait.objects.create(student=world.student, protocol_version=version),
        "reflections.classportrait": ClassPortrait.objects.create(classroom=world.classroom),
    }
    assert set(rows) == set(ADMIN_MODELS)
    ids: dict[str, Any] = {"admin_ct": ContentType.objects.get_for_model(User).pk}
    for label, row in rows.items():
        assert row is not None, label
        ids["admin_" + label.replace(".", "_")] = row.pk
    return ids


def _deleted_ids(world: World) -> dict[str, Any]:
    """Ids of objects of the class that existed and were deleted (made last: nothing reuses them)."""
    w = world
    gone_class = make_classroom(teacher=w.teacher, name="Deleted class")
    classroom_add_teacher(classroom=gone_class, teacher=w.co_teacher)
    gone_student = make_student(classroom=w.classroom, name="Gone")
    gone_co = make_teacher(name="Former co-teacher")
    classroom_add_teacher(classroom=w.classroom, teacher=gone_co)
    lesson = _lesson(w.classroom, w.teacher, [[gone_student, w.classmate_partner], [w.classmate, w.partner]])
    invitation = CoTeacherInvitation.objects.create(
        classroom=w.classroom, email=addr("cancelled"), token="del-" + "d" * 40, invited_by=w.teacher
    )
    used = CoTeacherInvitation.objects.create(
        classroom=w.classroom,
        email=addr("used"),
        token="use-" + "e" * 40,
        invited_by=w.teacher,
        accepted_at=datetime.datetime.now(tz=datetime.UTC),
    )
    text = text_create_from_paste(owner=w.teacher, title="Deleted text", hebrew="", english="Gone.")
    ids = {
        **lesson,
        "classroom": gone_class.pk,
        "code": gone_class.join_code,
        "student": gone_student.pk,
        "coteacher": gone_co.pk,
        "invitation": invitation.pk,
        "token": used.token,
        "text": text.slug,
        "protocol": None,
    }
    FieldComment.objects.filter(pk=lesson["comment"]).delete()
    HelpRequest.objects.filter(pk=lesson["help"]).delete()
    PairingConstraint.objects.filter(pk=lesson["constraint"]).delete()
    PairingSession.objects.filter(pk__in=[lesson["session"], lesson["past"]]).delete()
    w.classroom.teacher_links.filter(teacher=gone_co).delete()
    invitation.delete()
    text.delete()
    gone_student.delete()
    gone_class.delete()
    return ids


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the URL name ("namespace:name"), or the route pattern of an unnamed URL
    url: str  # with {kind} placeholders filled from the scene
    who: Mapping[str, Outcome]
    method: str = "get"
    data: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.key}"


def _class_routes() -> list[Route]:
    """Pages of one class (classrooms/views.py): the class's teachers; visitors are sent to sign in."""
    c = "/classes/{classroom}"
    s = c + "/students/{student}"
    t = only(TEACHERS, anonymous=SIGN_IN)
    t302 = only(TEACHERS, 302, anonymous=SIGN_IN)
    return [
        Route("classrooms:detail", c + "/", t),
        Route("classrooms:classroom_edit", c + "/edit/", t),
        Route(
            "classrooms:classroom_edit",
            c + "/edit/",
            t302,
            "post",
            lambda o: {"name": "Renamed", "grade_band": "adult", "language": "en"},
        ),
        Route("classrooms:classroom_archive", c + "/archive/", t302, "post"),
        Route("classrooms:classroom_unarchive", c + "/unarchive/", t302, "post"),
        Route("classrooms:join_code_regenerate", c + "/code/", t),
        Route("classrooms:join_code_regenerate", c + "/code/", t302, "post"),
        Route("classrooms:signin_sheet", c + "/sign-in-sheet/", t),
        Route("classrooms:signin_sheet_pdf", c + "/sign-in-sheet.pdf", t),
        Route("classrooms:roster_add", c + "/roster/add/", t),
        Route("classrooms:roster_add", c + "/roster/add/", t, "post", lambda o: {"names": "Tamar"}),
        Route("classrooms:roster_confirm", c + "/roster/confirm/", t302, "post", lambda o: {"token": "x"}),
        Route("classrooms:student_edit", s + "/edit/", t),
        Route(
            "classrooms:student_edit",
            s + "/edit/",
            t302,
            "post",
            lambda o: {"display_name": "Dana K", "group_label": "Blue"},
        ),
        Route("classrooms:student_reset_pin", s + "/pin/", t),
        Route("classrooms:student_reset_pin", s + "/pin/", t302, "post"),
        Route("classrooms:student_remove", s + "/remove/", t),
        Route("classrooms:student_remove", s + "/remove/", t302, "post", lambda o: {"mode": "keep"}),
        Route("classrooms:student_move", s + "/move/", t),
        Route("classrooms:student_move", s + "/move/", t302, "post", lambda o: {"to_classroom": o["second"]}),
        Route("classrooms:student_export", s + "/export.json", t),
        Route("classrooms:coteacher_invite", c + "/co-teachers/invite/", t),
        Route(
            "classrooms:coteacher_invite",
            c + "/co-teachers/invite/",
            t302,
            "post",
            lambda o: {"email": addr("newcolleague")},
        ),
        Route("classrooms:coteacher_remove", c + "/co-teachers/{coteacher}/remove/", t),
        Route("classrooms:coteacher_remove", c + "/co-teachers/{coteacher}/remove/", t302, "post"),
        Route("classrooms:invitation_cancel", c + "/invitations/{invitation}/cancel/", t302, "post"),
    ]


def _session_routes() -> list[Route]:
    """Pairing sessions, assignments and the live session: the class's teachers; visitors get 404
    (these views have no sign-in redirect), except the printouts, which send visitors to sign in."""
    p = "/pairings/{session}"
    a = "/assignments/{assignment}"
    t = only(TEACHERS)
    t302 = only(TEACHERS, 302)
    printout = only(TEACHERS, anonymous=SIGN_IN)
    return [
        Route("classrooms:pairing_list", "/classes/{classroom}/pairings/", t),
        Route("classrooms:pairing_new", "/classes/{classroom}/pairings/new/", t),
        Route(
            "classrooms:pairing_new",
            "/classes/{classroom}/pairings/new/",
            t302,
            "post",
            lambda o: {"present": [o["student"], o["other_student"]], "method": "rotate", "date": "2026-03-02"},
        ),
        Route("classrooms:pairing_history", "/classes/{classroom}/pairings/history/", t),
        Route("classrooms:assignment_list", "/classes/{classroom}/assignments/", t),
        Route("classrooms:pairing_detail", p + "/", t),
        Route("classrooms:pairing_reshuffle", p + "/reshuffle/", t302, "post"),
        Route("classrooms:pairing_move", p + "/move/", t302, "post", lambda o: {"student": o["student"], "to": "new"}),
        Route("classrooms:pairing_absent", p + "/absent/", t302, "post", lambda o: {"student": o["student"]}),
        Route("classrooms:pairing_present", p + "/present/", t302, "post", lambda o: {"student": o["student"]}),
        Route("classrooms:havruta_lock", p + "/havrutot/{havruta}/lock/", t302, "post", lambda o: {"locked": "1"}),
        Route(
            "classrooms:constraint_new",
            p + "/constraints/",
            t302,
            "post",
            lambda o: {"student_a": o["student"], "student_b": o["other_student"], "kind": "together"},
        ),
        Route("classrooms:constraint_delete", p + "/constraints/{constraint}/delete/", t302, "post"),
        Route("classrooms:assignment_new", p + "/assign/", t),
        Route("classrooms:assignment_detail", a + "/", t),
        Route("classrooms:assignment_close", a + "/close/", t302, "post"),
        Route("classrooms:assignment_reopen", a + "/reopen/", t302, "post"),
        Route("classrooms:assignment_delete", a + "/delete/", t),
        Route("classrooms:assignment_delete", a + "/delete/", t302, "post"),
        Route("classrooms:packet", a + "/packet/", printout),
        Route("classrooms:packet_status", a + "/packet/status/", printout),
        Route("classrooms:packet_pdf", a + "/packet.pdf", printout),
        Route("classrooms:assignment_handout_pdf", a + "/handout.pdf", printout),
        # The live session (issue 6).
        Route("classrooms:live", "/classes/{classroom}/live/", t),
        Route("classrooms:live_panel", p + "/live/worksheets/{worksheet}/panel/", t),
        Route(
            "classrooms:live_comment",
            p + "/live/worksheets/{worksheet}/comments/",
            t302,
            "post",
            lambda o: {"field": o["field"], "text": "Look again."},
        ),
        Route("classrooms:live_broadcast", p + "/live/broadcast/", t302, "post", lambda o: {"message": "Hello"}),
        Route("classrooms:live_timer", p + "/live/timer/", t302, "post", lambda o: {"action": "start", "minutes": "5"}),
        Route("classrooms:live_help_resolve", p + "/live/help/{help}/resolve/", t302, "post"),
        Route("classrooms:live_end", p + "/live/end/", t302, "post"),
        Route("classrooms:live_summary", p + "/live/summary/", t),
        # The havruta's own acts on its worksheet page: its members only (teachers too get 404).
        Route("classrooms:live_help", "/live/worksheets/{worksheet}/help/", only(MEMBERS, 302), "post"),
        Route(
            "classrooms:live_comment_done",
            "/live/worksheets/{worksheet}/comments/{comment}/done/",
            only(MEMBERS, 302),
            "post",
        ),
    ]


def _student_and_site_routes() -> list[Route]:
    code_page = everyone(200)
    return [
        # Site pages (pop_site).
        Route("landing", "/", everyone()),
        Route(
            "home",
            "/home/",
            who(
                dict.fromkeys(STUDENTS, Ok(302, "/me/")) | dict.fromkeys(TEACHER_ROLE, Ok(302, "/classes/")),
                anonymous=SIGN_IN,
            ),
        ),
        Route("about", "/about/", everyone()),
        Route("privacy", "/privacy/", everyone()),
        Route("healthz", "/healthz", everyone()),
        Route(
            "accounts:set_language",
            "/account/language/",
            everyone(Ok(302, "/")),
            "post",
            lambda o: {"language": "he", "next": "/"},
        ),
        # Student sign-in: public, for a working code and a student of that class.
        Route("classrooms:join", "/join/", code_page),
        Route("classrooms:join", "/join/", everyone(Ok(302, "/join/")), "post", lambda o: {"code": o["code"]}),
        Route("classrooms:join_class", "/join/{code}/", code_page),
        Route("classrooms:join_pin", "/join/{code}/{student}/", code_page),
        Route(
            "classrooms:join_pin",
            "/join/{code}/{student}/",
            everyone(Ok(302, "/me/")),
            "post",
            lambda o: {"pin": "1111"},
        ),
        Route("classrooms:student_home", "/me/", only(STUDENTS, anonymous=JOIN)),
        # A teacher's start page, and a new class.
        Route("classrooms:teacher_home", "/classes/", only(TEACHER_ROLE, anonymous=SIGN_IN)),
        Route("classrooms:classroom_new", "/classes/new/", only(TEACHER_ROLE, anonymous=SIGN_IN)),
        # The link in an invitation mail: the invited teacher, or a visitor asked to sign in first.
        Route("classrooms:invitation", "/invitations/{token}/", who({"anonymous": 200, "other_teacher": 200})),
        Route(
            "classrooms:invitation",
            "/invitations/{token}/",
            who({"anonymous": 200, "other_teacher": 302}),
            "post",
        ),
        # The library: public; a teacher's own texts are theirs alone.
        Route("protocols:library", "/protocols/", everyone()),
        Route("protocols:detail", "/protocols/{protocol}/", everyone()),
        Route("protocols:handout_pdf", "/protocols/{protocol}/handout.pdf", everyone()),
        Route("protocols:texts", "/texts/", everyone()),
        Route("protocols:texts_mine", "/texts/mine/", only(TEACHER_ROLE, anonymous=SIGN_IN)),
        Route("protocols:text_new", "/texts/new/", only(TEACHER_ROLE, anonymous=SIGN_IN)),
        Route("protocols:text_detail", "/texts/{text}/", only(["teacher"])),
        Route(
            "protocols:text_share",
            "/texts/{text}/share/",
            only(["teacher"], 302, anonymous=SIGN_IN),
            "post",
            lambda o: {"teacher": o["coteacher"]},
        ),
        Route(
            "protocols:text_unshare",
            "/texts/{text}/unshare/",
            only(["teacher"], 302, anonymous=SIGN_IN),
            "post",
            lambda o: {"teacher": o["coteacher"]},
        ),
        # A havruta's worksheet: its members write, the class's teachers read.
        Route("worksheets:detail", "/worksheets/{worksheet}/", only(MEMBERS + TEACHERS)),
        Route(
            "worksheets:worksheet_pdf",
            "/worksheets/{worksheet}/worksheet.pdf",
            only(MEMBERS + TEACHERS, anonymous=SIGN_IN),
        ),
    ]


def _reflection_routes() -> list[Route]:
    r = "/reflections/session/{past}"
    t = only(TEACHERS)
    return [
        Route(
            "reflections:index", "/reflections/", who(dict.fromkeys(STUDENTS + TEACHER_ROLE, 200), anonymous=SIGN_IN)
        ),
        Route("reflections:reflection", r + "/", only(SESSION_STUDENTS)),
        Route("reflections:autosave", r + "/autosave/", only(SESSION_STUDENTS), "post"),
        Route("reflections:session_overview", r + "/overview/", t),
        Route("reflections:session_lock", r + "/lock/", only(TEACHERS, 302), "post"),
        Route("reflections:session_end", r + "/end/", only(TEACHERS, 302), "post"),
        Route("reflections:reflection_for_teacher", r + "/students/{student}/", t),
        Route("reflections:reflection_pdf_for_teacher", r + "/students/{student}/reflection.pdf", t),
        # A student prints their own; the partner has not reflected (nothing to print: 404 too).
        Route("reflections:reflection_pdf", r + "/reflection.pdf", only(["student"])),
        Route("reflections:student_growth", "/reflections/students/{student}/growth/", only((*TEACHERS, "student"))),
        Route("reflections:student_export_json", "/reflections/students/{student}/export.json", t),
        Route("reflections:class_growth", "/reflections/classes/{classroom}/growth/", t),
        Route("reflections:class_export_csv", "/reflections/classes/{classroom}/export.csv", t),
        Route("reflections:class_portrait", "/reflections/classes/{classroom}/portrait/", t),
        Route("reflections:class_portrait", "/reflections/classes/{classroom}/portrait/", only(TEACHERS, 302), "post"),
        Route("reflections:portrait", "/reflections/portrait/", only(STUDENTS)),
    ]


def _account_routes() -> list[Route]:
    """allauth's pages (teachers sign in with email and password; students never use these)."""
    home = Ok(302, "/home/")
    signed_in = [p for p in PERSONAS if p != "anonymous"]
    teacher_page = only(TEACHER_ROLE, anonymous=SIGN_IN)  # a student's account has no email or password
    return [
        Route("account_login", "/accounts/login/", who(dict.fromkeys(signed_in, home), anonymous=Ok())),
        Route("account_logout", "/accounts/logout/", who(dict.fromkeys(signed_in, 200), anonymous=Ok(302, "/"))),
        Route("account_inactive", "/accounts/inactive/", everyone()),
        Route("account_signup", "/accounts/signup/", who(dict.fromkeys(signed_in, home), anonymous=Ok())),
        Route("account_reauthenticate", "/accounts/reauthenticate/", teacher_page),
        Route("account_email", "/accounts/email/", teacher_page),
        Route("account_email_verification_sent", "/accounts/confirm-email/", everyone()),
        Route("account_change_password", "/accounts/password/change/", teacher_page),
        Route(
            "account_set_password",
            "/accounts/password/set/",
            only(TEACHER_ROLE, Ok(302, "/accounts/password/change/"), anonymous=SIGN_IN),
        ),
        Route("account_reset_password", "/accounts/password/reset/", everyone()),
        Route("account_reset_password_done", "/accounts/password/reset/done/", everyone()),
        Route(
            "account_confirm_login_code",
            "/accounts/login/code/confirm/",
            who(dict.fromkeys(signed_in, home), anonymous=Ok(302, "/accounts/login/")),
        ),
        # Secrets from mails: a wrong one is a page saying so, the same for everyone.
        Route("account_confirm_email", "/accounts/confirm-email/not-a-key/", everyone()),
        Route("account_reset_password_from_key", "/accounts/password/reset/key/1-not-a-key/", everyone()),
        Route("account_reset_password_from_key_done", "/accounts/password/reset/key/done/", everyone()),
    ]


# The models on the admin site, each with an object to ask for. Registering another model fails
# test_it_classifies_every_url until it is added here: the admin shows children's data to staff.
ADMIN_MODELS = (
    "auth.group",
    "account.emailaddress",
    "accounts.user",
    "protocols.practice",
    "protocols.stance",
    "protocols.ageband",
    "protocols.protocol",
    "protocols.protocolversion",
    "protocols.text",
    "reflections.reflection",
    "reflections.reflectionlock",
    "reflections.portrait",
    "reflections.classportrait",
)


def _admin_routes() -> list[Route]:
    """Django's admin: anyone not staff is sent to the admin sign-in, whatever the id. The staff
    persona has no model permission, so the admin answers it 403 on model pages (Django's own
    permission system, the same for existing and missing ids, see ADMIN_HISTORY below)."""

    def staff(outcome: Outcome | int) -> dict[str, Outcome]:
        return dict.fromkeys(PERSONAS, ADMIN_SIGN_IN) | {"staff": Ok(outcome) if isinstance(outcome, int) else outcome}

    no = ADMIN_NO_PERMISSION
    routes = [
        Route("admin:index", "/admin/", staff(200)),
        Route("admin:login", "/admin/login/", everyone() | {"staff": Ok(302, "/admin/")}),
        Route("admin:logout", "/admin/logout/", everyone(Ok(302, "/admin/")) | {"staff": Ok()}, "post"),
        Route("admin:password_change", "/admin/password_change/", staff(200)),
        Route("admin:password_change_done", "/admin/password_change/done/", staff(200)),
        Route("admin:autocomplete", "/admin/autocomplete/", staff(no)),
        Route("admin:jsi18n", "/admin/jsi18n/", staff(200)),
        Route("admin:view_on_site", "/admin/r/{admin_ct}/{admin_accounts_user}/", staff(NOT_FOUND)),
        Route("admin:app_list", "/admin/reflections/", staff(NOT_FOUND)),
        Route("admin/(?P<url>.*)$", "/admin/no-such-page/", staff(NOT_FOUND)),
        Route("admin:auth_user_password_change", "/admin/accounts/user/{admin_accounts_user}/password/", staff(no)),
    ]
    for label in ADMIN_MODELS:
        app, model = label.split(".")
        base = f"/admin/{app}/{model}/"
        obj = base + "{admin_" + f"{app}_{model}" + "}/"
        routes += [
            Route(f"admin:{app}_{model}_changelist", base, staff(no)),
            Route(f"admin:{app}_{model}_add", base + "add/", staff(no)),
            Route(f"admin:{app}_{model}_change", obj + "change/", staff(no)),
            Route(f"admin:{app}_{model}_delete", obj + "delete/", staff(no)),
            Route(f"admin:{app}_{model}_history", obj + "history/", staff(no)),
            # The bare object URL redirects to its change page, for any id.
            Route(f"admin/{app}/{model}/<path:object_id>/", obj, staff(Ok(302, base))),
        ]
    return routes


# Django's admin history view looks the object up before it checks permissions: a staff user
# without permission gets 403 for an existing id and a redirect to the admin index for a missing
# one. Staff only, ids of the admin's own tables; noted here rather than patched in Django's admin.
ADMIN_HISTORY = "_history"


ROUTES: list[Route] = [
    *_student_and_site_routes(),
    *_account_routes(),
    *_class_routes(),
    *_session_routes(),
    *_reflection_routes(),
    *_admin_routes(),
]


# --------------------------------------------------------------------------------------------
# Completeness
# --------------------------------------------------------------------------------------------


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(key, route) of every URL pattern: key is "namespace:name", or the route when unnamed."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).removeprefix("^") if prefix else str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, route, inner)
        elif pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route
        else:
            yield route, route


def _key(url: str) -> str:
    match = resolve(url.split("?")[0])
    return match.view_name if match.url_name else match.route


def test_it_classifies_every_url() -> None:
    every = dict(_walk(get_resolver().url_patterns))
    classified = {r.key for r in ROUTES}
    missing = sorted(set(every) - classified)
    assert not missing, "URLs nobody classified; add them to ROUTES in tests/test_authz_matrix.py:\n" + "\n".join(
        f"  {key}  ({every[key]})" for key in missing
    )
    assert classified - set(every) == set(), "the table names URLs that no longer exist"


# --------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _kinds(template: str) -> list[str]:
    return [name for _text, name, _spec, _conv in string.Formatter().parse(template) if name]


@pytest.fixture
def scene(world: World, settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Scene:
    settings.PDF_CACHE_DIR = tmp_path / "pdf-cache"
    # Who gets a PDF is the question here, not how it looks (tests/test_pdf_*.py): skip the layout.
    import protocols.pdf

    monkeypatch.setattr(protocols.pdf, "HTML", _PlainHTML)
    built = _build_scene(world)
    # The class packet is ready, so its download answers the same whatever ran before it.
    from classrooms.pdf import packet_start, packet_wait

    job, _status = packet_start(Assignment.objects.get(pk=built.own["assignment"]))
    packet_wait(job, timeout=60)
    for persona in PERSONAS:  # sessions made outside the rolled-back requests below
        client = client_for(world, persona)
        cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
        built.cookies[persona] = cookie.value if cookie is not None else None
    return built


class _PlainDocument:
    def __init__(self) -> None:
        self.pages = [object()]
        self.metadata = type("Metadata", (), {})()

    def copy(self, pages: list[object]) -> _PlainDocument:
        return self

    def write_pdf(self, **options: Any) -> bytes:
        return b"%PDF-1.7\n%%EOF\n"


class _PlainHTML:
    def __init__(self, **options: Any) -> None:
        pass

    def render(self, **options: Any) -> _PlainDocument:
        return _PlainDocument()


def _ask(scene: Scene, persona: str, route: Route, url: str) -> Any:
    """The route's request as the persona, in a transaction rolled back afterwards."""
    client = Client(raise_request_exception=False)
    cookie = scene.cookies.get(persona)
    if cookie is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    data = route.data(scene.own) if route.data else {}
    with transaction.atomic():
        response = client.post(url, data) if route.method == "post" else client.get(url)
        transaction.set_rollback(True)
    if response.streaming:  # read it through the test client's wrapper, which closes it safely
        response.content_read = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response


def _face(response: HttpResponse, url: str) -> tuple[Any, ...]:
    """What the visitor sees, with the URL itself and the CSRF token blanked out (and a class
    code or text name from the URL, which a page may echo back: "no class with the code ...")."""
    echoed = [part for part in url.strip("/").split("/") if len(part) > 3 and not part.isdigit()]

    def blank(text: str) -> str:
        for form in (quote(url, safe=""), quote(url), url):
            text = text.replace(form, "{url}")
        for part in echoed:
            text = text.replace(f'value="{part}"', 'value="{echo}"')
        return CSRF_INPUT.sub("{csrf}", text)

    body = "" if response.streaming else blank(response.content.decode("utf-8", "replace"))
    headers = {k: blank(v) for k, v in response.items() if k.lower() not in ("content-length", "expires", "date")}
    return response.status_code, headers, sorted(response.cookies), body


def _difference(ours: tuple[Any, ...], missing: tuple[Any, ...]) -> str:
    """Where two answers differ (status, headers, cookies, body), shortly."""
    names = ("status", "headers", "cookies", "body")
    for name, a, b in zip(names, ours, missing, strict=True):
        if a != b:
            if name == "headers":
                return "headers " + ", ".join(
                    f"{k}: {a.get(k)!r} / {b.get(k)!r}" for k in set(a) | set(b) if a.get(k) != b.get(k)
                )
            if name == "body":
                at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
                return f"body at {at}: {a[max(0, at - 60) : at + 60]!r} / {b[max(0, at - 60) : at + 60]!r}"
            return f"{name} {a!r} / {b!r}"
    return "nothing"


def _verdict(response: HttpResponse, expected: Outcome, url: str) -> str | None:
    """None when the response is the expected outcome, else what was wrong."""
    status = response.status_code
    location = response.get("Location", "")
    if isinstance(expected, Ok):
        if status != expected.status:
            return f"expected {expected.status}, got {status} {location}"
        if expected.location and not location.startswith(expected.location):
            return f"expected a redirect to {expected.location}, got {location}"
        return None
    wanted = {
        NOT_FOUND: (404, None),
        SIGN_IN: (302, "/accounts/login/?next=" + quote(url.split("?")[0], safe="/")),
        JOIN: (302, "/join/"),
        ADMIN_SIGN_IN: (302, "/admin/login/?next=" + quote(url, safe="/")),
        ADMIN_NO_PERMISSION: (403, None),
    }[expected]
    if status != wanted[0] or (wanted[1] is not None and location != wanted[1]):
        return f"expected {expected}, got {status} {location}"
    return None


def _variant_urls(route: Route, scene: Scene) -> Iterator[tuple[str, str, str]]:
    """(shape, variant, url): every id of the URL replaced ("all"), and only the last one ("last")."""
    kinds = _kinds(route.url)
    shapes = ([("all", kinds)] if kinds else []) + ([("last", kinds[-1:])] if len(kinds) > 1 else [])
    for shape, replaced in shapes:
        for variant in VARIANTS:
            values = {kind: scene.variants[variant].get(kind) for kind in replaced}
            if all(value is not None for value in values.values()):
                yield shape, variant, route.url.format_map({**scene.own, **values})


def _check(scene: Scene, persona: str, route: Route) -> list[str]:
    problems: list[str] = []
    expected = route.who[persona]
    url = route.url.format_map(scene.own)
    response = _ask(scene, persona, route, url)
    problem = _verdict(response, expected, url)
    if problem:
        problems.append(f"{route.id} {url}: {problem}")
    admin = route.key.startswith("admin")
    # Whoever gets in is asked for every other id too; the admin's ids are not a class's.
    let_in = isinstance(expected, Ok) and not admin
    references: dict[str, tuple[Any, ...]] = {}
    for shape, variant, other in _variant_urls(route, scene):
        if variant != "missing" and not let_in:
            continue
        answer = _ask(scene, persona, route, other)
        face = _face(answer, other)
        if variant == "missing":
            references[shape] = face
        if let_in and answer.status_code != 404:
            problems.append(f"{route.id} {other} ({variant} id): expected 404, got {answer.status_code}")
        elif let_in and face != references[shape]:
            problems.append(f"{route.id} {other} ({variant} id) looks different from a missing id")
    # Whoever is refused (or sent to sign in) must get exactly what a missing id gets.
    exempt = admin and persona == "staff" and route.key.endswith(ADMIN_HISTORY)
    if not let_in and "all" in references and not exempt and _face(response, url) != references["all"]:
        problems.append(
            f"{route.id} {url}: answers {persona} differently than for a missing id: "
            + _difference(_face(response, url), references["all"])
        )
    return problems


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_answers_every_route_as_classified(scene: Scene, persona: str) -> None:
    problems = [problem for route in ROUTES for problem in _check(scene, persona, route)]
    assert not problems, f"{len(problems)} answers for {persona} differ from the matrix:\n" + "\n".join(problems)


def test_it_requests_the_url_it_classifies(scene: Scene) -> None:
    wrong = {route.id: _key(route.url.format_map(scene.own)) for route in ROUTES}
    assert {name: key for name, key in wrong.items() if not name.endswith(" " + key)} == {}


# --------------------------------------------------------------------------------------------
# Websockets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WsRoute:
    name: str  # the route's name in its app's routing.py
    path: str
    allowed: tuple[str, ...]  # everyone else gets close code 4403, before anything is sent


WS_ROUTES = [
    WsRoute("worksheet_shared", "/ws/worksheets/{worksheet}/", MEMBERS + TEACHERS),
    WsRoute("worksheet_personal", "/ws/worksheets/{worksheet}/students/{member}/", MEMBERS + TEACHERS),
    WsRoute("worksheet_events", "/ws/worksheets/{worksheet}/events/", MEMBERS + TEACHERS),
    WsRoute("live_dashboard", "/ws/classes/{classroom}/live/", TEACHERS),
]


def _ws_names(app: Any) -> Iterator[str]:
    """The name of every websocket route behind an ASGI app (routers and middleware unwrapped)."""
    from channels.routing import ProtocolTypeRouter, URLRouter

    if isinstance(app, ProtocolTypeRouter):
        yield from _ws_names(app.application_mapping.get("websocket"))
    elif isinstance(app, URLRouter):
        for route in app.routes:
            if isinstance(route.callback, URLRouter):
                yield from _ws_names(route.callback)
            else:
                yield route.name or str(route.pattern)
    else:
        for attribute in ("application", "inner"):
            if getattr(app, attribute, None) is not None:
                yield from _ws_names(getattr(app, attribute))


def test_it_classifies_every_websocket_route() -> None:
    from pop_site.asgi import application

    every = list(_ws_names(application))
    assert every, "no websocket route found behind pop_site.asgi.application"
    assert sorted(every) == sorted(r.name for r in WS_ROUTES), (
        "websocket routes and WS_ROUTES differ; classify the new route in tests/test_authz_matrix.py"
    )


def _ws_scene(world: World) -> dict[str, dict[str, Any]]:
    from tests.ws_helpers import make_worksheet

    own = {"worksheet": make_worksheet(world=world).pk, "member": world.student.pk, "classroom": world.classroom.pk}
    far = make_student(classroom=world.other_class, name="Far Partner")
    far_session = make_session(classroom=world.other_class, groups=[[world.outsider, far]])
    foreign = {
        "worksheet": make_worksheet(world=world, classroom=world.other_class, session=far_session).pk,
        "member": world.outsider.pk,
        "classroom": world.other_class.pk,
    }
    gone_sheet = make_worksheet(world=world, havruta_number=2)
    gone_student = make_student(classroom=world.classroom, name="Gone")
    gone_class = make_classroom(teacher=world.teacher, name="Deleted class")
    deleted = {"worksheet": gone_sheet.pk, "member": gone_student.pk, "classroom": gone_class.pk}
    gone_sheet.delete()
    gone_student.delete()
    gone_class.delete()
    models: dict[str, type[Model]] = {"worksheet": Worksheet, "member": User, "classroom": Classroom}
    sequential = {
        kind: (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1 for kind, model in models.items()
    }
    return {
        "own": own,
        "missing": dict.fromkeys(own, MISSING),
        "foreign": foreign,
        "deleted": deleted,
        "sequential": sequential,
        "guessed": dict.fromkeys(own, 10**30),
    }


async def _ws_answer(path: str, client: Client) -> tuple[Any, ...]:
    """("open",) when the first thing the socket sends is data, else ("close", code, reason)."""
    from tests.ws_helpers import communicator

    comm = communicator(path, client)
    connected, _ = await comm.connect()
    assert connected, "accept-then-close: the browser must be able to read the close code"
    first = await comm.receive_output(timeout=5)
    await comm.disconnect()
    if first["type"] == "websocket.close":
        return ("close", first.get("code"), first.get("reason"))
    return ("open",)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_opens_every_websocket_only_as_classified(world: World, logins: dict[str, Client]) -> None:
    scenes = await sync_to_async(_ws_scene)(world)
    own = scenes["own"]
    problems: list[str] = []
    for route in WS_ROUTES:
        kinds = _kinds(route.path)
        shapes = [kinds] + ([kinds[-1:]] if len(kinds) > 1 else [])
        for persona in PERSONAS:
            path = route.path.format_map(own)
            answer = await _ws_answer(path, logins[persona])
            allowed = persona in route.allowed
            if answer != (("open",) if allowed else ("close", 4403, answer[-1])):
                problems.append(f"{route.name} {path} as {persona}: {answer}")
            for shape in shapes:
                missing_path = route.path.format_map({**own, **{k: scenes["missing"][k] for k in shape}})
                missing = await _ws_answer(missing_path, logins[persona])
                if missing[:2] != ("close", 4403):
                    problems.append(f"{route.name} {missing_path} as {persona}: {missing}")
                if not allowed:
                    if shape == kinds and answer != missing:
                        problems.append(f"{route.name} {path} as {persona}: {answer}, a missing id {missing}")
                    continue
                for variant in ("foreign", "deleted", "sequential", "guessed"):
                    other = route.path.format_map({**own, **{k: scenes[variant][k] for k in shape}})
                    got = await _ws_answer(other, logins[persona])
                    if got != missing:
                        problems.append(f"{route.name} {other} ({variant}) as {persona}: {got}, missing {missing}")
    assert not problems, "\n".join(problems)
