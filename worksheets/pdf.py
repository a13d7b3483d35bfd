"""Completed worksheets as PDF: a havruta's answers with who wrote what, the text, teacher comments.

Answers come from ``FieldAnswer`` (the plain text the live server materialises from the shared
and personal documents): personal answers are printed under each student's name, shared answers
once for the havruta. Who typed which part of a shared answer comes from the stored CRDT document
(text inserts carry ``{"a": "<user id>"}``, see worksheets/PROTOCOL.md); ``text_authorship``
reads it. Teacher comments are the live dashboard's ``FieldComment`` rows.

Also here: ``answers_pdf``, the hook for the student reflection / self-assessment PDF (parent
conferences), which the reflections app calls with its own rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.models import Assignment, HavrutaMember
from protocols.handouts import TextData, document_language, strip_emoji, text_data
from protocols.pdf import paper_or_default, render_document, render_pdf
from worksheets.extract import list_entries
from worksheets.models import DocSnapshot, DocUpdate, FieldAnswer, Worksheet

# --------------------------------------------------------------------------------------------
# Authorship of shared answers, from the CRDT document (plain Python + pycrdt, no Django)
# --------------------------------------------------------------------------------------------


def text_authorship(updates: bytes | Sequence[bytes], fields: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Characters written per user id in each text or list field of a Yjs document.

    ``updates`` is one update or several (a snapshot, then log rows, in order). ``fields`` are the
    protocol's field dicts (key and kind: the document layout of worksheets/PROTOCOL.md). Inserts
    carry the formatting attribute ``{"a": "<user id>"}``; text without it counts under ``""``
    (unknown). Choices, scales and checklists have no authorship.
    """
    from pycrdt import Doc, Text

    doc: Doc = Doc()
    for update in [updates] if isinstance(updates, bytes) else updates:
        if update:
            doc.apply_update(update)
    present = set(doc.keys())
    result: dict[str, dict[str, int]] = {}
    for item in fields:
        key, kind = item.get("key", ""), item.get("kind", "")
        if key not in present or kind not in ("short_text", "long_text", "list"):
            continue
        pieces = [entry for _index, entry in list_entries(doc, key)] if kind == "list" else [doc.get(key, type=Text)]
        counts: dict[str, int] = {}
        for piece in pieces:
            for chunk, attrs in piece.diff():
                if isinstance(chunk, str) and chunk.strip():
                    author = str((attrs or {}).get("a", ""))
                    counts[author] = counts.get(author, 0) + len(chunk.strip())
        if counts:
            result[key] = counts
    return result


def shared_documents(worksheet_ids: Sequence[int]) -> dict[int, list[bytes]]:
    """The stored shared documents of several worksheets (snapshot first, then the log), two queries.

    Read straight from the tables the live server writes (worksheets/persistence.py) rather than
    room by room, so a packet of thirty havrutot costs two queries, not sixty.
    """
    documents: dict[int, list[bytes]] = {}
    snapshots = DocSnapshot.objects.filter(worksheet_id__in=worksheet_ids, student__isnull=True)
    for worksheet_id, state in snapshots.values_list("worksheet_id", "state"):
        documents.setdefault(worksheet_id, []).append(bytes(state))
    rows = DocUpdate.objects.filter(worksheet_id__in=worksheet_ids, student__isnull=True).order_by("id")
    for worksheet_id, data in rows.values_list("worksheet_id", "data"):
        documents.setdefault(worksheet_id, []).append(bytes(data))
    return documents


def comment_model() -> Any:
    """classrooms.FieldComment (the live dashboard's comments), or None in a tree without it."""
    from classrooms import models as classroom_models

    return getattr(classroom_models, "FieldComment", None)


def worksheet_comments(
    worksheet_ids: Sequence[int], fields: Mapping[int, Sequence[Mapping[str, Any]]], names: Mapping[int, str]
) -> dict[int, list[Comment]]:
    """Teacher comments per worksheet (one query), each with the box it was pinned to.

    A comment's ``field_id`` names the box as presence does: "shared:<key>" for a shared field,
    "student-<id>:<key>" for a student's own. ``fields`` maps a worksheet id to its protocol's
    fields (for the labels), ``names`` a student id to their name.
    """
    model = comment_model()
    if model is None or not worksheet_ids:
        return {}
    result: dict[int, list[Comment]] = {}
    for row in (
        model.objects.filter(worksheet_id__in=worksheet_ids).select_related("author").order_by("created_at", "pk")
    ):
        owner, _sep, key = str(row.field_id).partition(":")
        labels = {f.get("key", ""): f.get("label", "") for f in fields.get(row.worksheet_id, ())}
        label = labels.get(key, "")
        if owner.startswith("student-") and label:
            student_id = owner.removeprefix("student-")
            name = names.get(int(student_id)) if student_id.isdigit() else None
            if name:
                label = f"{label} · {name}"
        author = row.author.name if row.author is not None else _("A teacher")
        result.setdefault(row.worksheet_id, []).append(
            Comment(author=author, text=row.text, field_label=label, done=row.done_at is not None)
        )
    return result


# --------------------------------------------------------------------------------------------
# View models
# --------------------------------------------------------------------------------------------


@dataclass
class Comment:
    author: str
    text: str
    field_label: str = ""
    done: bool = False  # the havruta marked it done


@dataclass
class Mark:
    label: str
    checked: bool
    face: str | None = None


@dataclass
class AnswerValue:
    """One answer ready to print: text, a list, or options with the chosen ones marked."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        if self.marks:
            return not any(mark.checked for mark in self.marks)
        return not self.text.strip() and not self.items

    @property
    def lang(self) -> str:
        """ "he" for an answer written in Hebrew, so it is tagged as Hebrew in the PDF; else ""."""
        return text_lang(" ".join([self.text, *self.items]))


@dataclass
class PersonalAnswer:
    name: str
    seat: str
    value: AnswerValue


@dataclass
class FieldAnswers:
    key: str
    label: str
    help: str
    kind: str
    scope: str
    shared: AnswerValue | None = None
    personal: list[PersonalAnswer] = field(default_factory=list)
    authors: list[tuple[str, int]] = field(default_factory=list)  # (name, percent) for shared text


@dataclass
class StepAnswers:
    number: int
    title: str
    fields: list[FieldAnswers]


def text_lang(text: str) -> str:
    """ "he" when most letters of ``text`` are Hebrew (students answer in either language)."""
    hebrew = latin = 0
    for char in text:
        if "\u05d0" <= char <= "\u05ea":
            hebrew += 1
        elif char.isalpha():
            latin += 1
    return "he" if hebrew > latin else ""


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return _as_text(value.get("value", ""))
    return str(value)


def answer_value(item: Mapping[str, Any], value: Any) -> AnswerValue:
    """Format a FieldAnswer value (the shapes of worksheets/extract.py) for print."""
    kind = item.get("kind", "long_text")
    if kind == "list":
        entries = value if isinstance(value, list) else _as_text(value).splitlines()
        return AnswerValue(kind, items=[_as_text(e).strip() for e in entries if _as_text(e).strip()])
    if kind in ("choice", "scale"):
        chosen = _as_text(value).strip()
        points = item.get("options") if kind == "choice" else item.get("scale")
        marks = [
            Mark(strip_emoji(str(p.get("label", p.get("value", "")))), str(p.get("value")) == chosen)
            for p in points or []
        ]
        return AnswerValue(kind, marks=marks)
    if kind == "checklist":
        if isinstance(value, dict):
            checked = {str(k) for k, v in value.items() if v}
        elif isinstance(value, list):
            checked = {str(v) for v in value}
        else:
            checked = {v.strip() for v in _as_text(value).split(",") if v.strip()}
        marks = [
            Mark(strip_emoji(str(o.get("label", o.get("value", "")))), str(o.get("value")) in checked)
            for o in item.get("options") or []
        ]
        return AnswerValue(kind, marks=marks)
    return AnswerValue(kind, text=_as_text(value).strip())


@dataclass
class WorksheetData:
    """Everything a completed-worksheet PDF shows, read with a fixed number of queries."""

    worksheet_id: int
    havruta_number: int
    classroom_name: str
    protocol: Mapping[str, Any]
    date: Any
    members: list[tuple[str, str]]  # (name, seat)
    steps: list[StepAnswers]
    comments: list[Comment]
    text: TextData | None

    @property
    def member_names(self) -> str:
        return ", ".join(name for name, _seat in self.members)


def _steps_with_answers(
    data: Mapping[str, Any],
    answers: Sequence[FieldAnswer],
    members: Sequence[HavrutaMember],
    authorship: Mapping[str, Mapping[str, int]],
) -> list[StepAnswers]:
    shared = {a.field_key: a.value for a in answers if a.student_id is None}
    personal = {(a.field_key, a.student_id): a.value for a in answers if a.student_id is not None}
    names = {str(m.student_id): m.student.name for m in members}
    steps: list[StepAnswers] = []
    fields_by_step: dict[str, list[FieldAnswers]] = {}
    for item in data.get("fields") or []:
        key = item.get("key", "")
        entry = FieldAnswers(
            key=key,
            label=item.get("label", ""),
            help=item.get("help", ""),
            kind=item.get("kind", ""),
            scope=item.get("scope", "shared"),
        )
        if entry.scope == "personal":
            entry.personal = [
                PersonalAnswer(m.student.name, m.seat, answer_value(item, personal.get((key, m.student_id))))
                for m in members
            ]
        else:
            entry.shared = answer_value(item, shared.get(key))
            counts = authorship.get(key) or {}
            total = sum(counts.values())
            if total:
                entry.authors = sorted(
                    ((names.get(author) or _("Someone else"), round(100 * n / total)) for author, n in counts.items()),
                    key=lambda pair: -pair[1],
                )
        fields_by_step.setdefault(item.get("step", ""), []).append(entry)
    for number, step in enumerate(data.get("steps") or [], start=1):
        step_fields = fields_by_step.pop(step.get("key", ""), [])
        if step_fields:
            steps.append(StepAnswers(number, step.get("title", ""), step_fields))
    leftover = [f for fields in fields_by_step.values() for f in fields]
    if leftover:
        steps.append(StepAnswers(len(steps) + 1, _("More answers"), leftover))
    return steps


def worksheets_data(worksheets: Sequence[Worksheet], *, with_text: bool = True) -> list[WorksheetData]:
    """Print data for several worksheets of one assignment, in a fixed number of queries (five,
    plus one per text).

    Pass worksheets fetched with ``select_related("assignment__protocol_version",
    "assignment__classroom", "assignment__text", "havruta")``.
    """
    if not worksheets:
        return []
    ids = [w.pk for w in worksheets]
    havruta_ids = {w.havruta_id for w in worksheets}
    members_by_havruta: dict[int, list[HavrutaMember]] = {}
    for member in (
        HavrutaMember.objects.filter(havruta_id__in=havruta_ids).select_related("student").order_by("havruta", "seat")
    ):
        members_by_havruta.setdefault(member.havruta_id, []).append(member)
    answers_by_worksheet: dict[int, list[FieldAnswer]] = {}
    for answer in FieldAnswer.objects.filter(worksheet_id__in=ids):
        answers_by_worksheet.setdefault(answer.worksheet_id, []).append(answer)
    documents = shared_documents(ids)
    names = {m.student_id: m.student.name for group in members_by_havruta.values() for m in group}
    comments = worksheet_comments(
        ids, {w.pk: w.assignment.protocol_version.data.get("fields") or [] for w in worksheets}, names
    )
    texts: dict[int, TextData] = {}
    result = []
    for worksheet in worksheets:
        assignment: Assignment = worksheet.assignment
        data = assignment.protocol_version.data
        members = members_by_havruta.get(worksheet.havruta_id, [])
        shared_fields = [f for f in data.get("fields") or [] if f.get("scope") != "personal"]
        updates = documents.get(worksheet.pk)
        authorship = text_authorship(updates, shared_fields) if updates else {}
        text = None
        if with_text and assignment.text_id is not None:
            if assignment.text_id not in texts:
                texts[assignment.text_id] = text_data(assignment.text)  # type: ignore[arg-type]
            text = texts[assignment.text_id]
        result.append(
            WorksheetData(
                worksheet_id=worksheet.pk,
                havruta_number=worksheet.havruta.number,
                classroom_name=assignment.classroom.name,
                protocol=data,
                date=assignment.date,
                members=[(m.student.name, m.seat) for m in members],
                steps=_steps_with_answers(data, answers_by_worksheet.get(worksheet.pk, []), members, authorship),
                comments=comments.get(worksheet.pk, []),
                text=text,
            )
        )
    return result


def worksheet_title(item: WorksheetData) -> str:
    return _("%(protocol)s · Havruta %(number)s · %(names)s") % {
        "protocol": item.protocol.get("title", ""),
        "number": item.havruta_number,
        "names": item.member_names,
    }


def worksheet_html(item: WorksheetData, *, in_packet: bool = False) -> str:
    lang, direction = document_language()
    return render_to_string(
        "worksheets/pdf/worksheet.html",
        {
            "w": item,
            "lang": lang,
            "dir": direction,
            "doc_title": worksheet_title(item),
            "running_left": item.classroom_name,
            "in_packet": in_packet,
        },
    )


def worksheet_pdf(worksheet: Worksheet, *, paper: str = "letter") -> bytes:
    """One havruta's completed worksheet as a tagged PDF."""
    (item,) = worksheets_data([worksheet])
    lang, _direction = document_language()
    return render_pdf(
        worksheet_html(item),
        title=worksheet_title(item),
        lang=lang,
        paper=paper_or_default(paper),
        stylesheets=("handout", "worksheet"),
    )


def worksheet_document(item: WorksheetData, *, paper: str = "letter") -> Any:
    """One worksheet laid out (for class packets, which merge many)."""
    lang, _direction = document_language()
    return render_document(
        worksheet_html(item, in_packet=True),
        title=worksheet_title(item),
        lang=lang,
        paper=paper_or_default(paper),
        stylesheets=("handout", "worksheet"),
    )


# --------------------------------------------------------------------------------------------
# Hook for the reflections app: a student's reflection / self-assessment PDF
# --------------------------------------------------------------------------------------------


def answers_pdf(
    *,
    title: str,
    student: User | str,
    fields: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    subtitle: str = "",
    running_left: str = "",
    paper: str = "letter",
) -> bytes:
    """A one-person answers PDF (reflection, self-assessment) for parent conferences.

    ``fields`` are protocol fields (the snapshot's dicts: key, label, kind, options, scale);
    ``values`` maps a field key to the student's answer in FieldAnswer's shapes; an optional
    ``section`` key on a field groups it under a heading. The reflections app calls this with its
    own rows (reflections/views_pdf.py); scales print with the chosen point marked.
    """
    name = student if isinstance(student, str) else student.name
    # Consecutive fields with the same "section" (the reflection, the self-assessment, ...) print
    # under one heading; fields without one print without a heading.
    sections: list[tuple[str, list[FieldAnswers]]] = []
    for item in fields:
        entry = FieldAnswers(
            key=item.get("key", ""),
            label=item.get("label", ""),
            help="",
            kind=item.get("kind", ""),
            scope="personal",
            shared=answer_value(item, values.get(item.get("key", ""))),
        )
        section = str(item.get("section", ""))
        if sections and sections[-1][0] == section:
            sections[-1][1].append(entry)
        else:
            sections.append((section, [entry]))
    lang, direction = document_language()
    doc_title = f"{title} · {name}"
    html = render_to_string(
        "worksheets/pdf/answers.html",
        {
            "title": title,
            "subtitle": subtitle,
            "student_name": name,
            "sections": sections,
            "lang": lang,
            "dir": direction,
            "doc_title": doc_title,
            "running_left": running_left or name,
        },
    )
    return render_pdf(
        html, title=doc_title, lang=lang, paper=paper_or_default(paper), stylesheets=("handout", "worksheet")
    )
