"""The protocol validator (protocols/validation.py): plain Python, no database."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.validation import (
    TEACHER_ONLY_KEYS,
    protocol_student_view,
    teacher_only_strings,
    validate_library,
    validate_protocol,
    validate_text,
)
from tests.protocols_fixtures import FIXTURES, PROTOCOL_SLUGS, TEXT_SLUGS, fixture_practices, fixture_protocol

PRACTICES = fixture_practices()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_it_accepts_every_shipped_protocol() -> None:
    protocols = {f"{slug}.json": fixture_protocol(slug) for slug in PROTOCOL_SLUGS}
    assert validate_library(protocols, PRACTICES) == []


ISSUE_TITLES = (
    "Havruta Warm Up",
    "Listening to the Text",
    "Listening to My Peer Partner",
    "Noticing and Wondering",
    "Is There Another Way of Understanding That?",
    "I Agree/Disagree because...",
    "Joys and Oys",
    "This is not an X",
    "Fortunately, Unfortunately",
    "Reflection Questions",
    "Student Self-Assessment for Havruta Learning",
    "Portrait of a Learning Partner",
)


def test_it_ships_every_protocol_the_issue_names() -> None:
    protocols = [fixture_protocol(slug) for slug in PROTOCOL_SLUGS]
    titles = {p["title"] for p in protocols}
    missing = [title for title in ISSUE_TITLES if title not in titles]
    assert missing == []
    # Each one has a teacher and a student version (the validator checks what is in them).
    assert all(p["teacher"]["purpose"] and p["student"]["summary"] for p in protocols)

    # The Havruta Warm Up in its two age variants.
    warm_ups = {tuple(p["age_bands"]): p for p in protocols if p["title"] == "Havruta Warm Up"}
    assert set(warm_ups) == {("high-school", "adult"), ("upper-elementary", "middle-school")}
    assert warm_ups[("high-school", "adult")]["variant_label"] == "High school and adults"
    assert warm_ups[("upper-elementary", "middle-school")]["variant_label"] == "Upper elementary and middle school"
    assert {p["variant_of"] for p in warm_ups.values()} == {"havruta-warm-up"}

    # At least three advisory activities, each tied to a short piece of Torah wisdom.
    advisories = [p for p in protocols if p["category"] == "advisory"]
    assert len(advisories) >= 3
    for advisory in advisories:
        wisdom = advisory["torah_wisdom"]
        assert wisdom["reference"].strip() and wisdom["teaching"].strip(), advisory["slug"]
        assert len(wisdom["teaching"].split()) <= 80, f"{advisory['slug']}: the Torah wisdom is meant to be short"
    assert len({p["torah_wisdom"]["reference"] for p in advisories}) == len(advisories)


@pytest.mark.parametrize("slug", TEXT_SLUGS)
def test_it_accepts_every_shipped_text(slug: str) -> None:
    data = json.loads((FIXTURES / "texts" / f"{slug}.json").read_text(encoding="utf-8"))
    assert validate_text(data, source=f"{slug}.json") == []


def _broken(mutate: Any, slug: str = "listening-to-the-text") -> list[str]:
    data = fixture_protocol(slug)
    mutate(data)
    return validate_protocol(data, PRACTICES)


def _one_matching(problems: list[str], *needles: str) -> str:
    matching = [p for p in problems if all(n in p for n in needles)]
    assert matching, problems
    return matching[0]


def test_it_rejects_a_missing_teacher_part() -> None:
    problems = _broken(lambda d: d.pop("teacher"))
    assert _one_matching(problems, "missing the teacher part").startswith("listening-to-the-text: ")


def test_it_rejects_a_missing_student_part() -> None:
    problems = _broken(lambda d: d.pop("student"))
    assert _one_matching(problems, "missing the student part").startswith("listening-to-the-text: ")


def test_it_rejects_duplicate_field_keys() -> None:
    def duplicate(d: dict[str, Any]) -> None:
        d["fields"].append(copy.deepcopy(d["fields"][0]))

    problems = _broken(duplicate)
    first_key = fixture_protocol("listening-to-the-text")["fields"][0]["key"]
    assert _one_matching(problems, "duplicate field key", first_key).startswith("listening-to-the-text: ")


def test_it_rejects_a_scale_without_labels() -> None:
    def unlabel(d: dict[str, Any]) -> None:
        d["fields"][0]["scale"] = []

    problems = _broken(unlabel, slug="self-assessment")
    assert _one_matching(problems, "scale field 'rate_listening'", "without labels").startswith("self-assessment: ")

    def blank_label(d: dict[str, Any]) -> None:
        d["fields"][0]["scale"][1]["label"] = ""

    assert _one_matching(_broken(blank_label, slug="self-assessment"), "point 2", "without labels")


def test_it_rejects_a_field_pointing_at_a_missing_step() -> None:
    def point_away(d: dict[str, Any]) -> None:
        d["fields"][0]["step"] = "no-such-step"

    problems = _broken(point_away)
    assert _one_matching(problems, "points at missing step 'no-such-step'").startswith("listening-to-the-text: ")


def test_it_rejects_unknown_practices_triangle_corners_and_stances() -> None:
    def unknown(d: dict[str, Any]) -> None:
        d["practices"].append("juggling")
        d["triangle"].append("the-teacher")
        d["stances"].append("be-quick")
        d["fields"][0]["practice"] = "shouting"

    problems = _broken(unknown)
    _one_matching(problems, "listening-to-the-text: unknown practice 'juggling'")
    _one_matching(problems, "listening-to-the-text: unknown triangle corner 'the-teacher'")
    _one_matching(problems, "listening-to-the-text: unknown stance 'be-quick'")
    _one_matching(problems, "unknown practice 'shouting'")


def test_it_rejects_bad_kind_scope_and_who() -> None:
    def bad(d: dict[str, Any]) -> None:
        d["fields"][0]["kind"] = "essay"
        d["fields"][1]["scope"] = "everyone"
        d["steps"][0]["who"] = "partner_c"

    problems = _broken(bad)
    _one_matching(problems, "unknown kind 'essay'")
    _one_matching(problems, "unknown scope 'everyone'")
    _one_matching(problems, "unknown who 'partner_c'")


def test_it_rejects_a_choice_without_options() -> None:
    def no_options(d: dict[str, Any]) -> None:
        field = next(f for f in d["fields"] if f["kind"] == "choice")
        field["options"] = []

    problems = _broken(no_options, slug="havruta-warm-up-younger")
    _one_matching(problems, "havruta-warm-up-younger: choice field", "has no options")


def test_it_names_the_file_when_two_files_define_one_slug() -> None:
    data = fixture_protocol("joys-and-oys")
    problems = validate_library({"joys-and-oys.json": data, "copy.json": data}, PRACTICES)
    _one_matching(problems, "joys-and-oys: defined twice")


def test_it_requires_torah_wisdom_for_an_advisory() -> None:
    problems = _broken(lambda d: d.update(torah_wisdom=None), slug="advisory-who-is-wise")
    _one_matching(problems, "advisory-who-is-wise: an advisory activity must be tied to a piece of Torah wisdom")


MUTATIONS = {
    "no teacher": (lambda d: d.pop("teacher"), "missing the teacher part"),
    "no student": (lambda d: d.pop("student"), "missing the student part"),
    "duplicate key": (lambda d: d["fields"].append(dict(d["fields"][-1])), "duplicate field key"),
    "missing step": (lambda d: d["fields"][-1].update(step="gone"), "points at missing step"),
    "unknown practice": (lambda d: d["practices"].append("nope"), "unknown practice"),
}


@settings(max_examples=60, deadline=None)
@given(slug=st.sampled_from(PROTOCOL_SLUGS), mutation=st.sampled_from(sorted(MUTATIONS)))
def test_it_names_the_protocol_and_the_problem_for_any_broken_protocol(slug: str, mutation: str) -> None:
    mutate, expected = MUTATIONS[mutation]
    data = fixture_protocol(slug)
    mutate(data)
    problems = validate_protocol(data, PRACTICES)
    assert any(p.startswith(f"{slug}: ") and expected in p for p in problems), problems


@settings(max_examples=40, deadline=None)
@given(slug=st.sampled_from(PROTOCOL_SLUGS))
def test_it_strips_every_teacher_only_sentence_from_the_student_view(slug: str) -> None:
    data = fixture_protocol(slug)
    student = protocol_student_view(data)
    student_strings = _strings(student)
    secrets = teacher_only_strings(data, PRACTICES)
    assert secrets, "every protocol has teacher-only content"
    for secret in secrets:
        assert not any(secret in s for s in student_strings), secret
    assert not set(TEACHER_ONLY_KEYS) & set(student)
    assert all("teacher_notes" not in step for step in student["steps"])
    # The student part itself is untouched.
    assert student["student"] == data["student"]
    assert student["fields"] == data["fields"]
    assert [s["instructions"] for s in student["steps"]] == [s["instructions"] for s in data["steps"]]
    # And the original is not modified.
    assert data == fixture_protocol(slug)
