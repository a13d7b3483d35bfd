"""Blank protocol handouts as PDF: the student version and the teacher version.

Both are built from a frozen ``ProtocolVersion.data`` snapshot (the fixture's nested shape), so a
handout prints exactly the lesson that was assigned. The student version is built from
``protocol_student_view(data)``: teacher-only keys are removed before the template ever sees
them, so no template mistake can leak them.

Rendered blank handouts are cached (Django's cache) by protocol version hash, text slug and
content hash, version, paper, age band, interface language and a fingerprint of the print
templates and stylesheets, so a class printing the same handout thirty times renders it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from protocols.models import Protocol, ProtocolStep, Text
from protocols.pdf import PRINT_CSS_DIR, paper_or_default, render_pdf
from protocols.validation import protocol_student_view

VERSIONS = ("student", "teacher")
# Bands that get larger type and more room to write.
YOUNGER_BANDS = frozenset({"upper-elementary"})
HANDOUT_CACHE_SECONDS = 7 * 24 * 3600
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates" / "protocols" / "pdf"

ADAPTATION_LABELS = {
    "younger": gettext_lazy("Younger students"),
    "small_groups": gettext_lazy("Small groups and triads"),
    "online": gettext_lazy("Online learning"),
}
KIND_HINTS = {
    "short_text": gettext_lazy("a short answer"),
    "long_text": gettext_lazy("a few sentences"),
    "list": gettext_lazy("a list"),
    "choice": gettext_lazy("one choice"),
    "scale": gettext_lazy("a rating"),
    "checklist": gettext_lazy("checkboxes"),
}

# Emoji have no glyph in the shipped font (they would print as empty boxes). Scale labels such
# as "🙂 Sometimes" keep their words, and the three faces are drawn instead.
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")
_FACES = {"\U0001f61f": "worried", "\U0001f641": "worried", "\U0001f642": "smile", "\U0001f604": "grin"}
_FACES.update({"\U0001f600": "grin", "\U0001f603": "grin", "\U0001f610": "neutral"})


# --------------------------------------------------------------------------------------------
# The study text, as plain data (from a Text row, or from a fixture in tests and benchmarks)
# --------------------------------------------------------------------------------------------


# A segment longer than this (in characters, either language) prints stacked rather than side by
# side, so it can break between lines instead of overflowing a page as one unbreakable row.
LONG_SEGMENT = 900


@dataclass(frozen=True)
class Segment:
    label: str
    he: str
    en: str

    @property
    def long(self) -> bool:
        return max(len(self.he), len(self.en)) > LONG_SEGMENT


@dataclass(frozen=True)
class TextData:
    slug: str
    title: str
    reference: str = ""
    reference_he: str = ""
    he_version_title: str = ""
    he_license: str = ""
    en_version_title: str = ""
    en_license: str = ""
    segments: tuple[Segment, ...] = ()

    @property
    def languages(self) -> str:
        has_he = any(s.he for s in self.segments)
        has_en = any(s.en for s in self.segments)
        return "both" if has_he and has_en else ("he" if has_he else "en")

    @property
    def content_hash(self) -> str:
        payload = [
            self.title,
            self.reference,
            self.reference_he,
            self.he_version_title,
            self.he_license,
            self.en_version_title,
            self.en_license,
            [[s.label, s.he, s.en] for s in self.segments],
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:24]


def text_data(text: Text) -> TextData:
    """A Text row and its segments (one query) as plain data for the PDF templates."""
    return TextData(
        slug=text.slug,
        title=text.title,
        reference=text.reference,
        reference_he=text.reference_he,
        he_version_title=text.he_version_title,
        he_license=text.he_license,
        en_version_title=text.en_version_title,
        en_license=text.en_license,
        segments=tuple(Segment(s.label, s.he, s.en) for s in text.segments.order_by("position")),
    )


def text_data_from_fixture(data: Mapping[str, Any]) -> TextData:
    hebrew = data.get("hebrew") or {}
    english = data.get("english") or {}
    return TextData(
        slug=data["slug"],
        title=data["title"],
        reference=data.get("reference", ""),
        reference_he=data.get("reference_he", ""),
        he_version_title=hebrew.get("version_title", ""),
        he_license=hebrew.get("license", ""),
        en_version_title=english.get("version_title", ""),
        en_license=english.get("license", ""),
        segments=tuple(Segment(s["label"], s.get("he", ""), s.get("en", "")) for s in data["segments"]),
    )


# --------------------------------------------------------------------------------------------
# View models for the templates
# --------------------------------------------------------------------------------------------


@dataclass
class ScalePoint:
    value: Any
    label: str
    face: str | None


@dataclass
class FieldView:
    key: str
    label: str
    help: str
    kind: str
    scope: str
    scope_label: str
    lines: range = range(0)
    entries: range = range(0)
    options: list[str] = field(default_factory=list)
    scale: list[ScalePoint] = field(default_factory=list)
    stacked: bool = False
    summary: str = ""


@dataclass
class StepView:
    number: int
    key: str
    title: str
    who: str
    who_label: str
    minutes: int
    instructions: str
    sentence_starters: list[str]
    teacher_notes: str
    fields: list[FieldView]


def strip_emoji(label: str) -> str:
    return _EMOJI.sub("", label).strip()


def _face(label: str) -> str | None:
    for char in label:
        if char in _FACES:
            return _FACES[char]
    return None


def _who_label(who: str) -> str:
    try:
        return str(ProtocolStep.Who(who).label)
    except ValueError:
        return who


def field_view(item: Mapping[str, Any], *, younger: bool = False) -> FieldView:
    """One field with its writing space sized by kind (lines, numbered boxes, circles, boxes)."""
    kind = item.get("kind", "long_text")
    scope = item.get("scope", "shared")
    view = FieldView(
        key=item.get("key", ""),
        label=item.get("label", ""),
        help=item.get("help", ""),
        kind=kind,
        scope=scope,
        scope_label=_("On my own") if scope == "personal" else _("Together"),
    )
    options = [strip_emoji(str(o.get("label", o.get("value", "")))) for o in item.get("options") or []]
    scale = [
        ScalePoint(p.get("value"), strip_emoji(str(p.get("label", ""))), _face(str(p.get("label", ""))))
        for p in item.get("scale") or []
    ]
    if kind == "long_text":
        view.lines = range(5 if younger else 6)
    elif kind == "short_text":
        view.lines = range(1)
    elif kind == "list":
        view.entries = range(1, 4 if younger else 5)
    elif kind in ("choice", "checklist"):
        view.options = options
        view.stacked = any(len(label) > 34 for label in options) or len(options) <= 2
    elif kind == "scale":
        view.scale = scale
    else:  # an unknown kind still gets room to write
        view.lines = range(3)
    hint = str(KIND_HINTS.get(kind, ""))
    if kind in ("choice", "checklist") and options:
        hint = " · ".join(options)
    elif kind == "scale" and scale:
        hint = " · ".join(p.label for p in scale)
    view.summary = hint
    return view


def step_views(data: Mapping[str, Any], *, younger: bool = False) -> list[StepView]:
    fields_by_step: dict[str, list[FieldView]] = {}
    for item in data.get("fields") or []:
        fields_by_step.setdefault(item.get("step", ""), []).append(field_view(item, younger=younger))
    steps = []
    for number, step in enumerate(data.get("steps") or [], start=1):
        steps.append(
            StepView(
                number=number,
                key=step.get("key", ""),
                title=step.get("title", ""),
                who=step.get("who", ""),
                who_label=_who_label(step.get("who", "")),
                minutes=int(step.get("minutes") or 0),
                instructions=step.get("instructions", ""),
                sentence_starters=list(step.get("sentence_starters") or []),
                teacher_notes=step.get("teacher_notes", ""),
                fields=fields_by_step.pop(step.get("key", ""), []),
            )
        )
    # Fields pointing at a missing step still get writing space, in a last step of their own.
    orphans = [f for fields in fields_by_step.values() for f in fields]
    if orphans:
        steps.append(StepView(len(steps) + 1, "", _("More to write"), "", "", 0, "", [], "", orphans))
    return steps


@cache
def _library_names() -> dict[str, dict[str, str]]:
    """Display names from fixtures/practices.json, for snapshots made without ``names``."""
    path = Path(settings.BASE_DIR) / "fixtures" / "practices.json"
    try:
        practices = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        "practices": {p["slug"]: p["name"] for p in practices.get("practices", [])},
        "triangle": {p["slug"]: p["name"] for p in practices.get("triangle", [])},
        "stances": {s["slug"]: s["text"] for s in practices.get("stances", [])},
        "age_bands": {b["slug"]: b["name"] for b in practices.get("age_bands", [])},
    }


def _names(data: Mapping[str, Any], group: str, slugs: Iterable[str]) -> list[str]:
    own = (data.get("names") or {}).get(group) or {}
    fallback = _library_names().get(group, {})
    return [own.get(slug) or fallback.get(slug) or slug.replace("-", " ").capitalize() for slug in slugs]


def age_band_name(data: Mapping[str, Any], age: str) -> str:
    if not age:
        return ""
    return _names(data, "age_bands", [age])[0]


def handout_context(
    data: Mapping[str, Any], *, text: TextData | None, version: str, age: str = "", running_left: str = ""
) -> dict[str, Any]:
    """Everything the handout templates need, from a snapshot; the student version never sees
    teacher-only keys."""
    teacher = version == "teacher"
    source = dict(data) if teacher else protocol_student_view(data)
    younger = age in YOUNGER_BANDS
    steps = step_views(source, younger=younger)
    scopes = {f.get("scope", "shared") for f in source.get("fields") or []}
    title = source.get("title", "")
    title_full = f"{title} ({source['variant_label']})" if source.get("variant_label") else title
    context: dict[str, Any] = {
        "protocol": source,
        "title": title,
        "title_full": title_full,
        "version": version,
        "is_teacher": teacher,
        "steps": steps,
        "text": text if source.get("uses_text", True) or text is not None else None,
        "uses_text": bool(source.get("uses_text", True)),
        "age": age,
        "age_name": age_band_name(data, age),
        "younger": younger,
        "total_minutes": sum(step.minutes for step in steps) or source.get("duration_minutes") or 0,
        "running_left": running_left or _("Havruta Classroom"),
        "individual": bool(scopes) and scopes == {"personal"},
        # "Together" / "On my own" beside each field only says something when the protocol has both.
        "mixed_scopes": len(scopes) > 1,
    }
    if teacher:
        block = data.get("teacher") or {}
        context.update(
            teacher=block,
            practice_names=_names(data, "practices", data.get("practices") or []),
            triangle_names=_names(data, "triangle", data.get("triangle") or []),
            stance_texts=_names(data, "stances", data.get("stances") or []),
            adaptations=[
                (str(ADAPTATION_LABELS.get(key, key.replace("_", " ").capitalize())), value)
                for key, value in (block.get("adaptations") or {}).items()
                if value
            ],
            torah_wisdom=data.get("torah_wisdom") if isinstance(data.get("torah_wisdom"), dict) else None,
        )
    return context


def document_language() -> tuple[str, str]:
    """(lang, dir) of the interface language: the handout's own words follow it."""
    lang = translation.get_language() or settings.LANGUAGE_CODE
    return lang, "rtl" if translation.get_language_bidi() else "ltr"


def handout_title(data: Mapping[str, Any], *, version: str, text: TextData | None = None) -> str:
    title = data.get("title", "")
    if data.get("variant_label"):
        title = f"{title} ({data['variant_label']})"
    kind = _("Teacher guide") if version == "teacher" else _("Student handout")
    parts = [title, kind]
    if text is not None:
        parts.insert(1, text.title)
    return " · ".join(parts)


def handout_html(
    data: Mapping[str, Any],
    *,
    text: TextData | None = None,
    version: str = "student",
    age: str = "",
    running_left: str = "",
) -> str:
    version = version if version in VERSIONS else "student"
    context = handout_context(data, text=text, version=version, age=age, running_left=running_left)
    lang, direction = document_language()
    context.update(lang=lang, dir=direction, doc_title=handout_title(data, version=version, text=text))
    return render_to_string(f"protocols/pdf/handout_{version}.html", context)


def handout_pdf(
    data: Mapping[str, Any],
    *,
    text: TextData | None = None,
    version: str = "student",
    paper: str = "letter",
    age: str = "",
    running_left: str = "",
) -> bytes:
    """A blank handout as PDF bytes (not cached; see ``handout_pdf_cached``).

    ``running_left`` is the start of the running header (the class name), "Havruta Classroom" by default.
    """
    version = version if version in VERSIONS else "student"
    html = handout_html(data, text=text, version=version, age=age, running_left=running_left)
    lang, _direction = document_language()
    return render_pdf(
        html,
        title=handout_title(data, version=version, text=text),
        lang=lang,
        paper=paper_or_default(paper),
        stylesheets=("handout",),
    )


@cache
def assets_fingerprint() -> str:
    """A hash of the print templates, stylesheets and the code that renders them: a deploy that
    changes any of them changes the cache keys, so nobody is served a handout in last week's layout
    (the cache may outlive the deploy in Redis)."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    code = [here / "pdf.py", here / "handouts.py", here / "templatetags" / "pdf_tags.py"]
    for path in [*sorted(TEMPLATES_DIR.glob("*")), *sorted(PRINT_CSS_DIR.glob("*")), *code]:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def handout_cache_key(
    *, version_hash: str, text: TextData | None, version: str, paper: str, age: str, lang: str, running_left: str = ""
) -> str:
    text_part = f"{text.slug}:{text.content_hash}" if text is not None else "-"
    header = hashlib.sha256(running_left.encode()).hexdigest()[:12] if running_left else "-"
    parts = [version_hash, text_part, version, paper_or_default(paper), age or "-", lang, header]
    return ":".join(["handout", assets_fingerprint(), *parts])


def handout_pdf_cached(
    data: Mapping[str, Any],
    *,
    version_hash: str,
    text: TextData | None = None,
    version: str = "student",
    paper: str = "letter",
    age: str = "",
    running_left: str = "",
) -> bytes:
    """``handout_pdf`` through Django's cache (``version_hash``: the ProtocolVersion's content_hash)."""
    version = version if version in VERSIONS else "student"
    lang, _direction = document_language()
    key = handout_cache_key(
        version_hash=version_hash,
        text=text,
        version=version,
        paper=paper,
        age=age,
        lang=lang,
        running_left=running_left,
    )
    pdf = django_cache.get(key)
    if pdf is None:
        pdf = handout_pdf(data, text=text, version=version, paper=paper, age=age, running_left=running_left)
        django_cache.set(key, pdf, HANDOUT_CACHE_SECONDS)
    return pdf


def protocol_for_age(protocol: Protocol, age: str) -> Protocol:
    """The age variant of a protocol family that fits ``age`` (the protocol itself otherwise)."""
    if not age or protocol.age_bands.filter(slug=age).exists():
        return protocol
    family = protocol.family or protocol.slug
    sibling = (
        Protocol.objects.filter(age_bands__slug=age)
        .filter(Q(family=family) | Q(slug=family))
        .exclude(pk=protocol.pk)
        .order_by("position")
        .first()
    )
    return sibling or protocol
