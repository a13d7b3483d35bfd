"""Writes for the library: loading the fixtures, freezing protocol versions, teachers' own texts.

The fixtures in ``fixtures/`` are the source of truth. ``library_load`` validates all of them
first (``protocols.validation``) and refuses to load a broken library, then upserts by slug, so it
is safe to run on every start. What an assignment uses is ``protocol_version_current``: a frozen
copy of the protocol's snapshot, so editing a fixture later never changes a lesson already given.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from protocols.models import (
    AgeBand,
    Practice,
    Protocol,
    ProtocolField,
    ProtocolStep,
    ProtocolVersion,
    Stance,
    Text,
    TextSegment,
)
from protocols.selectors import protocols_with_parts, text_share_candidates
from protocols.text_import import TextImportError, parse_text_input
from protocols.validation import (
    CATEGORIES,
    SEGMENT_LABEL_MAX,
    age_bands_of,
    validate_library,
    validate_text,
)
from protocols.validation import (  # re-exported: everything shown to students goes through it
    protocol_student_view as protocol_student_view,
)

DEFAULT_FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"


class LibraryError(Exception):
    """The fixtures are not a valid library; ``problems`` holds one readable message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------------------------
# Snapshots: the fixture's nested shape, built from the rows
# --------------------------------------------------------------------------------------------


def protocol_snapshot(protocol: Protocol) -> dict[str, Any]:
    """The protocol as one dict in the fixture's nested shape (what ``ProtocolVersion.data`` holds).

    Besides the fixture's keys it carries ``names``: the display names of the practices, triangle
    corners, age bands and the stance texts it refers to, so a frozen version renders on its own
    (pages, handouts) without looking anything up. Pass a protocol from
    ``selectors.protocols_with_parts()`` to build it without extra queries.
    """
    age_bands = sorted(protocol.age_bands.all(), key=lambda b: b.position)
    practices = sorted(protocol.practices.all(), key=lambda p: (p.kind, p.position))
    stances = sorted(protocol.stances.all(), key=lambda s: s.position)
    steps = sorted(protocol.steps.all(), key=lambda s: s.position)
    fields = sorted(protocol.fields.all(), key=lambda f: f.position)
    step_keys = {step.pk: step.key for step in steps}
    practice_names = {p.slug: p.name for p in practices if p.kind == Practice.Kind.PRACTICE}
    for protocol_field in fields:
        if protocol_field.practice is not None:
            practice_names.setdefault(protocol_field.practice.slug, protocol_field.practice.name)
    return {
        "slug": protocol.slug,
        "title": protocol.title,
        "category": protocol.category,
        "variant_of": protocol.family or None,
        "variant_label": protocol.variant_label,
        "age_bands": [b.slug for b in age_bands],
        "practices": [p.slug for p in practices if p.kind == Practice.Kind.PRACTICE],
        "triangle": [p.slug for p in practices if p.kind == Practice.Kind.TRIANGLE],
        "stances": [s.slug for s in stances],
        "duration_minutes": protocol.duration_minutes,
        "uses_text": protocol.uses_text,
        "torah_wisdom": protocol.torah_wisdom,
        "student": {"summary": protocol.summary},
        "teacher": {
            "purpose": protocol.purpose,
            "preparation": protocol.preparation,
            "timing": protocol.timing,
            "listen_for": list(protocol.listen_for),
            "debrief": list(protocol.debrief),
            "adaptations": dict(protocol.adaptations),
        },
        "steps": [
            {
                "key": step.key,
                "title": step.title,
                "who": step.who,
                "minutes": step.minutes,
                "instructions": step.instructions,
                "sentence_starters": list(step.sentence_starters),
                "teacher_notes": step.teacher_notes,
            }
            for step in steps
        ],
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "help": f.help,
                "kind": f.kind,
                "scope": f.scope,
                "step": step_keys[f.step_id],
                "options": list(f.options),
                "scale": list(f.scale),
                "practice": f.practice.slug if f.practice is not None else None,
                "tags": list(f.tags),
            }
            for f in fields
        ],
        "names": {
            "age_bands": {b.slug: b.name for b in age_bands},
            "practices": practice_names,
            "triangle": {p.slug: p.name for p in practices if p.kind == Practice.Kind.TRIANGLE},
            "stances": {s.slug: s.text for s in stances},
        },
    }


def snapshot_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def protocol_version_current(*, protocol: Protocol) -> ProtocolVersion:
    """The frozen version matching the protocol as it is now, created on first use.

    Assignments call this and keep the returned row: its ``data`` never changes. When the library
    changes (a fixture edit, an admin edit), the next call creates the next number; a protocol
    edited back to an earlier content gets that earlier version again.
    """
    fresh = protocols_with_parts().get(pk=protocol.pk)
    data = protocol_snapshot(fresh)
    content_hash = snapshot_hash(data)
    existing = ProtocolVersion.objects.filter(protocol=fresh, content_hash=content_hash).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            # Serialise version numbering per protocol (PostgreSQL row lock; SQLite's write lock).
            Protocol.objects.select_for_update().filter(pk=fresh.pk).first()
            last = ProtocolVersion.objects.filter(protocol=fresh).aggregate(last=Max("number"))["last"] or 0
            return ProtocolVersion.objects.create(protocol=fresh, number=last + 1, content_hash=content_hash, data=data)
    except IntegrityError:  # someone froze the same content a moment ago
        return ProtocolVersion.objects.get(protocol=fresh, content_hash=content_hash)


# --------------------------------------------------------------------------------------------
# Loading the fixtures
# --------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    protocols_created: list[str] = field(default_factory=list)
    protocols_updated: list[str] = field(default_factory=list)
    protocols_unchanged: list[str] = field(default_factory=list)
    texts_created: list[str] = field(default_factory=list)
    texts_updated: list[str] = field(default_factory=list)
    texts_unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"protocols: {len(self.protocols_created)} created, {len(self.protocols_updated)} updated, "
            f"{len(self.protocols_unchanged)} unchanged; texts: {len(self.texts_created)} created, "
            f"{len(self.texts_updated)} updated, {len(self.texts_unchanged)} unchanged"
        )


@dataclass
class LibraryFiles:
    practices: Any
    protocols: dict[str, Any]
    texts: dict[str, Any]
    problems: list[str]


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path.name}: cannot be read as JSON ({error})")
        return None


def library_read(fixtures_dir: Path | str) -> LibraryFiles:
    """Read and validate the fixture files (no database access)."""
    root = Path(fixtures_dir)
    problems: list[str] = []
    practices_path = root / "practices.json"
    practices = _read_json(practices_path, problems) if practices_path.exists() else None
    if practices is None and not problems:
        problems.append(f"practices.json: not found in {root}")
    protocol_files = sorted((root / "protocols").glob("*.json"))
    if not protocol_files:
        problems.append(f"protocols: no protocol files in {root / 'protocols'}")
    protocols = {path.name: _read_json(path, problems) for path in protocol_files}
    protocols = {name: data for name, data in protocols.items() if data is not None}
    texts = {path.name: _read_json(path, problems) for path in sorted((root / "texts").glob("*.json"))}
    texts = {name: data for name, data in texts.items() if data is not None}
    if practices is not None:
        problems.extend(validate_library(protocols, practices))
    seen_texts: dict[str, str] = {}
    for name, data in texts.items():
        problems.extend(validate_text(data, source=name))
        slug = data.get("slug") if isinstance(data, dict) else None
        if isinstance(slug, str):
            if slug in seen_texts:
                problems.append(f"{slug}: text defined twice, in {seen_texts[slug]} and {name}")
            seen_texts[slug] = name
    return LibraryFiles(practices=practices, protocols=protocols, texts=texts, problems=problems)


def protocol_comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A fixture or snapshot dict with unordered parts sorted and display names dropped.

    Two protocols compare equal this way exactly when loading one over the other changes nothing.
    """
    normal = {key: value for key, value in data.items() if key != "names"}
    normal["variant_of"] = normal.get("variant_of") or None
    for key in ("age_bands", "practices", "triangle", "stances"):
        normal[key] = sorted(normal.get(key) or [])
    return normal


def _upsert_vocabulary(practices: dict[str, Any]) -> tuple[dict[str, Practice], dict[str, Stance], dict[str, AgeBand]]:
    practice_rows = {
        item["slug"]: {
            "name": item["name"],
            "kind": kind,
            "pair": item.get("pair", ""),
            "summary": item.get("summary", ""),
            "position": position,
        }
        for kind, section in ((Practice.Kind.PRACTICE, "practices"), (Practice.Kind.TRIANGLE, "triangle"))
        for position, item in enumerate(practices[section])
    }
    stance_rows = {
        item["slug"]: {"text": item["text"], "position": position} for position, item in enumerate(practices["stances"])
    }
    band_rows = {
        item["slug"]: {"name": item["name"], "position": position}
        for position, item in enumerate(age_bands_of(practices))
    }
    return _upsert_all(Practice, practice_rows), _upsert_all(Stance, stance_rows), _upsert_all(AgeBand, band_rows)


def _upsert_all(model: Any, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Create or update rows by slug; one query when nothing changed."""
    existing = {row.slug: row for row in model.objects.filter(slug__in=rows)}
    result = {}
    for slug, values in rows.items():
        row = existing.get(slug)
        if row is None:
            row = model.objects.create(slug=slug, **values)
        else:
            changed = [key for key, value in values.items() if getattr(row, key) != value]
            for key in changed:
                setattr(row, key, values[key])
            if changed:
                row.save(update_fields=changed)
        result[slug] = row
    return result


def _positions(protocols: dict[str, Any]) -> dict[str, int]:
    """Library order: by category (in the order of the categories), then title, then slug."""
    ordered = sorted(
        protocols.values(), key=lambda d: (CATEGORIES.index(d["category"]), d["title"].casefold(), d["slug"])
    )
    return {data["slug"]: position for position, data in enumerate(ordered)}


def _protocol_write(
    data: dict[str, Any],
    position: int,
    practices: dict[str, Practice],
    stances: dict[str, Stance],
    bands: dict[str, AgeBand],
) -> Protocol:
    teacher = data["teacher"]
    values = {
        "title": data["title"],
        "category": data["category"],
        "family": data.get("variant_of") or "",
        "variant_label": data.get("variant_label") or "",
        "duration_minutes": data["duration_minutes"],
        "uses_text": data["uses_text"],
        "summary": data["student"]["summary"],
        "purpose": teacher["purpose"],
        "preparation": teacher.get("preparation", ""),
        "timing": teacher.get("timing", ""),
        "listen_for": list(teacher.get("listen_for", [])),
        "debrief": list(teacher.get("debrief", [])),
        "adaptations": dict(teacher.get("adaptations", {})),
        "torah_wisdom": data.get("torah_wisdom"),
        "position": position,
    }
    protocol, _created = Protocol.objects.update_or_create(slug=data["slug"], defaults=values)
    protocol.age_bands.set([bands[slug] for slug in data["age_bands"]])
    protocol.practices.set([practices[slug] for slug in [*data["practices"], *data["triangle"]]])
    protocol.stances.set([stances[slug] for slug in data["stances"]])
    # Steps and fields are replaced as a whole: nothing points at their rows (frozen versions
    # and worksheet answers use keys), so this is the simplest correct update.
    protocol.steps.all().delete()
    steps = ProtocolStep.objects.bulk_create(
        ProtocolStep(
            protocol=protocol,
            key=step["key"],
            position=position,
            title=step["title"],
            who=step["who"],
            minutes=step["minutes"],
            instructions=step["instructions"],
            sentence_starters=list(step.get("sentence_starters", [])),
            teacher_notes=step.get("teacher_notes", ""),
        )
        for position, step in enumerate(data["steps"])
    )
    step_by_key = {step.key: step for step in steps}
    ProtocolField.objects.bulk_create(
        ProtocolField(
            protocol=protocol,
            step=step_by_key[item["step"]],
            key=item["key"],
            position=position,
            label=item["label"],
            help=item.get("help", ""),
            kind=item["kind"],
            scope=item["scope"],
            options=list(item.get("options", [])),
            scale=list(item.get("scale", [])),
            practice=practices[item["practice"]] if item.get("practice") else None,
            tags=list(item.get("tags", [])),
        )
        for position, item in enumerate(data["fields"])
    )
    return protocol


def _text_values(data: dict[str, Any]) -> dict[str, Any]:
    hebrew = data.get("hebrew") or {}
    english = data.get("english") or {}
    return {
        "title": data["title"],
        "reference": data.get("reference", ""),
        "reference_he": data.get("reference_he", ""),
        "he_version_title": hebrew.get("version_title", ""),
        "he_license": hebrew.get("license", ""),
        "he_source": hebrew.get("source", ""),
        "en_version_title": english.get("version_title", ""),
        "en_license": english.get("license", ""),
        "en_source": english.get("source", ""),
    }


def _segments_of(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["label"], s.get("he", ""), s.get("en", "")) for s in data["segments"]]


def _load_texts(texts: dict[str, Any], report: LoadReport) -> None:
    slugs = [data["slug"] for data in texts.values()]
    existing = {text.slug: text for text in Text.objects.filter(slug__in=slugs).prefetch_related("segments")}
    owned = sorted(slug for slug, text in existing.items() if text.owner_id is not None)
    if owned:
        raise LibraryError([f"{slug}: a teacher's own text already uses this slug" for slug in owned])
    for data in texts.values():
        values = _text_values(data)
        segments = _segments_of(data)
        text = existing.get(data["slug"])
        if text is None:
            text = Text.objects.create(slug=data["slug"], **values)
            report.texts_created.append(text.slug)
        else:
            current = [(s.label, s.he, s.en) for s in sorted(text.segments.all(), key=lambda s: s.position)]
            changed = [key for key, value in values.items() if getattr(text, key) != value]
            if not changed and current == segments:
                report.texts_unchanged.append(text.slug)
                continue
            for key in changed:
                setattr(text, key, values[key])
            if changed:
                text.save(update_fields=changed)
            report.texts_updated.append(text.slug)
            if current == segments:
                continue
            text.segments.all().delete()
        TextSegment.objects.bulk_create(
            TextSegment(text=text, position=position, label=label, he=he, en=en)
            for position, (label, he, en) in enumerate(segments, start=1)
        )


@transaction.atomic
def library_load(fixtures_dir: Path | str = DEFAULT_FIXTURES_DIR) -> LoadReport:
    """Load practices, stances, age bands, protocols and texts from the fixture folder.

    Validates everything first and raises ``LibraryError`` (with the validator's messages) without
    writing anything when a file is broken. Idempotent: rows are matched by slug, and protocols
    and texts whose content did not change are not written at all.
    """
    files = library_read(fixtures_dir)
    if files.problems:
        raise LibraryError(files.problems)
    report = LoadReport()
    practices, stances, bands = _upsert_vocabulary(files.practices)
    loaded = list(protocols_with_parts())
    current = {p.slug: protocol_comparable(protocol_snapshot(p)) for p in loaded}
    current_position = {p.slug: p.position for p in loaded}
    positions = _positions(files.protocols)
    for data in files.protocols.values():
        slug = data["slug"]
        wanted = protocol_comparable(data)
        before = current.get(slug)
        if before is not None and before == wanted:
            if current_position[slug] == positions[slug]:
                report.protocols_unchanged.append(slug)
            else:
                Protocol.objects.filter(slug=slug).update(position=positions[slug])
                report.protocols_updated.append(slug)
            continue
        _protocol_write(data, positions[slug], practices, stances, bands)
        (report.protocols_created if before is None else report.protocols_updated).append(slug)
    _load_texts(files.texts, report)
    return report


# --------------------------------------------------------------------------------------------
# Teachers' own texts
# --------------------------------------------------------------------------------------------


def _new_text_slug(title: str) -> str:
    base = slugify(title)[:60].strip("-") or "text"
    for _attempt in range(20):
        slug = f"{base}-{secrets.token_hex(3)}"
        if not Text.objects.filter(slug=slug).exists():
            return slug
    raise RuntimeError("Could not find a free slug for the text.")  # pragma: no cover


@transaction.atomic
def text_create_from_paste(
    *, owner: User, title: str, hebrew: str, english: str, reference: str = "", max_bytes: int = 200_000
) -> Text:
    """A teacher's own text from pasted Hebrew and/or English, split into numbered segments.

    Raises ``TextImportError`` (its ``message`` is for the teacher) when the text cannot be used:
    both columns empty, too long, mixed scripts, columns that do not pair up. The text is private
    to its owner until shared with a co-teacher (``text_share``).
    """
    if not owner.is_teacher:
        raise PermissionError("Only teachers add texts.")
    title = title.strip()
    if not title:
        raise TextImportError(_("Give the text a title."))
    parsed = parse_text_input(hebrew=hebrew, english=english, max_bytes=max_bytes)
    text = Text.objects.create(
        slug=_new_text_slug(title),
        title=title[:160],
        reference=reference.strip()[:120],
        owner=owner,
    )
    TextSegment.objects.bulk_create(
        TextSegment(
            text=text,
            position=position,
            label=(segment.label or str(position))[:SEGMENT_LABEL_MAX],
            he=segment.he,
            en=segment.en,
        )
        for position, segment in enumerate(parsed.segments, start=1)
    )
    return text


def text_share(*, text: Text, with_user: User) -> None:
    """Share a teacher's own text with a colleague who teaches a class with them."""
    if text.owner_id is None:
        raise ValidationError(_("Library texts are already visible to everyone."))
    if with_user.pk == text.owner_id:
        raise ValidationError(_("This is your own text."))
    if not text_share_candidates(owner=text.owner).filter(pk=with_user.pk).exists():  # type: ignore[arg-type]
        raise ValidationError(_("You can share a text only with a teacher who teaches a class with you."))
    text.shared_with.add(with_user)


def text_unshare(*, text: Text, with_user: User) -> None:
    text.shared_with.remove(with_user)
