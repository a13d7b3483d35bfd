"""A student with something stored in every place the product keeps data (tests/test_privacy_*.py).

`full_trace(world)` renames the world's student to a name found nowhere else, then stores their work
the way the product does: a lesson assigned through the services (Warm Up + Listening to the
Text), shared and personal worksheet documents written as Yjs updates by two browser-like clients
(every insert carries {"a": "<user id>"}, PROTOCOL.md) into the update log, one of them compacted into
a snapshot, answers materialised by the worksheet service, reflections and an appreciation through
the reflections services, a portrait and a class-portrait line, a pairing rule, an absent mark, a
help request and a teacher comment (when the live session's models exist), a signed-in session, an
admin log entry and a sign-in rate-limit counter.

Every sentence the student wrote is unique, so a test can look for it in every table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycrdt
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from accounts.models import User
from classrooms.models import Enrollment, PairingConstraint, PairingSession
from classrooms.services import STUDENT_SIGNIN_LIMIT, student_update
from reflections.services import class_portrait_save, portrait_save
from tests.conftest import World
from tests.factories import make_session
from tests.reflections_fixtures import assign_lesson, end_learning, reflect
from worksheets import persistence
from worksheets.models import DocUpdate, Worksheet
from worksheets.persistence import RoomKey
from worksheets.selectors import protocol_fields
from worksheets.services import answers_materialise

NAME = "Zephyrine Quillfeather"
# What the student wrote (each sentence appears nowhere else).
SHARED_TEXT = "the smoke rose like a violet ladder"
SHARED_ENTRY = "we pass the violet pencil in turns"
DETAIL_ENTRY = "marble firstlings by the gate"
PERSONAL = "I get stuck when the room hums orange"
APPRECIATION = "thank you for the lantern questions"
GOAL = "ask one lantern question every lesson"
PORTRAIT_LINE = "a strong partner waits for the quiet thinker"
HELP_NOTE = "we are lost in verse nine said the owl"
# What the partner wrote.
PARTNER_TEXT = "Cain brought fruit and Abel brought the flock."
PARTNER_ENTRY = "we listen to the very end"
PARTNER_PORTRAIT_LINE = "a strong partner repeats the idea back"
PARTNER_APPRECIATION = "thanks for reading slowly with me"

SHARED_SENTENCES = (SHARED_TEXT, SHARED_ENTRY, DETAIL_ENTRY)
PRIVATE_SENTENCES = (PERSONAL, APPRECIATION, GOAL)


def _attrs(user: User) -> dict[str, str]:
    return {"a": str(user.pk)}


def append_text(key: str, text: str, user: User, at: int | None = None) -> Callable[[pycrdt.Doc], None]:
    def change(doc: pycrdt.Doc) -> None:
        field_ = doc.get(key, type=pycrdt.Text)
        length = len(str(field_).encode())  # pycrdt counts UTF-8 bytes
        field_.insert(length if at is None else min(at, length), text, _attrs(user))

    return change


def add_entry(key: str, text: str, user: User) -> Callable[[pycrdt.Doc], None]:
    def change(doc: pycrdt.Doc) -> None:
        entries = doc.get(key, type=pycrdt.Array)
        entries.append(pycrdt.Text())
        entries[len(entries) - 1].insert(0, text, _attrs(user))

    return change


def choose(key: str, value: str) -> Callable[[pycrdt.Doc], None]:
    def change(doc: pycrdt.Doc) -> None:
        doc.get(key, type=pycrdt.Map)["value"] = value

    return change


class DocWriter:
    """Browser-like clients of one worksheet document: each edit becomes one committed log row."""

    def __init__(self, worksheet: Worksheet, users: list[User], owner: User | None = None) -> None:
        self.worksheet = worksheet
        self.owner = owner
        self.docs = {user.pk: pycrdt.Doc() for user in users}

    def edit(self, user: User, change: Callable[[pycrdt.Doc], None]) -> bytes:
        doc = self.docs[user.pk]
        before = doc.get_state()
        change(doc)
        update = doc.get_update(before)
        DocUpdate.objects.create(
            worksheet=self.worksheet, student=self.owner, data=update, author=user, created_at=timezone.now()
        )
        for other in self.docs.values():
            if other is not doc:
                other.apply_update(update)
        return update

    def materialise(self) -> None:
        scope = "shared" if self.owner is None else "personal"
        update = persistence.doc_update(
            worksheet_id=self.worksheet.pk, student_id=self.owner.pk if self.owner else None
        )
        assert update is not None
        answers_materialise(
            worksheet_id=self.worksheet.pk,
            student_id=self.owner.pk if self.owner else None,
            update=update,
            fields=protocol_fields(self.worksheet, scope=scope),
            edited_at=timezone.now(),
        )


@dataclass
class Trace:
    world: World
    student: User
    warm_up: Worksheet
    text_sheet: Worksheet
    client: Client  # signed in as the student (a session row exists)
    extra: dict[str, Any] = field(default_factory=dict)


def full_trace(world: World) -> Trace:
    student, partner = world.student, world.partner
    student_update(enrollment=Enrollment.objects.get(student=student), display_name=NAME, group_label="Blue")
    student.refresh_from_db()
    warm_up_assignment, text_assignment = assign_lesson(world.session, world.teacher)
    warm_up = Worksheet.objects.get(assignment=warm_up_assignment, havruta__memberships__student=student)
    text_sheet = Worksheet.objects.get(assignment=text_assignment, havruta__memberships__student=student)

    # The Warm Up: intentions written by both, then compacted into a snapshot (as the server does).
    shared = DocWriter(warm_up, [student, partner])
    shared.edit(partner, add_entry("our_intentions", PARTNER_ENTRY, partner))
    shared.edit(student, add_entry("our_intentions", SHARED_ENTRY, student))
    shared.edit(student, choose("kept_promises", "yes"))
    persistence.compact_room(RoomKey(warm_up.pk))
    shared.edit(partner, append_text("promise_example", "We waited. ", partner))
    shared.materialise()
    mine = DocWriter(warm_up, [student], owner=student)
    mine.edit(student, append_text("hard_for_me", PERSONAL, student))
    mine.materialise()
    theirs = DocWriter(warm_up, [partner], owner=partner)
    theirs.edit(partner, append_text("hard_for_me", "Long words.", partner))
    theirs.materialise()

    # The text study: the student writes into the middle of the partner's sentence, and a list entry.
    study = DocWriter(text_sheet, [student, partner])
    study.edit(partner, append_text("possible_meaning", PARTNER_TEXT, partner))
    study.edit(student, append_text("possible_meaning", f" {SHARED_TEXT} ", student, at=10))
    study.edit(student, add_entry("details", DETAIL_ENTRY, student))
    study.edit(partner, add_entry("details", "verse 4: the firstlings", partner))
    study.materialise()

    end_learning(world.session, world.teacher)
    reflect(world.session, student, goal=GOAL, appreciation=APPRECIATION, send=True, ratings={"listening": 3})
    reflect(world.session, partner, appreciation=PARTNER_APPRECIATION, send=True, ratings={"listening": 2})
    portrait_save(student=student, answers={"portrait_partner": [PORTRAIT_LINE]})
    portrait_save(student=partner, answers={"portrait_partner": [PARTNER_PORTRAIT_LINE]})
    class_portrait_save(
        classroom=world.classroom,
        by=world.teacher,
        items=[{"corner": "partner", "text": PORTRAIT_LINE}, {"corner": "partner", "text": PARTNER_PORTRAIT_LINE}],
    )

    PairingConstraint.objects.create(
        classroom=world.classroom, student_a=student, student_b=world.classmate, kind=PairingConstraint.Kind.KEEP_APART
    )
    later: PairingSession = make_session(classroom=world.classroom, groups=[[partner, world.classmate]])
    later.absent.add(student)

    extra: dict[str, Any] = {}
    try:
        help_model = apps.get_model("classrooms.HelpRequest")
        comment_model = apps.get_model("classrooms.FieldComment")
    except LookupError:  # the live session's models are not part of this version
        pass
    else:
        extra["help"] = help_model.objects.create(
            havruta=warm_up.havruta, worksheet=warm_up, student=student, note=HELP_NOTE
        )
        extra["comment"] = comment_model.objects.create(
            worksheet=warm_up, field_id=f"student-{student.pk}:hard_for_me", text="Say more?", author=world.teacher
        )
        extra["shared_comment"] = comment_model.objects.create(
            worksheet=warm_up, field_id="shared:our_intentions", text="Good promises.", author=world.teacher
        )

    LogEntry.objects.create(
        user=world.staff,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(student.pk),
        object_repr=str(student),
        action_flag=CHANGE,
        change_message="[]",
    )
    STUDENT_SIGNIN_LIMIT.hit(str(student.pk))
    client = Client()
    client.force_login(student)
    return Trace(world=world, student=student, warm_up=warm_up, text_sheet=text_sheet, client=client, extra=extra)


# --- looking for what is left --------------------------------------------------------------------------

TEXT_TYPES = ("CharField", "TextField", "JSONField", "EmailField", "SlugField", "URLField")


def _as_text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _fields_of(worksheet_id: int | None) -> list[dict[str, Any]]:
    worksheet = Worksheet.objects.filter(pk=worksheet_id).select_related("assignment__protocol_version").first()
    if worksheet is None:
        return []
    return [f for f in (worksheet.assignment.protocol_version.data or {}).get("fields", []) if f.get("key")]


def _doc_text(data: bytes, fields: list[dict[str, Any]]) -> str:
    """Every string of a worksheet document (texts, list entries, map values), read by its layout."""
    doc = pycrdt.Doc()
    doc.apply_update(data)
    roots = set(doc.keys())
    found: list[str] = []
    for spec in fields:
        key, kind = spec["key"], spec.get("kind", "")
        if key not in roots:
            continue
        if kind in ("short_text", "long_text"):
            found.append(str(doc.get(key, type=pycrdt.Text)))
        elif kind == "list":
            found.extend(str(entry) for entry in doc.get(key, type=pycrdt.Array))
        else:
            found.extend(str(value) for value in doc.get(key, type=pycrdt.Map).values())
    return "\n".join(found)


def find_traces(user_id: int, needles: tuple[str, ...]) -> list[str]:
    """Every row of every table that references the user id or contains one of `needles`.

    Foreign keys and many-to-many rows pointing at the user; text and JSON fields containing a
    needle or "student-<id>:" (how live comments name a personal box); Yjs documents whose text
    contains a needle or that still carry the author attribute {"a": "<id>"}; sign-in sessions of
    the user.
    """
    from django.contrib.sessions.models import Session
    from django.db import models

    from worksheets.scrub import authored_parts

    found: list[str] = []
    user_model = apps.get_model("accounts.User")
    box = f"student-{user_id}:"
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label
        for fld in model._meta.concrete_fields:
            points_at_user = fld.is_relation and fld.related_model is user_model
            if points_at_user and model.objects.filter(**{fld.attname: user_id}).exists():
                found.append(f"{label}.{fld.name} -> user {user_id}")
        if model is user_model and model.objects.filter(pk=user_id).exists():
            found.append(f"{label} row {user_id}")
        text_fields = [f.attname for f in model._meta.concrete_fields if f.get_internal_type() in TEXT_TYPES]
        for row in model.objects.values_list("pk", *text_fields) if text_fields else []:
            for name, value in zip(text_fields, row[1:], strict=True):
                text = _as_text(value)
                for needle in (*needles, box):
                    if needle and needle in text:
                        found.append(f"{label}.{name} (pk {row[0]}) contains {needle!r}")
        binary = [f.attname for f in model._meta.concrete_fields if isinstance(f, models.BinaryField)]
        has_worksheet = any(f.attname == "worksheet_id" for f in model._meta.concrete_fields)
        columns = [*binary, *(["worksheet_id"] if has_worksheet else [])]
        for row in model.objects.values_list("pk", *columns) if binary else []:
            fields = _fields_of(row[-1]) if has_worksheet else []
            for name, value in zip(binary, row[1 : 1 + len(binary)], strict=True):
                data = bytes(value)
                text = _doc_text(data, fields) if fields else ""
                for needle in needles:
                    if needle in text or needle.encode() in data:
                        found.append(f"{label}.{name} (pk {row[0]}) holds {needle!r}")
                if f'"{user_id}"'.encode() in data:
                    found.append(f"{label}.{name} (pk {row[0]}) carries the author attribute of {user_id}")
                if fields and authored_parts(data, fields, user_id):
                    found.append(f"{label}.{name} (pk {row[0]}) has text attributed to {user_id}")
    for session in Session.objects.all():
        if str(session.get_decoded().get("_auth_user_id", "")) == str(user_id):
            found.append(f"session {session.session_key[:6]}… signs in user {user_id}")
    return found
