"""Reading the reflection, portrait and class portrait forms into service inputs.

The reflection form's fields come from frozen protocol versions, so there is no fixed Django
Form: these functions read the POST by the names the templates write (``r-<key>`` for the
reflection questions, ``a-<key>`` for the self-assessment, ``intention-<n>-kept`` ...). The
plain form and the autosave request send the same names, so one parser serves both; checking
the values is the service's job (``reflections.services.reflection_save``).
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from reflections.answers import fields_of
from reflections.models import Reflection
from reflections.services import SKIP_TAGS, ReflectionInput

TRUE_VALUES = {"1", "on", "true", "yes"}


def _section(post: QueryDict, data: dict[str, Any], prefix: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in fields_of(data, skip_tags=SKIP_TAGS):
        name = f"{prefix}-{spec['key']}"
        if spec.get("kind") == "checklist":
            values[spec["key"]] = post.getlist(name)
        elif name in post:
            values[spec["key"]] = post.get(name, "")
    return values


def reflection_input(post: QueryDict, reflection: Reflection) -> ReflectionInput:
    """The whole reflection as the form sent it (a missing answer means a blank one)."""
    intentions = [
        {
            "kept": post.get(f"intention-{index}-kept", ""),
            "evidence": post.get(f"intention-{index}-evidence", ""),
            "next_time": post.get(f"intention-{index}-next_time", ""),
        }
        for index in range(len(reflection.intentions))
    ]
    return ReflectionInput(
        reflection=_section(post, reflection.reflection_version.data, "r"),
        assessment=_section(post, reflection.assessment_version.data, "a"),
        intentions=intentions,
        previous_goal_met=post.get("previous_goal_met", ""),
        appreciation=post.get("appreciation", ""),
        send_appreciation=post.get("send_appreciation", "").lower() in TRUE_VALUES,
    )


def portrait_answers(post: QueryDict, data: dict[str, Any]) -> dict[str, Any]:
    return _section_all(post, data, "p")


def _section_all(post: QueryDict, data: dict[str, Any], prefix: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in fields_of(data):
        name = f"{prefix}-{spec['key']}"
        if spec.get("kind") == "checklist":
            values[spec["key"]] = post.getlist(name)
        elif name in post:
            values[spec["key"]] = post.get(name, "")
    return values


def class_portrait_items(post: QueryDict, corners: tuple[str, ...]) -> list[dict[str, str]]:
    """Chosen student lines (``pick`` = "corner|text") then the teacher's own lines, one per line."""
    items = []
    for picked in post.getlist("pick"):
        corner, _sep, text = picked.partition("|")
        items.append({"corner": corner, "text": text})
    for corner in corners:
        for line in post.get(f"own-{corner}", "").splitlines():
            if line.strip():
                items.append({"corner": corner, "text": line})
    return items
