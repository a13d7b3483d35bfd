"""Validation of the protocol library fixtures (``fixtures/practices.json``, ``fixtures/protocols/*.json``).

Plain Python on purpose (no Django import): ``check_protocols``, ``library_load`` and the tests all
call these functions on the parsed JSON, and every problem comes back as one readable sentence
that names the protocol (``"listening-to-the-text: field 'quote' points at missing step 'x'"``),
so a broken fixture is fixed from the message alone.

The fixture shape is also the shape of a frozen ``ProtocolVersion.data``; the keys that only the
teacher may see are listed here, next to ``protocol_student_view`` which strips them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from protocols.text_import import detect_script

CATEGORIES = ("warm-up", "text-learning", "engagement", "advisory", "reflection", "self-assessment", "portrait")
WHO = ("together", "each", "partner_a", "partner_b")
KINDS = ("short_text", "long_text", "list", "choice", "scale", "checklist")
SCOPES = ("shared", "personal")
ADAPTATIONS = ("younger", "small_groups", "online")
TEACHER_TEXT_KEYS = ("purpose", "preparation", "timing")
TEACHER_LIST_KEYS = ("listen_for", "debrief")

# The age bands match classrooms.GradeBand; practices.json may override them with "age_bands".
DEFAULT_AGE_BANDS: tuple[dict[str, str], ...] = (
    {"slug": "upper-elementary", "name": "Upper elementary"},
    {"slug": "middle-school", "name": "Middle school"},
    {"slug": "high-school", "name": "High school"},
    {"slug": "adult", "name": "Adults"},
)

# Top-level keys of a protocol that belong to the teacher version only. Each step's
# "teacher_notes" is teacher-only too. "names" (added by protocol_snapshot) carries display names;
# its "stances" entry is teacher-only.
TEACHER_ONLY_KEYS = ("teacher", "practices", "triangle", "stances", "torah_wisdom")
STEP_TEACHER_ONLY_KEYS = ("teacher_notes",)

_SINGULAR = {"age_bands": "age band", "practices": "practice", "triangle": "triangle corner", "stances": "stance"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def age_bands_of(practices: Mapping[str, Any]) -> list[dict[str, str]]:
    """The age bands of the library: practices.json's own list, else the default four."""
    bands = practices.get("age_bands")
    if isinstance(bands, list) and bands:
        return [dict(b) for b in bands if isinstance(b, dict)]
    return [dict(b) for b in DEFAULT_AGE_BANDS]


def _slugs(items: Any) -> set[str]:
    if not isinstance(items, list):
        return set()
    return {item["slug"] for item in items if isinstance(item, dict) and isinstance(item.get("slug"), str)}


def validate_practices(practices: Any) -> list[str]:
    """Problems with practices.json itself (the lists the protocols point into)."""
    if not isinstance(practices, dict):
        return ["practices.json: expected an object with 'practices', 'triangle' and 'stances'"]
    problems: list[str] = []
    for section, text_key in (("practices", "name"), ("triangle", "name"), ("stances", "text"), ("age_bands", "name")):
        if section == "age_bands" and section not in practices:
            continue
        items = practices.get(section)
        if not isinstance(items, list) or not items:
            problems.append(f"practices.json: '{section}' must be a non-empty list")
            continue
        seen: set[str] = set()
        for index, item in enumerate(items, start=1):
            if not isinstance(item, dict) or not isinstance(item.get("slug"), str) or not _SLUG.match(item["slug"]):
                problems.append(f"practices.json: {section} entry {index} has no valid slug")
                continue
            if item["slug"] in seen:
                problems.append(f"practices.json: duplicate {section} slug '{item['slug']}'")
            seen.add(item["slug"])
            if not _text(item.get(text_key)):
                problems.append(f"practices.json: {section} '{item['slug']}' has no {text_key}")
    return problems


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_refs(
    problems: list[str], name: str, values: Any, known: set[str], what: str, *, required: bool = False
) -> None:
    if not isinstance(values, list) or (required and not values):
        problems.append(f"{name}: '{what}' must be a {'non-empty ' if required else ''}list")
        return
    for value in values:
        if value not in known:
            problems.append(f"{name}: unknown {_SINGULAR[what]} {value!r}")
    if len(set(map(str, values))) != len(values):
        problems.append(f"{name}: '{what}' lists the same entry twice")


def _check_options(problems: list[str], name: str, key: str, field: Mapping[str, Any]) -> None:
    options = field.get("options")
    if not isinstance(options, list) or not options:
        problems.append(f"{name}: {field.get('kind')} field '{key}' has no options")
        return
    values = []
    for index, option in enumerate(options, start=1):
        if not isinstance(option, dict) or not _text(option.get("label")) or option.get("value") in (None, ""):
            problems.append(f"{name}: option {index} of field '{key}' needs a value and a label")
            continue
        values.append(option["value"])
    if len(set(map(str, values))) != len(values):
        problems.append(f"{name}: field '{key}' has two options with the same value")


def _check_scale(problems: list[str], name: str, key: str, field: Mapping[str, Any]) -> None:
    points = field.get("scale")
    if not isinstance(points, list) or not points:
        problems.append(f"{name}: scale field '{key}' has no labelled points (scale without labels)")
        return
    if len(points) < 2:
        problems.append(f"{name}: scale field '{key}' needs at least two points")
    values = []
    for index, point in enumerate(points, start=1):
        if not isinstance(point, dict) or not _text(point.get("label")):
            problems.append(f"{name}: point {index} of scale field '{key}' has no label (scale without labels)")
            continue
        if not _is_int(point.get("value")):
            problems.append(f"{name}: point {index} of scale field '{key}' needs a whole-number value")
            continue
        values.append(point["value"])
    if len(set(values)) != len(values):
        problems.append(f"{name}: scale field '{key}' has two points with the same value")


def validate_protocol(data: Any, practices: Mapping[str, Any], *, source: str = "") -> list[str]:
    """Every problem with one protocol dict, each message starting with the protocol's slug.

    ``practices`` is the parsed practices.json (practices, triangle, stances, optional age bands).
    ``source`` (a file name) is used to name the protocol when it has no usable slug.
    """
    if not isinstance(data, dict):
        return [f"{source or 'protocol'}: expected a JSON object"]
    slug = data.get("slug")
    name = slug if isinstance(slug, str) and slug else (source or "protocol without a slug")
    problems: list[str] = []
    if not isinstance(slug, str) or not _SLUG.match(slug):
        problems.append(f"{name}: 'slug' must be lowercase letters, digits and hyphens")
    if not _text(data.get("title")):
        problems.append(f"{name}: missing a title")
    if data.get("category") not in CATEGORIES:
        problems.append(f"{name}: unknown category {data.get('category')!r} (expected one of {', '.join(CATEGORIES)})")
    variant_of = data.get("variant_of")
    if variant_of is not None and (not isinstance(variant_of, str) or not _SLUG.match(variant_of)):
        problems.append(f"{name}: 'variant_of' must be a protocol family slug or null")
    if not isinstance(data.get("variant_label", ""), str):
        problems.append(f"{name}: 'variant_label' must be text")
    duration = data.get("duration_minutes")
    if not _is_int(duration) or duration <= 0:
        problems.append(f"{name}: 'duration_minutes' must be a positive whole number")
    if not isinstance(data.get("uses_text"), bool):
        problems.append(f"{name}: 'uses_text' must be true or false")

    practice_slugs = _slugs(practices.get("practices"))
    _check_refs(problems, name, data.get("age_bands"), _slugs(age_bands_of(practices)), "age_bands", required=True)
    _check_refs(problems, name, data.get("practices"), practice_slugs, "practices")
    _check_refs(problems, name, data.get("triangle"), _slugs(practices.get("triangle")), "triangle")
    _check_refs(problems, name, data.get("stances"), _slugs(practices.get("stances")), "stances")

    wisdom = data.get("torah_wisdom")
    if wisdom is not None and not (
        isinstance(wisdom, dict) and _text(wisdom.get("reference")) and _text(wisdom.get("teaching"))
    ):
        problems.append(f"{name}: 'torah_wisdom' needs a reference and a teaching")
    if data.get("category") == "advisory" and wisdom is None:
        problems.append(f"{name}: an advisory activity must be tied to a piece of Torah wisdom ('torah_wisdom')")

    _validate_student(problems, name, data.get("student"))
    _validate_teacher(problems, name, data.get("teacher"))
    step_keys = _validate_steps(problems, name, data.get("steps"))
    _validate_fields(problems, name, data.get("fields"), step_keys, practice_slugs)
    return problems


def _validate_student(problems: list[str], name: str, student: Any) -> None:
    if not isinstance(student, dict) or not student:
        problems.append(f"{name}: missing the student part ('student' with a summary)")
    elif not _text(student.get("summary")):
        problems.append(f"{name}: the student part has no summary")


def _validate_teacher(problems: list[str], name: str, teacher: Any) -> None:
    if not isinstance(teacher, dict) or not teacher:
        problems.append(f"{name}: missing the teacher part ('teacher' with purpose, preparation, timing...)")
        return
    for key in TEACHER_TEXT_KEYS:
        if not _text(teacher.get(key)):
            problems.append(f"{name}: the teacher part has no {key}")
    for key in TEACHER_LIST_KEYS:
        items = teacher.get(key)
        if not isinstance(items, list) or not items or not all(_text(item) for item in items):
            problems.append(f"{name}: the teacher part's '{key}' must be a non-empty list of sentences")
    adaptations = teacher.get("adaptations")
    if not isinstance(adaptations, dict):
        problems.append(f"{name}: the teacher part has no adaptations ({', '.join(ADAPTATIONS)})")
        return
    for key in ADAPTATIONS:
        if not _text(adaptations.get(key)):
            problems.append(f"{name}: the teacher part has no '{key}' adaptation")
    for key in adaptations:
        if key not in ADAPTATIONS:
            problems.append(f"{name}: unknown adaptation {key!r} (expected {', '.join(ADAPTATIONS)})")


def _validate_steps(problems: list[str], name: str, steps: Any) -> set[str]:
    if not isinstance(steps, list) or not steps:
        problems.append(f"{name}: a protocol needs at least one step")
        return set()
    keys: set[str] = set()
    for index, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            problems.append(f"{name}: step {index} is not an object")
            continue
        key = step.get("key")
        label = f"step '{key}'" if isinstance(key, str) and key else f"step {index}"
        if not isinstance(key, str) or not _SLUG.match(key):
            problems.append(f"{name}: {label} needs a key (lowercase letters, digits and hyphens)")
        elif key in keys:
            problems.append(f"{name}: duplicate step key '{key}'")
        else:
            keys.add(key)
        if not _text(step.get("title")):
            problems.append(f"{name}: {label} has no title")
        if step.get("who") not in WHO:
            problems.append(f"{name}: {label} has unknown who {step.get('who')!r} (expected one of {', '.join(WHO)})")
        minutes = step.get("minutes")
        if not _is_int(minutes) or minutes < 0:
            problems.append(f"{name}: {label} needs 'minutes' as a whole number")
        if not _text(step.get("instructions")):
            problems.append(f"{name}: {label} has no student instructions")
        starters = step.get("sentence_starters", [])
        if not isinstance(starters, list) or not all(_text(s) for s in starters):
            problems.append(f"{name}: {label} 'sentence_starters' must be a list of sentences")
        if not isinstance(step.get("teacher_notes", ""), str):
            problems.append(f"{name}: {label} 'teacher_notes' must be text")
    return keys


def _validate_fields(problems: list[str], name: str, fields: Any, step_keys: set[str], practices: set[str]) -> None:
    if not isinstance(fields, list):
        problems.append(f"{name}: 'fields' must be a list")
        return
    seen: set[str] = set()
    for index, field in enumerate(fields, start=1):
        if not isinstance(field, dict):
            problems.append(f"{name}: field {index} is not an object")
            continue
        key = field.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{name}: field {index} needs a key (lowercase letters, digits, _ and -)")
            key = f"#{index}"
        elif key in seen:
            problems.append(f"{name}: duplicate field key '{key}'")
        else:
            seen.add(key)
        if not _text(field.get("label")):
            problems.append(f"{name}: field '{key}' has no label")
        kind = field.get("kind")
        if kind not in KINDS:
            problems.append(f"{name}: field '{key}' has unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
        if field.get("scope") not in SCOPES:
            problems.append(
                f"{name}: field '{key}' has unknown scope {field.get('scope')!r} (expected one of {', '.join(SCOPES)})"
            )
        step = field.get("step")
        if step not in step_keys:
            problems.append(f"{name}: field '{key}' points at missing step {step!r}")
        if kind in ("choice", "checklist"):
            _check_options(problems, name, key, field)
        if kind == "scale":
            _check_scale(problems, name, key, field)
        practice = field.get("practice")
        if practice is not None and practice not in practices:
            problems.append(f"{name}: field '{key}' names unknown practice {practice!r}")
        tags = field.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append(f"{name}: field '{key}' 'tags' must be a list of words")


def validate_library(protocols: Mapping[str, Any], practices: Any) -> list[str]:
    """Problems with a whole library: ``protocols`` maps a file name to its parsed protocol."""
    problems = validate_practices(practices)
    if not isinstance(practices, dict):
        return problems
    slugs: dict[str, str] = {}
    for source, data in sorted(protocols.items()):
        problems.extend(validate_protocol(data, practices, source=source))
        slug = data.get("slug") if isinstance(data, dict) else None
        if not isinstance(slug, str):
            continue
        if slug in slugs:
            problems.append(f"{slug}: defined twice, in {slugs[slug]} and {source}")
        slugs[slug] = source
        stem = source.rsplit("/", 1)[-1].removesuffix(".json")
        if stem != slug and source.endswith(".json"):
            problems.append(f"{slug}: the file {source} should be named {slug}.json")
    return problems


# --------------------------------------------------------------------------------------------
# Teacher and student versions
# --------------------------------------------------------------------------------------------


def protocol_student_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """The student version of a protocol snapshot: every teacher-only key removed.

    Use this for anything a student (or an anonymous visitor) is shown or sent: pages, handouts,
    websocket payloads. Works on fixture dicts and on ``ProtocolVersion.data`` alike.
    """
    view = {key: copy.deepcopy(value) for key, value in data.items() if key not in TEACHER_ONLY_KEYS}
    view["steps"] = [
        {key: copy.deepcopy(value) for key, value in step.items() if key not in STEP_TEACHER_ONLY_KEYS}
        for step in data.get("steps", [])
    ]
    names = view.get("names")
    if isinstance(names, dict):
        view["names"] = {key: value for key, value in names.items() if key != "stances"}
    return view


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def teacher_only_strings(data: Mapping[str, Any], practices: Mapping[str, Any] | None = None) -> list[str]:
    """Every sentence of teacher-only content in a protocol (to prove it never reaches students).

    Slugs and short names (practice names such as "Listening") are not included: they are not
    teacher content and legitimately appear in field labels.
    """
    found = list(_strings(data.get("teacher")))
    wisdom = data.get("torah_wisdom")
    if isinstance(wisdom, dict):
        # The reference ("Pirkei Avot 4:1") is public: it is also the text students study.
        found.extend(_strings(wisdom.get("teaching")))
    for step in data.get("steps", []):
        found.extend(_strings({key: step.get(key) for key in STEP_TEACHER_ONLY_KEYS}))
    stance_text: dict[str, Any] = {
        s.get("slug", ""): s.get("text") for s in (practices or {}).get("stances", []) if isinstance(s, dict)
    }
    names = data.get("names")
    if isinstance(names, dict) and isinstance(names.get("stances"), dict):
        stance_text.update(names["stances"])
    found.extend(str(text) for slug, text in stance_text.items() if slug in data.get("stances", []) and _text(text))
    return [s for s in found if _text(s)]


# --------------------------------------------------------------------------------------------
# Text fixtures (fixtures/texts/<slug>.json)
# --------------------------------------------------------------------------------------------

SEGMENT_LABEL_MAX = 20
_FORBIDDEN_LICENSE = re.compile(r"\b(NC|ND)\b|non-?commercial|no-?deriv", re.IGNORECASE)


def validate_text(data: Any, *, source: str = "") -> list[str]:
    """Problems with one study-text fixture, each message starting with the text's slug."""
    if not isinstance(data, dict):
        return [f"{source or 'text'}: expected a JSON object"]
    slug = data.get("slug")
    name = slug if isinstance(slug, str) and slug else (source or "text without a slug")
    problems: list[str] = []
    if not isinstance(slug, str) or not _SLUG.match(slug):
        problems.append(f"{name}: 'slug' must be lowercase letters, digits and hyphens")
    if not _text(data.get("title")):
        problems.append(f"{name}: missing a title")
    for key in ("reference", "reference_he"):
        if not isinstance(data.get(key, ""), str):
            problems.append(f"{name}: '{key}' must be text")
    versions = {}
    for language in ("hebrew", "english"):
        version = data.get(language)
        if version is None:
            continue
        if not isinstance(version, dict):
            problems.append(f"{name}: '{language}' must be an object with version_title, license and source")
            continue
        versions[language] = version
        # The source may be empty for the project's own (CC0) translations; never the licence.
        for key in ("version_title", "license"):
            if not _text(version.get(key)):
                problems.append(f"{name}: the {language} version has no {key}")
        if not isinstance(version.get("source", ""), str):
            problems.append(f"{name}: the {language} version's source must be a web address or empty")
        license_ = version.get("license")
        if isinstance(license_, str) and _FORBIDDEN_LICENSE.search(license_):
            problems.append(f"{name}: the {language} version's licence {license_!r} does not allow shipping it")
        source_url = version.get("source")
        if isinstance(source_url, str) and source_url and not source_url.startswith(("http://", "https://")):
            problems.append(f"{name}: the {language} version's source must be a web address")
    if not versions:
        problems.append(f"{name}: needs a Hebrew or an English version")
    segments = data.get("segments")
    if not isinstance(segments, list) or not segments:
        problems.append(f"{name}: needs at least one segment")
        return problems
    labels: set[str] = set()
    for index, segment in enumerate(segments, start=1):
        if not isinstance(segment, dict):
            problems.append(f"{name}: segment {index} is not an object")
            continue
        label = segment.get("label")
        if not _text(label) or len(label) > SEGMENT_LABEL_MAX:
            problems.append(f"{name}: segment {index} needs a label of at most {SEGMENT_LABEL_MAX} characters")
        elif label in labels:
            problems.append(f"{name}: duplicate segment label '{label}'")
        else:
            labels.add(label)
        he, en = segment.get("he", ""), segment.get("en", "")
        if not isinstance(he, str) or not isinstance(en, str) or not (he.strip() or en.strip()):
            problems.append(f"{name}: segment {label or index} has no text")
            continue
        if he.strip() and "hebrew" not in versions:
            problems.append(f"{name}: segment {label} has Hebrew but the text has no Hebrew version")
        if en.strip() and "english" not in versions:
            problems.append(f"{name}: segment {label} has English but the text has no English version")
        if he.strip() and detect_script(he) not in ("he",):
            problems.append(f"{name}: segment {label} 'he' is not Hebrew")
        if en.strip() and detect_script(en) not in ("en",):
            problems.append(f"{name}: segment {label} 'en' is not English")
    return problems
