"""The worksheet page (/worksheets/<pk>/): what each persona sees, rendered by the server.

The live editing itself is the bundle's job (tests/test_browser_worksheet.py); here we check the
page it binds to: fields by kind with real labels, only the student version of the protocol, the
text in Hebrew (right to left) beside English, who may write, and who gets a 404.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
import tinyhtml5
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from classrooms.models import Assignment, Havruta, HavrutaMember
from protocols.models import Protocol, TextSegment
from tests.conftest import PERSONAS, World, client_for
from tests.factories import make_student
from tests.worksheet_page_fixtures import PROTOCOL_FOR_KIND, assign_worksheet
from worksheets.models import Worksheet
from worksheets.views import OTHER_COLOR, SEAT_COLORS, TEACHER_COLOR

ALLOWED = {"student": True, "partner": True, "teacher": False, "co_teacher": False}


def url(worksheet: Worksheet) -> str:
    return reverse("worksheets:detail", args=[worksheet.pk])


def page(world: World, persona: str, worksheet: Worksheet) -> tuple[Element, str]:
    response = client_for(world, persona).get(url(worksheet))
    assert response.status_code == 200
    html = response.content.decode()
    return tinyhtml5.parse(html, namespace_html_elements=False), html


def config_of(tree: Element) -> dict:
    node = tree.find(".//script[@id='worksheet-config']")
    assert node is not None
    return json.loads(node.text or "")


def text_of(element: Element) -> str:
    return " ".join("".join(element.itertext()).split())


def box(tree: Element, field_id: str) -> Element:
    found = tree.find(f".//*[@data-field-id='{field_id}']")
    assert found is not None, f"no box for {field_id}"
    return found


def label_for(tree: Element, control: Element) -> str:
    label = tree.find(f".//label[@for='{control.get('id')}']")
    assert label is not None, f"control {control.get('id')} has no <label>"
    return text_of(label)


# ---------------------------------------------------------------------------------------------
# Who may open it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_opens_for_the_havruta_and_its_teachers_and_404s_for_everyone_else(world: World, persona: str) -> None:
    worksheet = assign_worksheet(world)
    response = client_for(world, persona).get(url(worksheet))
    if persona not in ALLOWED:
        assert response.status_code == 404
        assert b"Listening to the Text" not in response.content
        return
    assert response.status_code == 200
    config = config_of(tinyhtml5.parse(response.content.decode(), namespace_html_elements=False))
    assert config["canWrite"] is ALLOWED[persona]
    assert config["me"]["role"] == ("student" if ALLOWED[persona] else "teacher")


def test_it_404s_for_a_worksheet_that_does_not_exist(world: World) -> None:
    response = client_for(world, "student").get(reverse("worksheets:detail", args=[999_999]))
    assert response.status_code == 404


def test_it_404s_for_the_classmates_worksheet(world: World) -> None:
    theirs = assign_worksheet(world, student=world.classmate)
    assert client_for(world, "student").get(url(theirs)).status_code == 404
    assert client_for(world, "classmate").get(url(theirs)).status_code == 200


def test_it_404s_after_the_student_moves_to_another_class(world: World) -> None:
    worksheet = assign_worksheet(world)
    enrollment = world.partner.enrollment
    enrollment.classroom = world.other_class
    enrollment.save(update_fields=["classroom"])
    assert client_for(world, "partner").get(url(worksheet)).status_code == 404


# ---------------------------------------------------------------------------------------------
# Fields by kind
# ---------------------------------------------------------------------------------------------


def test_it_renders_text_and_list_fields_with_labels_help_and_dir_auto(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-the-text")
    tree, _html = page(world, "student", worksheet)

    meaning = box(tree, "shared:possible_meaning")
    textarea = meaning.find(".//textarea")
    assert textarea is not None
    assert textarea.get("dir") == "auto"
    assert textarea.get("readonly") is None
    assert label_for(tree, textarea) == "A possible meaning"
    help_node = tree.find(f".//*[@id='{textarea.get('aria-describedby')}']")
    assert help_node is not None
    assert "Which details does it grow from?" in text_of(help_node)

    share = box(tree, "shared:share_sentence")
    line = share.find(".//input[@type='text']")
    assert line is not None
    assert line.get("dir") == "auto"
    assert label_for(tree, line) == "Our sentence to share"

    details = box(tree, "shared:details")
    assert details.get("data-kind") == "list"
    assert details.find(".//ol[@data-bind='list']") is not None
    legend = details.find(".//legend")
    assert legend is not None
    assert text_of(legend) == "Details we noticed"
    add = details.find(".//button[@data-action='add-entry']")
    assert add is not None
    assert text_of(add) == "Add entry: Details we noticed"


def test_it_renders_choice_as_radios_with_labels(world: World) -> None:
    worksheet = assign_worksheet(world, protocol=PROTOCOL_FOR_KIND["choice"])
    tree, _html = page(world, "student", worksheet)
    mine = box(tree, f"student-{world.student.pk}:my_position")
    radios = mine.findall(".//input[@type='radio']")
    assert [label_for(tree, r) for r in radios] == ["I agree", "I disagree", "I'm not sure yet"]
    assert [r.get("value") for r in radios] == ["agree", "disagree", "not_sure"]
    assert len({r.get("name") for r in radios}) == 1
    assert all(r.get("disabled") is None for r in radios)


def test_it_renders_scale_as_radios_with_labelled_points(world: World) -> None:
    worksheet = assign_worksheet(world, protocol=PROTOCOL_FOR_KIND["scale"])
    tree, _html = page(world, "student", worksheet)
    mine = box(tree, f"student-{world.student.pk}:rate_listening")
    assert mine.get("data-kind") == "scale"
    radios = mine.findall(".//ol[@class='scale']//input[@type='radio']")
    assert [label_for(tree, r) for r in radios] == ["1 Rarely", "2 Sometimes", "3 Often", "4 Almost always"]


def test_it_renders_checklist_as_checkboxes(world: World) -> None:
    worksheet = assign_worksheet(world, protocol=PROTOCOL_FOR_KIND["checklist"])
    tree, _html = page(world, "student", worksheet)
    mine = box(tree, f"student-{world.student.pk}:helps_me_learn")
    boxes = mine.findall(".//input[@type='checkbox']")
    assert len(boxes) >= 3
    assert label_for(tree, boxes[0]) == "A little quiet time to think before I talk"


def test_it_puts_dir_auto_on_every_text_input(world: World) -> None:
    for slug in sorted(set(PROTOCOL_FOR_KIND.values())):
        worksheet = assign_worksheet(world, protocol=slug)
        tree, _html = page(world, "student", worksheet)
        form = tree.find(".//*[@id='worksheet-form']")
        assert form is not None
        controls = form.findall(".//textarea") + form.findall(".//input[@type='text']")
        assert controls, slug
        for control in controls:
            assert control.get("dir") == "auto", (slug, control.get("id"))
            label_for(tree, control)


def test_it_gives_me_my_personal_box_to_write_and_shows_my_partners_read_only(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-my-peer-partner")
    tree, _html = page(world, "student", worksheet)
    mine = box(tree, f"student-{world.student.pk}:my_idea").find(".//textarea")
    theirs = box(tree, f"student-{world.partner.pk}:my_idea").find(".//textarea")
    assert mine is not None and theirs is not None
    assert mine.get("readonly") is None
    assert theirs.get("readonly") is not None
    assert label_for(tree, mine) == "My idea: Your answer"
    assert label_for(tree, theirs) == "My idea: Eli’s answer"
    # Mine comes first.
    boxes = [b.get("data-doc") for b in tree.findall(".//*[@data-key='my_idea']")]
    assert boxes == [f"student-{world.student.pk}", f"student-{world.partner.pk}"]

    docs = {d["name"]: d for d in config_of(tree)["docs"]}
    assert docs["shared"] == {"name": "shared", "path": f"/ws/worksheets/{worksheet.pk}/", "writable": True}
    assert docs[f"student-{world.student.pk}"]["writable"] is True
    assert docs[f"student-{world.student.pk}"]["path"] == (
        f"/ws/worksheets/{worksheet.pk}/students/{world.student.pk}/"
    )
    assert docs[f"student-{world.partner.pk}"]["writable"] is False


def test_it_names_the_partner_for_partner_a_and_b_steps(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="havruta-warm-up")
    _tree, html = page(world, "student", worksheet)
    assert "Partner A (you)" in html
    assert "Partner B (Eli)" in html


# ---------------------------------------------------------------------------------------------
# Student version only, and the text
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["student", "teacher"])
def test_it_never_shows_teacher_only_content(world: World, persona: str) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-the-text")
    data = worksheet.assignment.protocol_version.data
    _tree, html = page(world, persona, worksheet)
    assert data["student"]["summary"] in html
    teacher = data["teacher"]
    hidden = [teacher["purpose"][:60], teacher["preparation"][:60], teacher["timing"][:60]]
    hidden += [item[:60] for item in teacher["listen_for"] + teacher["debrief"]]
    hidden += [text[:60] for text in teacher["adaptations"].values()]
    hidden += [step["teacher_notes"][:60] for step in data["steps"] if step.get("teacher_notes")]
    for snippet in hidden:
        assert snippet not in html, snippet
    # The student parts are all there.
    for step in data["steps"]:
        assert step["title"] in html
    assert "I notice that the text says..." in html


def test_it_keeps_the_protocol_as_assigned_after_the_library_changes(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-the-text")
    Protocol.objects.filter(slug="listening-to-the-text").update(summary="A changed summary.")
    _tree, html = page(world, "student", worksheet)
    assert "A changed summary." not in html
    assert worksheet.assignment.protocol_version.data["student"]["summary"] in html


def test_it_shows_numbered_hebrew_segments_right_to_left_beside_english(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-the-text", text="genesis-4-1-16")
    tree, _html = page(world, "student", worksheet)
    pane = tree.find(".//*[@id='worksheet-text']")
    assert pane is not None
    segments = pane.findall(".//li[@class='segment']")
    first = TextSegment.objects.filter(text=worksheet.assignment.text).order_by("position").first()
    assert first is not None
    assert len(segments) == TextSegment.objects.filter(text=worksheet.assignment.text).count()
    hebrew = segments[0].find(".//p[@lang='he']")
    english = segments[0].find(".//p[@lang='en']")
    assert hebrew is not None and english is not None
    assert hebrew.get("dir") == "rtl"
    assert english.get("dir") == "ltr"
    assert text_of(hebrew) == first.he
    assert "4:1" in text_of(segments[0])
    # Small screens get a toggle between the text and the worksheet.
    toggle = [text_of(b) for b in tree.findall(".//*[@class='pane-toggle']/button")]
    assert toggle == ["Text", "Worksheet"]


def test_it_leaves_out_the_text_pane_when_there_is_no_text(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="joys-and-oys", text=None)
    tree, _html = page(world, "student", worksheet)
    assert tree.find(".//*[@id='worksheet-text']") is None
    assert tree.find(".//*[@class='pane-toggle']") is None
    assert box(tree, f"student-{world.student.pk}:my_joy") is not None


# ---------------------------------------------------------------------------------------------
# Read-only views
# ---------------------------------------------------------------------------------------------


def _assert_read_only(tree: Element) -> None:
    form = tree.find(".//*[@id='worksheet-form']")
    assert form is not None
    for control in form.findall(".//textarea") + form.findall(".//input[@type='text']"):
        assert control.get("readonly") is not None, control.get("id")
    for control in form.findall(".//input[@type='radio']") + form.findall(".//input[@type='checkbox']"):
        assert control.get("disabled") is not None, control.get("id")
    assert form.find(".//button[@data-action='add-entry']") is None
    assert form.find(".//button[@data-starter]") is None
    config = config_of(tree)
    assert config["canWrite"] is False
    assert all(doc["writable"] is False for doc in config["docs"])


@pytest.mark.parametrize("persona", ["teacher", "co_teacher"])
def test_it_is_read_only_for_the_class_teachers(world: World, persona: str) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-my-peer-partner")
    tree, html = page(world, persona, worksheet)
    _assert_read_only(tree)
    assert "as their teacher" in html
    # A teacher sees every member's personal box, named.
    for student in (world.student, world.partner):
        box(tree, f"student-{student.pk}:my_idea")
    assert "Dana’s answer" in html and "Eli’s answer" in html
    assert "Let the havruta see that I am listening" in html


def test_it_is_read_only_when_the_assignment_is_closed(world: World) -> None:
    worksheet = assign_worksheet(world)
    Assignment.objects.filter(pk=worksheet.assignment_id).update(status=Assignment.Status.CLOSED)
    tree, html = page(world, "student", worksheet)
    _assert_read_only(tree)
    assert "This assignment is closed" in html


def test_it_is_read_only_when_the_session_has_ended(world: World) -> None:
    worksheet = assign_worksheet(world)
    world.session.ended_at = timezone.now()
    world.session.save(update_fields=["ended_at"])
    tree, html = page(world, "partner", worksheet)
    _assert_read_only(tree)
    assert "learning time for this lesson has ended" in html


# ---------------------------------------------------------------------------------------------
# What the bundle is given
# ---------------------------------------------------------------------------------------------


def test_it_passes_the_bundle_its_config_without_inline_scripts(world: World) -> None:
    worksheet = assign_worksheet(world, protocol="listening-to-my-peer-partner")
    tree, html = page(world, "student", worksheet)
    config = config_of(tree)
    assert config["worksheet"] == worksheet.pk
    assert config["wsPath"] == f"/ws/worksheets/{worksheet.pk}/"
    assert config["me"] == {"id": world.student.pk, "name": "Dana", "color": SEAT_COLORS["A"], "role": "student"}
    assert config["members"] == [
        {"id": world.student.pk, "name": "Dana", "seat": "A", "color": SEAT_COLORS["A"]},
        {"id": world.partner.pk, "name": "Eli", "seat": "B", "color": SEAT_COLORS["B"]},
    ]
    keys = [f["key"] for f in config["fields"]]
    assert keys == [f["key"] for f in worksheet.assignment.protocol_version.data["fields"]]
    assert {f["kind"] for f in config["fields"]} >= {"long_text", "short_text", "choice"}
    # Scripts: the JSON config and the committed bundle, nothing inline, nothing from elsewhere.
    scripts = tree.findall(".//script")
    assert scripts
    for script in scripts:
        if script.get("src"):
            assert script.get("src") in (
                "/static/js/worksheet.bundle.js",
                "/static/js/live_common.js",
                "/static/js/worksheet_events.js",
            )
        else:
            assert script.get("type") == "application/json"
    assert "<noscript>" in html
    assert "Live editing needs JavaScript" in html
    # Status is visible from the start. It is no live region (it changes with every keystroke): the
    # page's paced announcer says when the connection is lost and back (tests/test_a11y_announcements.py).
    status = tree.find(".//*[@data-worksheet-status]")
    assert status is not None
    assert status.get("role") is None and status.get("aria-live") is None
    announcer = tree.find(".//*[@id='worksheet-announcer']")
    assert announcer is not None and announcer.get("aria-live") == "polite"


def test_it_ships_the_built_bundle_and_its_sources(world: World) -> None:
    bundle = finders.find("js/worksheet.bundle.js")
    assert bundle, "static/js/worksheet.bundle.js is missing: run `npm run build` in frontend/"
    content = Path(bundle).read_text(encoding="utf-8")
    assert len(content) > 50_000  # Yjs is inside: nothing is fetched at run time
    assert "import " not in content.split("\n", 1)[1][:200]  # one self-contained IIFE
    root = Path(settings.BASE_DIR) / "frontend"
    package = json.loads((root / "package.json").read_text())
    assert {"yjs", "y-protocols", "y-indexeddb", "lib0"} <= set(package["dependencies"])
    assert "esbuild" in package["devDependencies"]
    assert (root / "package-lock.json").exists()


def _relative_luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("color", [*SEAT_COLORS.values(), OTHER_COLOR, TEACHER_COLOR])
def test_it_uses_person_colours_readable_as_text_on_white(color: str) -> None:
    contrast = (1.0 + 0.05) / (_relative_luminance(color) + 0.05)
    assert contrast >= 4.5, f"{color} has contrast {contrast:.2f} on white"


def test_it_gives_each_member_of_a_triad_a_different_colour(world: World) -> None:
    third = make_student(classroom=world.classroom, name="Tamar", pin="7777")
    havruta = Havruta.objects.get(session=world.session, memberships__student=world.student)
    HavrutaMember.objects.create(havruta=havruta, student=third, seat="C")
    worksheet = assign_worksheet(world)
    tree, _html = page(world, "partner", worksheet)
    colors = [m["color"] for m in config_of(tree)["members"]]
    assert len(colors) == 3
    assert len(set(colors)) == 3


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

# Session + user, the worksheet (with assignment, version, text, havruta, session, class), the
# members, the text's segments, the live session's notes (one UNION query, classrooms/selectors_live.py).
PAGE_QUERIES = 6


def test_it_answers_in_a_fixed_number_of_queries(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    small = assign_worksheet(world, protocol="joys-and-oys", text="avot-1-6")
    client = client_for(world, "student")
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(url(small)).status_code == 200

    # A triad on a long text with a long protocol costs the same.
    third = make_student(classroom=world.classroom, name="Tamar", pin="7777")
    havruta = Havruta.objects.get(session=world.session, memberships__student=world.student)
    HavrutaMember.objects.create(havruta=havruta, student=third, seat="C")
    large = assign_worksheet(world, protocol="self-assessment", text="genesis-18-20-33")
    assert TextSegment.objects.filter(text=large.assignment.text).count() > 10
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(url(large)).status_code == 200
    teacher = client_for(world, "teacher")
    with django_assert_num_queries(PAGE_QUERIES):
        assert teacher.get(url(large)).status_code == 200
