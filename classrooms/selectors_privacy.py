"""Reads for children's privacy: everything stored about one student, as plain data for the JSON export.

The reflections part (reflections, self-assessments, goals, appreciations written and received,
portraits) is `reflections.selectors.student_history`, the same data as the reflections export;
this adds the roster, havrutot, worksheet answers and links to the PDFs.

From a shared worksheet the export holds only the text the student wrote (the Yjs author attribute,
see worksheets/PROTOCOL.md), not their partners' words: a student's export is about that student.
The PIN is left out: it is a sign-in secret, not something the student wrote or is described by.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db.models import Prefetch, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from classrooms.models import Enrollment, HavrutaMember, PairingConstraint
from worksheets.models import DocSnapshot, DocUpdate, FieldAnswer, Worksheet
from worksheets.scrub import authored_parts
from worksheets.yprotocol import merge_for_snapshot

EXPORT_FORMAT = "havruta-student-export/1"


def _bytes(value: bytes | memoryview) -> bytes:
    return value.tobytes() if isinstance(value, memoryview) else bytes(value)


def _url(name: str, *args: Any) -> str | None:
    """A link, or None when that page does not exist in this version of the project."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _shared_docs(worksheet_ids: list[int]) -> dict[int, bytes]:
    """{worksheet id: its shared document as one update} in two queries."""
    parts: dict[int, list[bytes]] = defaultdict(list)
    for worksheet_id, state in DocSnapshot.objects.filter(
        worksheet_id__in=worksheet_ids, student__isnull=True
    ).values_list("worksheet_id", "state"):
        parts[worksheet_id].insert(0, _bytes(state))
    for worksheet_id, data in (
        DocUpdate.objects.filter(worksheet_id__in=worksheet_ids, student__isnull=True)
        .order_by("id")
        .values_list("worksheet_id", "data")
    ):
        parts[worksheet_id].append(_bytes(data))
    return {pk: merge_for_snapshot(updates) for pk, updates in parts.items()}


def _fields(worksheet: Worksheet) -> list[dict[str, Any]]:
    data = worksheet.assignment.protocol_version.data or {}
    return [f for f in data.get("fields", []) if isinstance(f, dict) and f.get("key")]


def _worksheets(student_id: int, absolute: Callable[[str], str]) -> list[dict[str, Any]]:
    worksheets = list(
        Worksheet.objects.filter(havruta__memberships__student_id=student_id)
        .select_related("assignment__protocol_version", "assignment__text", "havruta__session")
        .order_by("havruta__session__date", "pk")
    )
    ids = [w.pk for w in worksheets]
    personal: dict[int, dict[str, Any]] = defaultdict(dict)
    for answer in FieldAnswer.objects.filter(worksheet_id__in=ids, student_id=student_id):
        personal[answer.worksheet_id][answer.field_key] = answer.value
    docs = _shared_docs(ids)
    rows = []
    for worksheet in worksheets:
        fields = _fields(worksheet)
        labels = {f["key"]: str(f.get("label", "")) for f in fields}
        shared_fields = [f for f in fields if f.get("scope", "shared") == "shared"]
        written = authored_parts(docs[worksheet.pk], shared_fields, student_id) if worksheet.pk in docs else {}
        pdf = _url("worksheets:worksheet_pdf", worksheet.pk)
        rows.append(
            {
                "id": worksheet.pk,
                "date": worksheet.havruta.session.date,
                "protocol": str(worksheet.assignment.protocol_version.data.get("title", "")),
                "text": worksheet.assignment.text.title if worksheet.assignment.text is not None else "",
                "havruta": worksheet.havruta.number,
                "last_edit_at": worksheet.last_edit_at,
                "shared_answers_they_wrote": [
                    {"field": key, "label": labels.get(key, ""), "text": parts} for key, parts in written.items()
                ],
                "personal_answers": [
                    {"field": key, "label": labels.get(key, ""), "value": value}
                    for key, value in personal[worksheet.pk].items()
                ],
                "pdf": absolute(pdf) if pdf else None,
            }
        )
    return rows


def _havrutot(student_id: int) -> list[dict[str, Any]]:
    seats = (
        HavrutaMember.objects.filter(student_id=student_id)
        .select_related("havruta__session__classroom")
        .prefetch_related(
            Prefetch("havruta__memberships", queryset=HavrutaMember.objects.select_related("student").order_by("seat"))
        )
        .order_by("havruta__session__date", "havruta__session_id")
    )
    return [
        {
            "session": {"id": seat.havruta.session_id, "date": seat.havruta.session.date},
            "classroom": seat.havruta.session.classroom.name,
            "havruta": seat.havruta.number,
            "seat": seat.seat,
            "partners": [m.student.name for m in seat.havruta.memberships.all() if m.student_id != student_id],
        }
        for seat in seats
    ]


def _help_requests(student_id: int) -> list[dict[str, Any]]:
    try:
        model = apps.get_model("classrooms.HelpRequest")
    except LookupError:
        return []
    return [
        {"created_at": created, "note": note, "resolved_at": resolved}
        for created, note, resolved in model.objects.filter(student_id=student_id)
        .order_by("created_at")
        .values_list("created_at", "note", "resolved_at")
    ]


def student_export(*, enrollment: Enrollment, absolute: Callable[[str], str] = str) -> dict[str, Any]:
    """Everything stored about the student of `enrollment`, as plain data (dates stay dates).

    `absolute` turns a site path into a full link (the view passes request.build_absolute_uri).
    """
    from reflections.selectors import student_history

    student = enrollment.student
    classroom = enrollment.classroom
    history = student_history(enrollment=enrollment)
    reflection_pdfs = []
    for document in history["reflections"]:
        url = _url("reflections:reflection_pdf_for_teacher", document["session"]["id"], student.pk)
        if url:
            reflection_pdfs.append({"session": document["session"]["id"], "url": absolute(url)})
    worksheets = _worksheets(student.pk, absolute)
    rules = PairingConstraint.objects.filter(Q(student_a=student) | Q(student_b=student)).select_related(
        "student_a", "student_b"
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "student": {"id": student.pk, "display_name": student.display_name, "language": student.language},
        "classroom": {
            "id": classroom.pk,
            "name": classroom.name,
            "grade_band": classroom.grade_band,
            "language": classroom.language,
        },
        "enrolments": [
            {"classroom": classroom.name, "group_label": enrollment.group_label, "since": enrollment.created_at}
        ],
        "pairing_rules": [
            {
                "rule": rule.get_kind_display(),
                "with": (rule.student_b if rule.student_a_id == student.pk else rule.student_a).name,
            }
            for rule in rules
        ],
        "havrutot": _havrutot(student.pk),
        "worksheets": worksheets,
        "sessions": history["sessions"],
        "reflections": history["reflections"],
        "appreciations_received": history["appreciations_received"],
        "portraits": history["portraits"],
        "help_requests": _help_requests(student.pk),
        "pdfs": {
            "worksheets": [{"worksheet": w["id"], "url": w["pdf"]} for w in worksheets if w["pdf"]],
            "reflections": reflection_pdfs,
        },
    }
