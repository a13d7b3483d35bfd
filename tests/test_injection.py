"""Hostile text in every field people type into, and everywhere that text comes out again.

One payload, `<script>alert(1)</script><img src=x onerror=alert(2)>"'`, goes into student names,
the class name, a group label, the teacher's name, worksheet answers (as the live server
materialises them, and in the shared document itself), a pinned comment, a broadcast, a help note,
reflections, a goal, an appreciation, a portrait and a teacher's imported text (title, reference,
segments). Then:

- every HTML page that shows it shows it as text: escaped, never a tag or an attribute;
- the live pages' JavaScript puts people's words into the page with textContent only;
- PDFs carry the payload as literal text (no markup interpreted);
- the CSV export turns cells a spreadsheet would read as a formula into text.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from classrooms import services_live
from classrooms.models import Enrollment, PairingSession
from protocols.services import text_create_from_paste
from reflections.models import Reflection
from reflections.services import class_portrait_save, portrait_save
from tests.conftest import World
from tests.factories import make_session, make_student
from tests.live_fixtures import assign_lesson as assign_live_lesson
from tests.pdf_fixtures import pdf_text, squash
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions
from worksheets.models import DocSnapshot, FieldAnswer

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'"
GROUP = "<img src=x onerror=alert(2)>\"'"  # group labels hold 40 characters
# Django's escaping of PAYLOAD, and json_script's (for data handed to the page's scripts).
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#x27;"
JSON_ESCAPED = "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E"
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(1)"]


class Markup(HTMLParser):
    """Elements and attributes the payload would have created had it been read as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.injected: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Data for the page's scripts (json_script) is not run; its "<" are escaped (checked as raw text).
        self._in_script = tag == "script" and dict(attrs).get("type") != "application/json"
        for name, value in attrs:
            if name.startswith("on"):
                self.injected.append(f"<{tag} {name}={value}>")
            if name in ("src", "href", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.injected.append(f"<{tag} {name}={value}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.injected.append("<img src=x>")

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(" in data:
            self.injected.append(f"<script>{data[:40]}")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def assert_safe(html: str, where: str, *, shown: bool = True) -> None:
    """No tag or attribute came from the payload; and (shown) the payload is on the page, as text."""
    for raw in ("<script>alert(1)", "<img src=x", "onerror=alert(2)>", "alert(2)>\"'"):
        assert raw not in html, f"{where}: {raw!r} reached the page unescaped"
    parser = Markup()
    parser.feed(html)
    assert parser.injected == [], f"{where}: {parser.injected}"
    if shown:
        assert ESCAPED in html or JSON_ESCAPED in html, f"{where}: the payload is not on the page at all"


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.content.decode()


def pdf(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    return pdf_text(body)


def assert_in_pdf(text: str, where: str, *, expected: str = PAYLOAD) -> None:
    """The payload's characters, tags included, are in the PDF's text: printed, not interpreted."""
    assert squash(expected) in squash(text), f"{where}: the payload is not printed as text"


def shared_doc(answers: dict[str, Any], author: int) -> bytes:
    doc = pycrdt.Doc()
    for key, value in answers.items():
        if isinstance(value, list):
            doc.get(key, type=pycrdt.Array).extend([pycrdt.Text(v) for v in value])
        else:
            doc.get(key, type=pycrdt.Text).insert(0, value, attrs={"a": str(author)})
    return doc.get_update()


class Hostile:
    """The world, with the payload typed into every field; built through the services."""

    def __init__(self, world: World) -> None:
        self.world = world
        w = world
        for user, name in ((w.student, "Dana"), (w.partner, "Eli"), (w.teacher, "Rivka")):
            user.display_name = f"{name} {PAYLOAD}"
            user.save(update_fields=["display_name"])
        w.classroom.name = f"Class {PAYLOAD}"
        w.classroom.save(update_fields=["name"])
        Enrollment.objects.filter(classroom=w.classroom, student=w.student).update(group_label=GROUP)
        self.formula_students = [make_student(classroom=w.classroom, name=f, pin="1357") for f in FORMULAS]

        # A live lesson in the current session: answers, comment, broadcast, help note.
        self.sheets = assign_live_lesson(session=w.session)
        sheet = self.sheets[1]
        self.sheet = sheet
        shared = {"notices": [PAYLOAD], "chosen_question": PAYLOAD, "what_we_found": PAYLOAD}
        for key, value in shared.items():
            FieldAnswer.objects.create(worksheet=sheet, field_key=key, value=value)
        FieldAnswer.objects.create(worksheet=sheet, student=w.student, field_key="my_idea", value=PAYLOAD)
        DocSnapshot.objects.create(worksheet=sheet, state=shared_doc(shared, w.student.pk))
        DocSnapshot.objects.create(worksheet=sheet, student=w.student, state=shared_doc({"my_idea": PAYLOAD}, 0))
        for field_id in ("shared:chosen_question", f"student-{w.student.pk}:my_idea"):  # (its label has a name)
            services_live.comment_create(worksheet=sheet, by=w.teacher, field_id=field_id, text=PAYLOAD)
        services_live.broadcast_send(session=w.session, by=w.teacher, message=PAYLOAD, link="https://example.org/")
        services_live.help_request_create(worksheet=sheet, student=w.student, note=PAYLOAD)

        # An earlier, ended lesson with reflections (the formula students wrote theirs in formulas).
        f = self.formula_students
        self.past = make_session(classroom=w.classroom, groups=[[w.student, w.partner], f[:2], f[2:]])
        PairingSession.objects.filter(pk=self.past.pk).update(date=w.session.date.replace(day=1))
        assignments = assign_lesson(self.past, w.teacher)
        set_intentions(assignments[0], w.student, [PAYLOAD])
        end_learning(self.past, w.teacher)
        examples = {"listening": PAYLOAD, "wondering": PAYLOAD}
        for student in (w.student, w.partner):
            reflect(self.past, student, ratings={"listening": 3}, examples=examples, goal=PAYLOAD, appreciation=PAYLOAD)
        for student, formula in zip(f, FORMULAS, strict=True):
            reflect(self.past, student, ratings={"listening": 2}, examples={"listening": formula}, goal=formula)
        portrait_save(student=w.student, answers=self._portrait_answers())
        class_portrait_save(classroom=w.classroom, by=w.teacher, items=[{"corner": "text", "text": PAYLOAD}])

        # A text the teacher pasted in.
        self.text = text_create_from_paste(
            owner=w.teacher, title=f"Text {PAYLOAD}", reference=PAYLOAD[:120], hebrew="", english=f"{PAYLOAD}\n\nTwo"
        )

    def _portrait_answers(self) -> dict[str, Any]:
        from reflections.services import portrait_fields, portrait_version

        fields = portrait_fields(portrait_version(portrait=None))
        return {f["key"]: PAYLOAD for f in fields if f.get("kind") in ("short_text", "long_text")}

    def client(self, persona: str) -> Client:
        client = Client()
        client.force_login(getattr(self.world, persona))
        return client


@pytest.fixture
def hostile(world: World) -> Hostile:
    return Hostile(world)


# --- HTML pages ----------------------------------------------------------------------------------


def test_it_escapes_names_class_names_and_group_labels_on_the_class_pages(hostile: Hostile) -> None:
    w = hostile.world
    teacher = hostile.client("teacher")
    c = w.classroom.pk
    pages = {
        "classes": reverse("classrooms:teacher_home"),
        "class / roster": reverse("classrooms:detail", args=[c]) + "?tab=roster",
        "student edit": reverse("classrooms:student_edit", args=[c, w.student.pk]),
        "sign-in sheet": reverse("classrooms:signin_sheet", args=[c]),
        "pairings": reverse("classrooms:pairing_list", args=[c]),
        "pairing": reverse("classrooms:pairing_detail", args=[w.session.pk]),
    }
    for where, url in pages.items():
        assert_safe(page(teacher, url), where)
    # What a student sees: their home, and the class's sign-in pages (names to pick from).
    assert_safe(page(hostile.client("student"), reverse("classrooms:student_home")), "student home")
    anonymous = Client()
    assert_safe(page(anonymous, reverse("classrooms:join_class", args=[w.classroom.join_code])), "join: pick a name")
    assert_safe(
        page(anonymous, reverse("classrooms:join_pin", args=[w.classroom.join_code, w.student.pk])), "join: PIN"
    )


def test_it_escapes_answers_comments_broadcasts_and_help_notes_on_the_live_pages(hostile: Hostile) -> None:
    w = hostile.world
    teacher = hostile.client("teacher")
    sheet = hostile.sheet
    pages = {
        "live dashboard": reverse("classrooms:live", args=[w.classroom.pk]),
        "live dashboard with pop-in": reverse("classrooms:live", args=[w.classroom.pk]) + f"?pop={sheet.pk}",
        "pop-in panel": reverse("classrooms:live_panel", args=[w.session.pk, sheet.pk]),
        "worksheet (teacher)": reverse("worksheets:detail", args=[sheet.pk]),
    }
    for where, url in pages.items():
        assert_safe(page(teacher, url), where)
    for persona in ("student", "partner"):
        assert_safe(
            page(hostile.client(persona), reverse("worksheets:detail", args=[sheet.pk])), f"worksheet ({persona})"
        )
    services_live.live_session_end(session=w.session, by=w.teacher)
    assert_safe(page(teacher, reverse("classrooms:live_summary", args=[w.session.pk])), "live summary")


def test_it_escapes_reflections_goals_appreciations_and_portraits(hostile: Hostile) -> None:
    w = hostile.world
    teacher = hostile.client("teacher")
    student = hostile.client("student")
    past = hostile.past.pk
    for where, url in {
        "session overview": reverse("reflections:session_overview", args=[past]),
        "student growth (teacher)": reverse("reflections:student_growth", args=[w.student.pk]),
        "class growth": reverse("reflections:class_growth", args=[w.classroom.pk]),
        "class portrait": reverse("reflections:class_portrait", args=[w.classroom.pk]),
        "reflections (teacher)": reverse("reflections:index"),
    }.items():
        assert_safe(page(teacher, url), where)
    for where, url in {
        "reflection": reverse("reflections:reflection", args=[past]),
        "portrait": reverse("reflections:portrait"),
        "reflections (student)": reverse("reflections:index"),
        "student growth (student)": reverse("reflections:student_growth", args=[w.student.pk]),
    }.items():
        assert_safe(page(student, url), where)
    # The partner's page shows Dana's appreciation of them.
    assert Reflection.objects.filter(student=w.student, session=hostile.past).exists()
    assert_safe(page(hostile.client("partner"), reverse("reflections:reflection", args=[past])), "partner's reflection")


def test_it_escapes_a_teachers_imported_text(hostile: Hostile) -> None:
    teacher = hostile.client("teacher")
    for where, url in {
        "text": reverse("protocols:text_detail", args=[hostile.text.slug]),
        "my texts": reverse("protocols:texts_mine"),
    }.items():
        assert_safe(page(teacher, url), where)
    # Pasted through the form too: the message naming the new text is escaped as well.
    response = teacher.post(
        reverse("protocols:text_new"), {"title": PAYLOAD, "reference": "", "hebrew": "", "english": PAYLOAD}
    )
    assert response.status_code == 302
    assert_safe(page(teacher, response["Location"]), "text added (with its message)")


def test_it_escapes_names_in_a_roster_preview(hostile: Hostile) -> None:
    teacher = hostile.client("teacher")
    upload = io.BytesIO(f"name,group\nNoa {PAYLOAD},{GROUP}\n{'x' * 81}{PAYLOAD}\n".encode())
    upload.name = "class.csv"
    response = teacher.post(reverse("classrooms:roster_add", args=[hostile.world.classroom.pk]), {"csv_file": upload})
    assert response.status_code == 200
    assert_safe(response.content.decode(), "roster preview")


def test_it_refuses_broadcast_links_that_are_not_web_pages(hostile: Hostile) -> None:
    w = hostile.world
    for link in (
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\\evil.example/",
        "//evil.example",
        "/\tx",
        "java\nscript:alert(1)",
    ):
        with pytest.raises(ValidationError):
            services_live.broadcast_send(session=w.session, by=w.teacher, message="Look", link=link)
    # Links to this site and to the web still work.
    for link in ("/me/", "https://example.org/a?b=c"):
        assert services_live.broadcast_send(session=w.session, by=w.teacher, message="Look", link=link).link == link


# --- the pages' JavaScript ---------------------------------------------------------------------------

JS = Path(settings.BASE_DIR) / "static" / "js"
HTML_SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment")


def test_it_puts_peoples_words_into_the_live_pages_with_text_content_only() -> None:
    """The dashboard and worksheet sockets send JSON with names, notes, comments and broadcasts;
    the scripts that show it must never parse it as HTML. The one HTML sink left is the pop-in
    panel, which is the server's own escaped template (checked above)."""
    sinks = {}
    # The committed bundle is built from frontend/src and its libraries (none of them writes HTML).
    for path in sorted(JS.glob("*.js")) + sorted((Path(settings.BASE_DIR) / "frontend" / "src").glob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if HTML_SINKS.search(line):
                sinks[f"{path.name}:{number}"] = line.strip()
    assert list(sinks.values()) == ["panel.innerHTML = html // our own server-rendered, escaped template"], sinks
    live = (JS / "live.js").read_text(encoding="utf-8")
    assert "fetch(url, { credentials: 'same-origin' })" in live  # the panel's HTML comes from our own URL


# --- PDFs ----------------------------------------------------------------------------------------


def test_it_prints_the_payload_as_text_in_pdfs(hostile: Hostile) -> None:
    w = hostile.world
    teacher = hostile.client("teacher")
    sheet_pdf = pdf(teacher, reverse("worksheets:worksheet_pdf", args=[hostile.sheet.pk]))
    assert_in_pdf(sheet_pdf, "worksheet PDF")
    assert_in_pdf(sheet_pdf, "worksheet PDF: member names", expected=f"Dana {PAYLOAD}")
    signin = pdf(teacher, reverse("classrooms:signin_sheet_pdf", args=[w.classroom.pk]))
    assert_in_pdf(signin, "sign-in sheet PDF", expected=f"Dana {PAYLOAD}")
    assert_in_pdf(signin, "sign-in sheet PDF: class name", expected=f"Class {PAYLOAD}")
    student_pdf = pdf(hostile.client("student"), reverse("reflections:reflection_pdf", args=[hostile.past.pk]))
    assert_in_pdf(student_pdf, "reflection PDF")
    teacher_pdf = pdf(teacher, reverse("reflections:reflection_pdf_for_teacher", args=[hostile.past.pk, w.student.pk]))
    assert_in_pdf(teacher_pdf, "reflection PDF (teacher)")
    assignment = hostile.sheet.assignment
    assignment.text = hostile.text
    assignment.save(update_fields=["text"])
    handout = pdf(teacher, reverse("classrooms:assignment_handout_pdf", args=[assignment.pk]))
    assert_in_pdf(handout, "handout with the teacher's text")


# --- CSV -----------------------------------------------------------------------------------------


def test_it_neutralises_formulas_in_the_csv_export(hostile: Hostile) -> None:
    response = hostile.client("teacher").get(reverse("reflections:class_export_csv", args=[hostile.world.classroom.pk]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    for formula in FORMULAS:  # each is there, as text
        assert "'" + formula in cells, formula
    assert PAYLOAD in cells or any(PAYLOAD in cell for cell in cells)  # kept as it was typed (a CSV is not HTML)


def test_it_names_the_csv_file_without_the_class_names_markup(hostile: Hostile) -> None:
    response = hostile.client("teacher").get(reverse("reflections:class_export_csv", args=[hostile.world.classroom.pk]))
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="reflections-[a-z0-9-]+-\d{4}-\d\d-\d\d\.csv"', disposition), disposition
