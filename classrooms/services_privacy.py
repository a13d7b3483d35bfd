"""Children's privacy: deleting a student with every trace of them, and the retention purge.

`students_delete` is the one way a student leaves the database: the roster's "Remove" page and
`python manage.py purge_expired --apply` both call it. What goes, in one transaction:

- the User row and, through it (on_delete=CASCADE), the enrollment with the PIN, havruta seats (the
  havruta keeps the partner), "absent" marks, pairing rules, personal answers (FieldAnswer),
  reflections with self-assessments, goals and appreciations written, portraits, live connections;
- help requests they raised (the note is their own writing), teacher comments pinned to their
  personal boxes, their sign-in sessions, admin log entries about them;
- the student's personal worksheet documents (DocUpdate / DocSnapshot);
- the shared document of every havruta they were in, rewritten without their authorship ("keep
  shared work, anonymised") or without their text ("delete everything the student wrote"), with
  the havruta's plain answers materialised again (worksheets/services_privacy.py);
- with "delete everything": Warm Up intentions they alone wrote as copied into partners'
  reflections, and class-portrait lines only they wrote.

After commit: open sockets of their worksheets reload (the student's own close for good), their
sign-in rate-limit counters are cleared, and cached class packets (PDF files that print their name)
are removed. Awareness (presence) lives only in the memory of the server processes, never in
Redis or the database: it goes when their sockets close.

Logs name students by id only, never by name.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from classrooms.models import Classroom, Enrollment, HavrutaMember
from worksheets.models import Worksheet
from worksheets.services import worksheet_revoke
from worksheets.services_privacy import personal_docs_delete, shared_doc_scrub, worksheets_reload

log = logging.getLogger("havruta.privacy")

DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


class DeletionMode(models.TextChoices):
    KEEP_SHARED = "keep", _("Keep shared work, anonymised")
    DELETE_ALL = "delete", _("Delete everything the student wrote")


@dataclass
class DeletionReport:
    students: int = 0
    worksheets_rewritten: int = 0
    characters: int = 0  # removed (delete) or anonymised (keep) in shared documents
    extra: dict[str, int] = field(default_factory=dict)


def _model(label: str) -> Any:
    """A model that may not exist in every version of the project (the live session's, for instance)."""
    try:
        return apps.get_model(label)
    except LookupError:
        return None


# --- pieces, in the order students_delete runs them ------------------------------------------------


def _portrait_lines_of(students: Sequence[User]) -> dict[int, set[tuple[str, str]]]:
    """{classroom id: (corner, line) pairs of the class portrait that only these students wrote}."""
    from reflections.selectors import class_portrait_view

    names_by_class: dict[int, set[str]] = defaultdict(set)
    for enrollment in Enrollment.objects.filter(student__in=students).select_related("student"):
        names_by_class[enrollment.classroom_id].add(enrollment.student.name)
    only_theirs: dict[int, set[tuple[str, str]]] = {}
    for classroom in Classroom.objects.filter(pk__in=names_by_class, class_portrait__isnull=False):
        view = class_portrait_view(classroom=classroom, with_candidates=True)
        leaving = names_by_class[classroom.pk]
        only_theirs[classroom.pk] = {
            (c.corner, c.text) for c in view.candidates if c.students and set(c.students) <= leaving
        }
    return only_theirs


def _class_portraits_prune(lines: dict[int, set[tuple[str, str]]]) -> int:
    from reflections.models import ClassPortrait

    removed = 0
    for portrait in ClassPortrait.objects.filter(classroom_id__in=[pk for pk, found in lines.items() if found]):
        gone = lines[portrait.classroom_id]
        kept = [item for item in portrait.items if (item.get("corner"), item.get("text")) not in gone]
        if len(kept) != len(portrait.items):
            removed += len(portrait.items) - len(kept)
            ClassPortrait.objects.filter(pk=portrait.pk).update(items=kept)
    return removed


def _live_rows_delete(ids: list[int]) -> dict[str, int]:
    """Rows of the live session that hold a student's words or point at their personal boxes."""
    counts: dict[str, int] = {}
    comment_model = _model("classrooms.FieldComment")
    if comment_model is not None:
        query = models.Q()
        for pk in ids:  # field_id is "student-<id>:<field key>" for a personal box
            query |= models.Q(field_id__startswith=f"student-{pk}:")
        counts["comments"], _ = comment_model.objects.filter(query).delete()
    help_model = _model("classrooms.HelpRequest")
    if help_model is not None:  # the note is the child's own words, in both modes
        counts["help_requests"], _ = help_model.objects.filter(student_id__in=ids).delete()
    return counts


def _admin_log_delete(ids: list[int]) -> int:
    """Admin history rows about these students or their rows (object_repr may print their name)."""
    from reflections.models import Portrait, Reflection

    targets: list[tuple[type[models.Model], list[Any]]] = [(User, ids)]
    owned: tuple[tuple[Any, str], ...] = (
        (Enrollment, "student_id__in"),
        (HavrutaMember, "student_id__in"),
        (Reflection, "student_id__in"),
        (Portrait, "student_id__in"),
    )
    for model, lookup in owned:
        targets.append((model, list(model.objects.filter(**{lookup: ids}).values_list("pk", flat=True))))
    query = models.Q(user_id__in=ids)
    for model, pks in targets:
        if pks:
            content_type = ContentType.objects.get_for_model(model)
            query |= models.Q(content_type=content_type, object_id__in=[str(p) for p in pks])
    deleted, _ = LogEntry.objects.filter(query).delete()
    return deleted


def _sessions_delete(ids: list[int]) -> int:
    """Sign-in sessions of these students (database sessions hold the user id, encoded)."""
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return 0  # cache or signed-cookie sessions: the user id no longer exists, so they sign nobody in
    from django.contrib.sessions.models import Session

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    wanted = {str(pk) for pk in ids}
    found = [
        key
        for key, data in Session.objects.values_list("session_key", "session_data").iterator()
        if str(store_class().decode(data).get("_auth_user_id", "")) in wanted
    ]
    for key in found:
        store_class(session_key=key).delete()  # also drops the cached copy (cached_db)
    return len(found)


def _intentions_prune(removed: dict[int, set[str]], ids: list[int]) -> int:
    """Drop, from partners' reflections, Warm Up intentions that only a deleted student wrote.

    `removed` is {worksheet id: list entries deleted whole}. A partner's reflection copies the
    intentions of their havruta's Warm Up, word for word (reflections.models.Reflection.intentions).
    """
    from reflections.models import Reflection

    changed = 0
    worksheets = Worksheet.objects.filter(pk__in=[pk for pk, texts in removed.items() if texts]).select_related(
        "havruta"
    )
    for worksheet in worksheets:
        texts = removed[worksheet.pk]
        partners = HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).values_list("student_id", flat=True)
        reflections = Reflection.objects.filter(
            student_id__in=list(partners), intentions_session_id=worksheet.havruta.session_id
        ).exclude(student_id__in=ids)
        for reflection in reflections:
            kept = [row for row in reflection.intentions if str(row.get("text", "")).strip() not in texts]
            if len(kept) != len(reflection.intentions):
                # update(): the partner did not edit their reflection, so its updated_at stays.
                Reflection.objects.filter(pk=reflection.pk).update(intentions=kept)
                changed += 1
    return changed


def _after_commit(ids: list[int], assignment_ids: set[int]) -> None:
    from classrooms.services import STUDENT_SIGNIN_LIMIT

    for pk in ids:
        STUDENT_SIGNIN_LIMIT.reset(str(pk))
    try:
        from classrooms.pdf import pdf_cache_dir
    except ImportError:  # pragma: no cover - the PDF part is optional
        return
    folder = pdf_cache_dir() / "packets"
    for pk in assignment_ids:
        for path in folder.glob(f"packet-a{pk}-*.pdf"):
            path.unlink(missing_ok=True)


# --- the services -------------------------------------------------------------------------------


@transaction.atomic
def students_delete(
    *, students: Sequence[User], mode: str, by: User | None = None, doomed_classroom: Classroom | None = None
) -> DeletionReport:
    """Delete students and every trace of them (see the module docstring); one transaction for all.

    `doomed_classroom`: a class deleted right after (retention); its worksheets go with it, so they
    are not rewritten first.
    """
    if mode not in DeletionMode.values:
        raise ValueError(f"unknown deletion mode {mode!r}")
    students = [s for s in students if s.is_student]
    ids = [s.pk for s in students]
    report = DeletionReport(students=len(ids))
    if not ids:
        return report
    delete = mode == DeletionMode.DELETE_ALL
    # Everything that needs the rows about to go is read first.
    seats = list(HavrutaMember.objects.filter(student_id__in=ids).values_list("havruta_id", "student_id"))
    students_by_havruta: dict[int, list[int]] = defaultdict(list)
    for havruta_id, student_id in seats:
        students_by_havruta[havruta_id].append(student_id)
    in_havrutot = Worksheet.objects.filter(havruta_id__in=students_by_havruta)
    if doomed_classroom is not None:
        in_havrutot = in_havrutot.exclude(assignment__classroom=doomed_classroom)
    worksheets = list(in_havrutot.select_related("assignment__protocol_version", "havruta").order_by("pk"))
    portrait_lines = _portrait_lines_of(students) if delete else {}
    classes = dict(Enrollment.objects.filter(student_id__in=ids).values_list("student_id", "classroom_id"))

    report.extra.update(_live_rows_delete(ids))
    report.extra["admin_log"] = _admin_log_delete(ids)
    report.extra["sessions"] = _sessions_delete(ids)
    report.extra["personal_doc_rows"] = personal_docs_delete(student_ids=ids)
    for student in students:
        worksheet_revoke(user=student)  # on commit: their own sockets re-check and close with 4403
    User.objects.filter(pk__in=ids).delete()

    removed_entries: dict[int, set[str]] = {}
    for worksheet in worksheets:
        for student_id in students_by_havruta[worksheet.havruta_id]:
            result = shared_doc_scrub(worksheet=worksheet, student_id=student_id, delete=delete)
            if result is None:
                continue
            report.worksheets_rewritten += 1
            report.characters += result.changed
            removed_entries.setdefault(worksheet.pk, set()).update(result.removed_entries)
        for student_id in students_by_havruta[worksheet.havruta_id]:
            worksheets_reload(worksheet_ids=[worksheet.pk], student_id=student_id)
    if delete:
        report.extra["partner_intentions"] = _intentions_prune(removed_entries, ids)
        report.extra["class_portrait_lines"] = _class_portraits_prune(portrait_lines)

    assignment_ids = {w.assignment_id for w in worksheets}
    transaction.on_commit(lambda: _after_commit(ids, assignment_ids))
    for pk in ids:
        log.info(
            "event=student.deleted student=%s class=%s mode=%s by=%s worksheets=%d",
            pk,
            classes.get(pk, "-"),
            mode,
            by.pk if by is not None else "system",
            sum(1 for w in worksheets if pk in students_by_havruta[w.havruta_id]),
        )
    return report


def student_delete(*, enrollment: Enrollment, mode: str, by: User | None = None) -> DeletionReport:
    """Delete one student of a roster (the view checked the user teaches the class)."""
    return students_delete(students=[enrollment.student], mode=mode, by=by)


# --- retention ------------------------------------------------------------------------------------


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """The same day and time `months` calendar months earlier (the last day when that month is shorter)."""
    import calendar

    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def expired_classrooms(*, months: int, now: datetime.datetime | None = None) -> list[Classroom]:
    """Archived classes whose archive date is more than `months` months ago, oldest first."""
    cutoff = months_before(now or timezone.now(), months)
    return list(
        Classroom.objects.filter(archived_at__isnull=False, archived_at__lt=cutoff)
        .prefetch_related("enrollments__student")
        .order_by("archived_at", "pk")
    )


@transaction.atomic
def classroom_purge(*, classroom: Classroom) -> DeletionReport:
    """Retention: delete every student of an expired class with everything they wrote, then the class.

    The class goes with its sessions, havrutot, assignments and worksheets (on_delete=CASCADE).
    """
    students = [e.student for e in classroom.enrollments.select_related("student")]
    report = students_delete(students=students, mode=DeletionMode.DELETE_ALL, doomed_classroom=classroom)
    assignment_ids = set(classroom.assignments.values_list("pk", flat=True))
    classroom_id = classroom.pk
    classroom.delete()
    transaction.on_commit(lambda: _after_commit([], assignment_ids))
    log.info("event=classroom.purged class=%s students=%d", classroom_id, report.students)
    return report
