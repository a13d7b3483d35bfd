"""Plain-text labels that mix directions: an English step title inside a Hebrew sentence."""

from __future__ import annotations

from django.utils import translation

from classrooms.selectors_live import StepInfo, isolate


def test_it_isolates_an_english_title_only_in_a_right_to_left_interface() -> None:
    with translation.override("he"):
        assert isolate("Wonder together") == "\u2068Wonder together\u2069"
        assert isolate("") == ""
    with translation.override("en"):
        assert isolate("Wonder together") == "Wonder together"


def test_it_keeps_the_colon_of_a_hebrew_step_label_outside_the_english_title() -> None:
    step = StepInfo(
        index=0, assignment_id=1, key="wonder", title="Wonder together", minutes=5, number=2, count=3, protocol_title=""
    )
    with translation.override("he"):
        label = step.label
    assert "\u2068Wonder together\u2069" in label
    assert label.index(":") < label.index("\u2068")  # the label's own colon stays in the Hebrew run
