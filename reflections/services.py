"""Writes for reflections, self-assessments, portraits and the class portrait.

A student's reflection is started (``reflection_start``) the first time they open it after the
teacher ends the learning phase, and saved whole (``reflection_save``) by the plain form and by
the autosave endpoint alike: the same input twice leaves the same state and writes nothing the
second time, which is what makes autosave safe to repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.models import Classroom, GradeBand, Havruta, PairingSession
from protocols.models import Protocol, ProtocolVersion
from reflections.answers import TEXT_MAX, Problem, clean_answers, fields_of, option_values, scale_points
from reflections.models import ClassPortrait, GoalMet, Kept, Portrait, Reflection, ReflectionLock

REFLECTION_SLUG = "reflection-questions"
PORTRAIT_SLUG = "portrait-of-a-learning-partner"
# The class's grade band picks the self-assessment: 3 faces for younger students, 4 points for older.
ASSESSMENT_SLUGS = {
    GradeBand.UPPER_ELEMENTARY: "self-assessment-younger",
    GradeBand.MIDDLE_SCHOOL: "self-assessment-younger",
    GradeBand.HIGH_SCHOOL: "self-assessment",
    GradeBand.ADULT: "self-assessment",
}
# Both protocols ask for an appreciation; the reflection keeps one, with its own "send" choice.
SKIP_TAGS = ("appreciation",)
CLASS_PORTRAIT_CORNERS = ("self", "partner", "text")
CLASS_PORTRAIT_MAX_ITEMS = 60


class ReflectionNotOpen(Exception):
    """The teacher has not ended the learning phase yet, or has locked the session's reflections."""


class ReflectionLocked(Exception):
    """The teacher locked the session's reflections: nothing can be changed any more."""


class LibraryMissing(Exception):
    """The protocol library is not loaded (run ``manage.py library_load`` or ``demo``)."""


@dataclass
class ReflectionInput:
    """Everything the reflection form sends, already split by section (forms.py builds it)."""

    reflection: dict[str, Any] = field(default_factory=dict)
    assessment: dict[str, Any] = field(default_factory=dict)
    intentions: list[dict[str, str]] = field(default_factory=list)
    previous_goal_met: str = ""
    appreciation: str = ""
    send_appreciation: bool = False


# --------------------------------------------------------------------------------------------
# Versions and the learning phase
# --------------------------------------------------------------------------------------------


def _current_version(slug: str) -> ProtocolVersion:
    from protocols.services import protocol_version_current  # the library app owns versioning

    try:
        protocol = Protocol.objects.get(slug=slug)
    except Protocol.DoesNotExist:
        raise LibraryMissing(slug) from None
    return protocol_version_current(protocol=protocol)


def assessment_slug_for(classroom: Classroom) -> str:
    return ASSESSMENT_SLUGS.get(classroom.grade_band, "self-assessment")  # type: ignore[call-overload]


def session_end_learning(*, session: PairingSession, by: User) -> PairingSession:
    """End the learning phase of a session: worksheets become read-only and reflections open.

    Ending twice keeps the first time. (The live teacher session may later call this too.)
    """
    if session.ended_at is None:
        session.ended_at = timezone.now()
        session.save(update_fields=["ended_at"])
        # Live: open worksheets turn read-only and send their students here (classrooms/services_live.py).
        from classrooms.services_live import live_session_ended

        live_session_ended(session=session)
    return session


def session_is_locked(session: PairingSession) -> bool:
    return ReflectionLock.objects.filter(session=session).exists()


@transaction.atomic
def reflections_lock(*, session: PairingSession, by: User) -> int:
    """Lock every reflection of the session (and any not started yet). Returns how many were locked."""
    ReflectionLock.objects.get_or_create(session=session, defaults={"locked_by": by})
    return Reflection.objects.filter(session=session, locked=False).update(locked=True)


@transaction.atomic
def reflections_unlock(*, session: PairingSession, by: User) -> int:
    ReflectionLock.objects.filter(session=session).delete()
    return Reflection.objects.filter(session=session, locked=True).update(locked=False)


# --------------------------------------------------------------------------------------------
# Reflections
# --------------------------------------------------------------------------------------------


def reflection_start(*, student: User, havruta: Havruta) -> Reflection:
    """The student's reflection on the havruta's session, created on first use.

    Creation freezes what the reflection asks: the protocol versions (the self-assessment
    variant follows the class's grade band), the havruta's Warm Up intentions word for word,
    and the goal the student set last time. Raises ReflectionNotOpen before the teacher ends
    the learning phase and after they lock the session.
    """
    from reflections.selectors import intentions_for_havruta, previous_goal_for

    session = havruta.session
    existing = Reflection.objects.filter(student=student, session=session).first()
    if existing is not None:
        return existing
    if session.ended_at is None or session_is_locked(session):
        raise ReflectionNotOpen
    reflection_version = _current_version(REFLECTION_SLUG)
    assessment_version = _current_version(assessment_slug_for(session.classroom))
    intentions = intentions_for_havruta(havruta=havruta)
    previous = previous_goal_for(student=student, before=session)
    try:
        with transaction.atomic():
            return Reflection.objects.create(
                student=student,
                session=session,
                havruta=havruta,
                reflection_version=reflection_version,
                assessment_version=assessment_version,
                intentions=[{"text": text, "kept": "", "evidence": "", "next_time": ""} for text in intentions.items]
                if intentions
                else [],
                intentions_session=intentions.session if intentions else None,
                previous_goal=previous[1] if previous else "",
                previous_goal_from=previous[0] if previous else None,
            )
    except IntegrityError:  # the autosave and the page opened it at the same moment
        return Reflection.objects.get(student=student, session=session)


def _field_label(field_spec: Mapping[str, Any]) -> str:
    return str(field_spec.get("label") or field_spec.get("key"))


def problem_message(problem: Problem, field_spec: Mapping[str, Any]) -> str:
    """A sentence the student can act on, naming the question and what is allowed."""
    label = _field_label(field_spec)
    if problem.code == "not_a_point":
        labels = {p.get("value"): p.get("label", "") for p in field_spec.get("scale") or []}
        points = ", ".join(f"{value} ({labels.get(value, '')})" for value in scale_points(field_spec))
        return _("“%(question)s”: %(value)s is not on the scale. Choose one of %(points)s.") % {
            "question": label,
            "value": str(problem.value)[:20],
            "points": points,
        }
    if problem.code == "not_an_option":
        return _("“%(question)s”: choose one of the answers offered (%(options)s).") % {
            "question": label,
            "options": ", ".join(option_values(field_spec)),
        }
    if problem.code == "too_long":
        return _("“%(question)s” is too long: keep it under %(max)d characters.") % {"question": label, "max": TEXT_MAX}
    return _("“%(question)s” must be written as text.") % {"question": label}


def _clean_section(
    version: ProtocolVersion, raw: Mapping[str, Any], prefix: str, errors: dict[str, list[str]]
) -> dict[str, Any]:
    fields = fields_of(version.data, skip_tags=SKIP_TAGS)
    cleaned, problems = clean_answers(fields, raw)
    by_key = {f["key"]: f for f in fields}
    for problem in problems:
        errors.setdefault(f"{prefix}-{problem.key}", []).append(problem_message(problem, by_key[problem.key]))
    return cleaned


def _text(value: Any, name: str, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str):
        errors.setdefault(name, []).append(_("This answer must be written as text."))
        return ""
    if len(value) > TEXT_MAX:
        errors.setdefault(name, []).append(_("Keep this under %(max)d characters.") % {"max": TEXT_MAX})
        return ""
    return value.strip()


def _clean_intentions(reflection: Reflection, rows: list[dict[str, str]], errors: dict[str, list[str]]) -> list[dict]:
    cleaned = []
    for index, stored in enumerate(reflection.intentions):
        row = rows[index] if index < len(rows) else {}
        kept = row.get("kept") or ""
        if kept and kept not in Kept.values:
            errors.setdefault(f"intention-{index}-kept", []).append(
                _("Choose yes, partly or not this time for “%(intention)s”.") % {"intention": stored["text"]}
            )
            kept = ""
        cleaned.append(
            {
                "text": stored["text"],  # never from the form: the intention stays word for word
                "kept": kept,
                "evidence": _text(row.get("evidence") or "", f"intention-{index}-evidence", errors),
                "next_time": _text(row.get("next_time") or "", f"intention-{index}-next_time", errors),
            }
        )
    return cleaned


def reflection_is_editable(reflection: Reflection) -> bool:
    return not reflection.locked and not session_is_locked(reflection.session)


@transaction.atomic
def reflection_save(
    *, reflection: Reflection, by: User, data: ReflectionInput, submit: bool = False
) -> tuple[Reflection, bool]:
    """Replace the reflection's answers with ``data``; returns the reflection and whether anything changed.

    Every answer is checked against the frozen protocol versions: a rating off the scale, an
    unknown option or an over-long answer raises ValidationError (keyed by form field name) and
    nothing is stored. ``submit`` marks the reflection handed in (it stays editable until the
    teacher locks the session). A sent appreciation becomes visible to the partner once the
    reflection is submitted; unticking "send" takes it back.
    """
    if by.pk != reflection.student_id:
        raise PermissionError("Only the student writes their reflection.")
    reflection = Reflection.objects.select_for_update().select_related("session").get(pk=reflection.pk)
    if not reflection_is_editable(reflection):
        raise ReflectionLocked
    errors: dict[str, list[str]] = {}
    reflection_answers = _clean_section(reflection.reflection_version, data.reflection, "r", errors)
    assessment_answers = _clean_section(reflection.assessment_version, data.assessment, "a", errors)
    intentions = _clean_intentions(reflection, data.intentions, errors)
    goal_met = data.previous_goal_met or ""
    if goal_met and (goal_met not in GoalMet.values or not reflection.previous_goal):
        errors.setdefault("previous_goal_met", []).append(_("Choose yes, partly or not yet."))
        goal_met = ""
    appreciation = _text(data.appreciation, "appreciation", errors)
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    submitted_at = reflection.submitted_at or (now if submit else None)
    visible = bool(data.send_appreciation and appreciation and submitted_at)
    sent_at = (reflection.appreciation_sent_at or now) if visible else None
    new = {
        "reflection_answers": reflection_answers,
        "assessment_answers": assessment_answers,
        "intentions": intentions,
        "previous_goal_met": goal_met,
        "appreciation": appreciation,
        "send_appreciation": bool(data.send_appreciation),
        "submitted_at": submitted_at,
        "appreciation_sent_at": sent_at,
    }
    changed = [name for name, value in new.items() if getattr(reflection, name) != value]
    if not changed:
        return reflection, False
    for name in changed:
        setattr(reflection, name, new[name])
    reflection.save(update_fields=[*changed, "updated_at"])
    return reflection, True


# --------------------------------------------------------------------------------------------
# Portraits
# --------------------------------------------------------------------------------------------


def portrait_fields(version: ProtocolVersion) -> list[dict[str, Any]]:
    """What a student writes alone in their portrait (the pair's combined portrait is a worksheet's)."""
    return fields_of(version.data)


def portrait_version(*, portrait: Portrait | None, start_new: bool = False) -> ProtocolVersion:
    """The protocol version a portrait is written against: its own, or the library's current one."""
    if portrait is not None and not start_new:
        return portrait.protocol_version
    return _current_version(PORTRAIT_SLUG)


@transaction.atomic
def portrait_save(
    *, student: User, answers: Mapping[str, Any], portrait: Portrait | None = None, start_new: bool = False
) -> Portrait:
    """Save the student's portrait: their latest one is updated, or a new one is started to track change."""
    if not student.is_student:
        raise PermissionError("Portraits belong to students.")
    if portrait is not None and portrait.student_id != student.pk:
        raise PermissionError("A student edits only their own portrait.")
    version = portrait_version(portrait=portrait, start_new=start_new)
    fields = portrait_fields(version)
    cleaned, problems = clean_answers(fields, answers)
    if problems:
        by_key = {f["key"]: f for f in fields}
        raise ValidationError({f"p-{p.key}": [problem_message(p, by_key[p.key])] for p in problems})
    if portrait is None or start_new:
        return Portrait.objects.create(student=student, protocol_version=version, answers=cleaned)
    if portrait.answers != cleaned:
        portrait.answers = cleaned
        portrait.save(update_fields=["answers", "updated_at"])
    return portrait


@transaction.atomic
def class_portrait_save(*, classroom: Classroom, by: User, items: list[dict[str, str]]) -> ClassPortrait:
    """Store the class portrait: lines grouped by corner of the triangle, in the order given."""
    cleaned = []
    for item in items:
        corner = item.get("corner", "")
        text = (item.get("text") or "").strip()
        if corner not in CLASS_PORTRAIT_CORNERS or not text:
            continue
        if len(text) > TEXT_MAX:
            raise ValidationError(
                _("Each line of the class portrait must be under %(max)d characters.") % {"max": TEXT_MAX}
            )
        if {"corner": corner, "text": text} not in cleaned:
            cleaned.append({"corner": corner, "text": text})
    if len(cleaned) > CLASS_PORTRAIT_MAX_ITEMS:
        raise ValidationError(
            _("A class portrait holds at most %(max)d lines: choose the strongest.") % {"max": CLASS_PORTRAIT_MAX_ITEMS}
        )
    portrait, _created = ClassPortrait.objects.get_or_create(classroom=classroom, defaults={"updated_by": by})
    portrait.items = cleaned
    portrait.updated_by = by
    portrait.save(update_fields=["items", "updated_by", "updated_at"])
    return portrait
