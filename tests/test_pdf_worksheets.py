"""Completed worksheets as PDF (worksheets/pdf.py, /worksheets/<pk>/worksheet.pdf): the answers
with who wrote what, the text, and who may print them; plus the reflection PDF hook."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from pycrdt import Array, Doc, Text

from classrooms.services_live import comment_create, comment_mark_done
from tests.conftest import World, client_for
from tests.factories import make_session, make_student
from tests.pdf_fixtures import (
    answer,
    assert_accessible,
    assign,
    fixture_protocol,
    flat,
    letters,
    missing_glyphs,
    pdf_fonts,
    pdf_text,
    save_pngs,
    squash,
    struct_languages,
)
from worksheets.models import DocSnapshot, DocUpdate, Worksheet
from worksheets.pdf import answers_pdf, text_authorship, worksheet_pdf, worksheets_data


@pytest.fixture
def worked(world: World) -> Worksheet:
    """Havruta 1 (Dana and Eli) halfway through Listening to My Peer Partner on Genesis 4."""
    assignment = assign(
        session=world.session,
        by=world.teacher,
        protocol_slug="listening-to-my-peer-partner",
        text_slug="genesis-4-1-16",
    )
    worksheet = Worksheet.objects.get(assignment=assignment, havruta__memberships__student=world.student)
    answer(worksheet, "my_idea", "Cain was angry because nobody explained the rules.", world.student)
    answer(worksheet, "my_idea", "God gives Cain a second chance before anything happens.", world.partner)
    answer(worksheet, "clarifying_question", "Do you mean the offering rules?", world.partner)
    answer(worksheet, "got_it_right", "partly", world.student)
    answer(worksheet, "ideas_together", "Both ideas are about warnings that come before the story turns.")
    return worksheet


def _url(worksheet: Worksheet) -> str:
    return reverse("worksheets:worksheet_pdf", args=[worksheet.pk])


def test_it_prints_every_answer_under_the_name_of_who_wrote_it(world: World, worked: Worksheet) -> None:
    text = flat(pdf_text(worksheet_pdf(worked)))
    assert "Havruta partners: Dana (Partner A) · Eli (Partner B)" in text
    assert "Dana (Partner A) wrote: Cain was angry because nobody explained the rules." in text
    assert "Eli (Partner B) wrote: God gives Cain a second chance before anything happens." in text
    # A personal field only Eli answered: Dana's slot says so.
    assert "Dana (Partner A) wrote: No answer. Eli (Partner B) wrote: Do you mean the offering rules?" in text
    # Choices print every option with the chosen one marked.
    assert "Partly: my partner added or changed something (chosen)" in text
    # A shared answer, with the havruta it belongs to.
    assert "Both ideas are about warnings that come before the story turns. Shared answer of Dana, Eli" in text
    # Every field of the protocol is there, answered or not.
    for field in fixture_protocol("listening-to-my-peer-partner")["fields"]:
        assert squash(field["label"]) in squash(text)
    # The text, with its Hebrew in logical order, in the shipped font only.
    assert "Cain and Abel" in text
    assert "והאדם ידע את־חוה" in letters(text)
    document = worksheet_pdf(worked)
    assert pdf_fonts(document) <= {"Havruta-Hebrew", "Havruta-Hebrew-Bold"}
    assert_accessible(document, title="Listening to My Peer Partner · Havruta 1 · Dana, Eli")
    save_pngs(document, "completed-worksheet")


@pytest.mark.parametrize("persona", ["student", "partner", "teacher", "co_teacher"])
def test_it_lets_the_havruta_and_its_teachers_print_it(world: World, worked: Worksheet, persona: str) -> None:
    response = client_for(world, persona).get(_url(worked) + "?paper=a4")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Cain was angry because nobody explained the rules." in flat(pdf_text(response.content))


@pytest.mark.parametrize("persona", ["classmate", "classmate_partner", "outsider", "other_teacher", "staff"])
def test_it_hides_it_from_everyone_else(world: World, worked: Worksheet, persona: str) -> None:
    assert client_for(world, persona).get(_url(worked)).status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(world: World, worked: Worksheet) -> None:
    response = client_for(world, "anonymous").get(_url(worked))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_it_answers_404_for_a_worksheet_that_does_not_exist(world: World) -> None:
    assert client_for(world, "teacher").get(reverse("worksheets:worksheet_pdf", args=[999999])).status_code == 404


def test_it_reads_who_typed_what_from_the_shared_document() -> None:
    """Text inserts carry {"a": "<user id>"} (worksheets/PROTOCOL.md); a real Yjs document."""
    doc = Doc()
    meaning = doc.get("possible_meaning", type=Text)
    meaning.insert(0, "Maybe Cain ", attrs={"a": "12"})
    meaning.insert(len(str(meaning)), "was jealous of his brother.", attrs={"a": "15"})
    details = doc.get("details", type=Array)
    entry = Text()
    details.append(entry)
    entry.insert(0, "line 4 says firstlings", attrs={"a": "12"})
    fields = [
        {"key": "possible_meaning", "kind": "long_text"},
        {"key": "details", "kind": "list"},
        {"key": "share_sentence", "kind": "short_text"},
    ]
    authorship = text_authorship(doc.get_update(), fields)
    assert authorship == {
        "possible_meaning": {"12": len("Maybe Cain"), "15": len("was jealous of his brother.")},
        "details": {"12": len("line 4 says firstlings")},
    }


def test_it_prints_a_students_reflection_for_a_parent_conference(world: World) -> None:
    data = fixture_protocol("self-assessment")
    values = {
        "rate_listening": "3",
        "example_listening": "I said back Eli's idea before I answered.",
        "goal": "Ask more",
    }
    document = answers_pdf(title=data["title"], student=world.student, fields=data["fields"], values=values)
    text = flat(pdf_text(document))
    assert "Dana" in text and data["title"] in text
    assert "Often (chosen)" in text
    assert "I said back Eli's idea before I answered." in text
    assert "My goal for next time Ask more" in text


def _store_shared_edit(worksheet: Worksheet, doc: Doc, since: bytes | None = None) -> bytes:
    """Store the document's new edits in the update log, as the live server does; returns the state."""
    update = doc.get_update(since) if since is not None else doc.get_update()
    DocUpdate.objects.create(worksheet=worksheet, data=update, created_at=timezone.now())
    return doc.get_state()


def test_it_prints_who_typed_how_much_of_a_shared_answer(world: World, worked: Worksheet) -> None:
    """Read from the stored shared document (a compacted snapshot plus later log rows)."""
    doc = Doc()
    together = doc.get("ideas_together", type=Text)
    together.insert(0, "Both ideas are about warnings", attrs={"a": str(world.student.pk)})
    DocSnapshot.objects.create(worksheet=worked, state=doc.get_update(), version=1)
    state = doc.get_state()
    together.insert(len(str(together)), " that come before the story turns.", attrs={"a": str(world.partner.pk)})
    _store_shared_edit(worked, doc, since=state)
    text = flat(pdf_text(worksheet_pdf(worked)))
    # 29 letters of Dana's, 33 of Eli's (spaces inside a stretch count, the ends do not): most first.
    assert "Both ideas are about warnings that come before the story turns." in text
    assert "Written by Eli (53%), Dana (47%)" in text


def test_it_prints_the_teachers_comments(world: World, worked: Worksheet) -> None:
    comment_create(
        worksheet=worked, by=world.teacher, field_id="shared:ideas_together", text="Which line says warning?"
    )
    done = comment_create(
        worksheet=worked,
        by=world.co_teacher,
        field_id=f"student-{world.partner.pk}:clarifying_question",
        text="A good question: ask it in class.",
    )
    comment_mark_done(comment=done, by=world.partner)
    text = flat(pdf_text(worksheet_pdf(worked)))
    assert "Teacher comments" in text
    comments = text.split("Teacher comments", 1)[1]
    assert "Which line says warning?" in comments
    assert "A good question: ask it in class." in comments
    assert world.teacher.name in comments and world.co_teacher.name in comments
    assert "Clarifying" in comments or "question" in comments  # the box each comment was pinned to
    assert "Eli" in comments and "marked done by the havruta" in comments


def test_it_marks_an_answer_written_in_hebrew_as_hebrew(world: World, worked: Worksheet) -> None:
    answer(worked, "what_i_learned", "לָמַדְתִּי שֶׁקַּיִן כָּעַס", world.student)
    document = worksheet_pdf(worked)
    # The text's 16 segments and reference, plus Dana's answer.
    assert struct_languages(document).get("he", 0) >= 16 + 1 + 1
    assert "למדתי שקין כעס" in letters(pdf_text(document))
    assert missing_glyphs(document) == set()


def test_it_reads_a_whole_packet_in_a_fixed_number_of_queries(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    def lesson(groups: int) -> list[Worksheet]:
        students = [make_student(classroom=world.classroom, name=f"S{groups}-{n:02d}") for n in range(2 * groups)]
        session = make_session(classroom=world.classroom, groups=[students[i : i + 2] for i in range(0, 2 * groups, 2)])
        assignment = assign(
            session=session, by=world.teacher, protocol_slug="noticing-and-wondering", text_slug="avot-1-6"
        )
        worksheets = list(
            Worksheet.objects.filter(assignment=assignment)
            .select_related("assignment__protocol_version", "assignment__classroom", "assignment__text", "havruta")
            .order_by("havruta__number")
        )
        for worksheet in worksheets:
            answer(worksheet, "chosen_question", "Why?")
            doc = Doc()
            doc.get("chosen_question", type=Text).insert(0, "Why?", attrs={"a": "1"})
            _store_shared_edit(worksheet, doc)
        return worksheets

    small, large = lesson(2), lesson(8)
    # members, answers, snapshots, update log, comments, the text's segments
    with django_assert_num_queries(6):
        assert len(worksheets_data(small)) == 2
    with django_assert_num_queries(6):
        assert len(worksheets_data(large)) == 8
