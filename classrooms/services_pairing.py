"""Writes for pairing sessions, havrutot, pairing constraints and assignments.

The grouping itself is decided by the pure algorithm in ``classrooms/pairing.py``; these
services translate the class (roster, attendance, constraints, group labels and the history of
earlier sessions) into a :class:`~classrooms.pairing.PairingRequest` and store what comes back.

Stored havrutot are reconciled, not rewritten: a havruta whose members do not change keeps its
row, its members' rows and its seats, so "every other havruta is untouched" is true in the
database and not only on the screen, and worksheets already handed out stay with their havruta.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from classrooms.models import (
    Assignment,
    Classroom,
    Enrollment,
    Havruta,
    HavrutaMember,
    PairingConstraint,
    PairingSession,
)
from classrooms.pairing import (
    PairingError,
    PairingRequest,
    pair_random,
    pair_rotate,
    rebalance_absent,
    repeat_cost,
)
from classrooms.services_live import dashboard_regrouped
from protocols.models import Protocol, Text
from protocols.selectors import texts_visible_to
from worksheets.models import FieldAnswer, Worksheet
from worksheets.services import worksheet_revoke

SEATS = "ABC"
Group = tuple[int, ...]


# ---------------------------------------------------------------------------
# Reading the class into plain values
# ---------------------------------------------------------------------------


def class_history(*, classroom: Classroom, before: PairingSession | None = None) -> tuple[tuple[Group, ...], ...]:
    """Earlier sessions of the class as plain havrutot, oldest first (one query).

    With ``before``, only sessions that came before it (by date, then creation) count, so
    reshuffling an old session does not learn from the future.
    """
    members = HavrutaMember.objects.filter(havruta__session__classroom=classroom)
    if before is not None:
        members = members.exclude(havruta__session=before).filter(
            Q(havruta__session__date__lt=before.date)
            | Q(havruta__session__date=before.date, havruta__session_id__lt=before.pk)
        )
    rows = members.order_by(
        "havruta__session__date", "havruta__session__created_at", "havruta__session_id", "havruta_id"
    ).values_list("havruta__session_id", "havruta_id", "student_id")
    sessions: dict[int, dict[int, list[int]]] = {}
    for session_id, havruta_id, student_id in rows:
        sessions.setdefault(session_id, {}).setdefault(havruta_id, []).append(student_id)
    return tuple(tuple(tuple(sorted(g)) for g in groups.values()) for groups in sessions.values())


def _constraints(classroom: Classroom) -> tuple[frozenset[frozenset[int]], frozenset[frozenset[int]]]:
    apart: set[frozenset[int]] = set()
    together: set[frozenset[int]] = set()
    for a, b, kind in PairingConstraint.objects.filter(classroom=classroom).values_list(
        "student_a_id", "student_b_id", "kind"
    ):
        (apart if kind == PairingConstraint.Kind.KEEP_APART else together).add(frozenset((a, b)))
    return frozenset(apart), frozenset(together)


def _labels(classroom: Classroom) -> dict[int, str]:
    return dict(
        Enrollment.objects.filter(classroom=classroom).exclude(group_label="").values_list("student_id", "group_label")
    )


def _roster_ids(classroom: Classroom) -> set[int]:
    return set(Enrollment.objects.filter(classroom=classroom).values_list("student_id", flat=True))


def _request(
    *,
    classroom: Classroom,
    present: Iterable[int],
    history: Sequence[Sequence[Group]],
    locked: Sequence[Group] = (),
    seed: int,
    label_mode: str = "mix",
) -> PairingRequest:
    keep_apart, keep_together = _constraints(classroom)
    return PairingRequest(
        present=tuple(present),
        history=tuple(tuple(s) for s in history),
        locked=tuple(locked),
        keep_apart=keep_apart,
        keep_together=keep_together,
        labels=_labels(classroom),
        label_mode="match" if label_mode == "match" else "mix",
        seed=seed,
    )


def session_groups(session: PairingSession) -> dict[int, Group]:
    """The session's havrutot as {havruta id: sorted member ids}, in havruta number order (one query)."""
    groups: dict[int, list[int]] = {}
    for havruta_id, student_id in (
        HavrutaMember.objects.filter(havruta__session=session)
        .order_by("havruta__number", "student_id")
        .values_list("havruta_id", "student_id")
    ):
        groups.setdefault(havruta_id, []).append(student_id)
    return {h: tuple(m) for h, m in groups.items()}


def size_problems(groups: Iterable[Sequence[int]]) -> list[str]:
    """Why a grouping is not yet ready to learn in, in the teacher's words; empty when it is.

    Ready means: pairs, and exactly one triad when the number present is odd (a single student
    alone is only accepted when nobody else is present).
    """
    sizes = [len(g) for g in groups if len(g)]
    problems: list[str] = []
    if len(sizes) <= 1:
        return problems
    alone = sizes.count(1)
    if alone:
        problems.append(
            ngettext(
                "%(count)d student is alone in a havruta: give them a partner.",
                "%(count)d students are alone in a havruta: give them partners.",
                alone,
            )
            % {"count": alone}
        )
    triads = sizes.count(3)
    allowed = sum(sizes) % 2
    if triads > allowed:
        problems.append(
            _("There are %(count)d triads; with %(present)d students there should be only one.")
            % {"count": triads, "present": sum(sizes)}
            if allowed
            else _("There are %(count)d triads; with an even number of students (%(present)d) there should be none.")
            % {"count": triads, "present": sum(sizes)}
        )
    return problems


# ---------------------------------------------------------------------------
# Storing groups: reconcile rows, keep what did not change
# ---------------------------------------------------------------------------


@dataclass
class Moves:
    """What changed in a session, for the teacher ("Eli moved from havruta 1 to havruta 3")."""

    moved: list[tuple[int, int | None, int]] = field(default_factory=list)  # (student id, from number, to number)
    changed_havrutot: list[int] = field(default_factory=list)  # numbers of havrutot whose members changed
    created_havrutot: list[int] = field(default_factory=list)
    removed_havrutot: list[int] = field(default_factory=list)


def _has_work(havruta_id: int) -> bool:
    """Whether anything students made points at this havruta (worksheets with edits, reflections...).

    Other apps' rows are found through the model's reverse relations, so a new kind of work
    (say, reflections) is protected without this module knowing about it.
    """
    if Worksheet.objects.filter(havruta_id=havruta_id, last_edit_at__isnull=False).exists():
        return True
    if FieldAnswer.objects.filter(worksheet__havruta_id=havruta_id).exists():
        return True
    for relation in Havruta._meta.related_objects:
        if relation.related_model in (HavrutaMember, Worksheet) or relation.many_to_many:
            continue
        manager = relation.related_model._default_manager  # type: ignore[union-attr]
        if manager.filter(**{relation.field.name: havruta_id}).exists():
            return True
    return False


def _worksheets_for_new_havrutot(session: PairingSession, havrutot: Sequence[Havruta]) -> None:
    """A havruta that appears after protocols were assigned gets a worksheet for each of them."""
    assignment_ids = list(Assignment.objects.filter(session=session).values_list("pk", flat=True))
    Worksheet.objects.bulk_create(
        [Worksheet(assignment_id=a, havruta=h) for a in assignment_ids for h in havrutot if h.pk]
    )


def _seat_order(group: Group, rng: random.Random | None) -> list[int]:
    order = list(group)
    if rng is not None:
        rng.shuffle(order)
    return order


def _apply_groups(
    session: PairingSession,
    groups: Sequence[Group],
    *,
    rng: random.Random | None = None,
    rows_hint: Sequence[int | None] | None = None,
) -> Moves:
    """Make the session's havrutot equal ``groups``, touching as few rows as possible.

    Havrutot whose member set is unchanged keep their row, members and seats. Changed groups
    reuse the existing row they overlap most (so a worksheet follows most of its students);
    new groups get new rows numbered after the last one; rows left empty are deleted unless a
    worksheet of theirs already holds work, which is never thrown away. ``rows_hint`` names the
    row each group should keep when the caller knows it (a manual move), before any guessing.
    """
    rows = {h.pk: h for h in Havruta.objects.filter(session=session).order_by("number")}
    current: dict[int, set[int]] = {pk: set() for pk in rows}
    seats: dict[tuple[int, int], str] = {}
    for havruta_id, student_id, seat in HavrutaMember.objects.filter(havruta__session=session).values_list(
        "havruta_id", "student_id", "seat"
    ):
        current[havruta_id].add(student_id)
        seats[(havruta_id, student_id)] = seat
    home = {s: h for h, members in current.items() for s in members}

    hints = list(rows_hint) if rows_hint is not None else [None] * len(groups)
    wanted = [frozenset(g) for g in groups if g]
    wanted_hints = [h for g, h in zip(groups, hints, strict=True) if g]
    target: dict[int, int] = {}  # index in wanted -> havruta id
    free_rows = set(rows)
    for i, hint in enumerate(wanted_hints):
        if hint is not None and hint in free_rows:
            target[i] = hint
            free_rows.discard(hint)
    by_members = {frozenset(m): h for h, m in current.items() if m}
    for i, g in enumerate(wanted):
        h = by_members.get(g)
        if i not in target and h is not None and h in free_rows:
            target[i] = h
            free_rows.discard(h)
    candidates = sorted(
        (
            (len(g & current[h]), -rows[h].number, i, h)
            for i, g in enumerate(wanted)
            if i not in target
            for h in free_rows
        ),
        reverse=True,
    )
    for overlap, _number, i, h in candidates:
        if overlap == 0:
            break
        if i not in target and h in free_rows:
            target[i] = h
            free_rows.discard(h)
    # Groups with no overlap reuse empty-handed rows in number order before new rows are made.
    leftover_rows = sorted(free_rows, key=lambda h: rows[h].number)
    next_number = max((r.number for r in rows.values()), default=0) + 1
    new_rows: list[Havruta] = []
    moves = Moves()
    for i in range(len(wanted)):
        if i in target:
            continue
        if leftover_rows:
            target[i] = leftover_rows.pop(0)
            free_rows.discard(target[i])
        else:
            havruta = Havruta(session=session, number=next_number)
            next_number += 1
            new_rows.append(havruta)
            target[i] = -len(new_rows)  # placeholder until the row exists
    if new_rows:
        created = Havruta.objects.bulk_create(new_rows)
        if any(h.pk is None for h in created):  # pragma: no cover - backends without RETURNING
            created = list(Havruta.objects.filter(session=session, number__in=[h.number for h in new_rows]))
        by_number = {h.number: h for h in created}
        for i, h in list(target.items()):
            if h < 0:
                row = by_number[new_rows[-h - 1].number]
                rows[row.pk] = row
                current[row.pk] = set()
                target[i] = row.pk
        moves.created_havrutot = [h.number for h in created]
        _worksheets_for_new_havrutot(session, created)

    delete_members: list[tuple[int, int]] = []
    create_members: list[HavrutaMember] = []
    for i, g in enumerate(wanted):
        h = target[i]
        before = current[h]
        if set(g) == before:
            continue
        moves.changed_havrutot.append(rows[h].number)
        letters = SEATS[: len(g)] if len(g) <= len(SEATS) else SEATS
        keep = {s: seats[(h, s)] for s in g & before if seats.get((h, s)) in letters}
        # Two kept members can never share a seat (seats are unique inside a row already).
        free_letters = [x for x in letters if x not in keep.values()]
        for s in before:
            if s not in keep:
                delete_members.append((h, s))
        newcomers = [s for s in _seat_order(tuple(sorted(g)), rng) if s not in keep]
        for s, letter in zip(newcomers, free_letters, strict=False):
            create_members.append(HavrutaMember(havruta_id=h, student_id=s, seat=letter))
            if home.get(s) != h:
                old = home.get(s)
                moves.moved.append((s, rows[old].number if old is not None else None, rows[h].number))
    # Rows that get no group lose their members (absent students) and, without work, their row.
    for h in free_rows:
        for s in current[h]:
            delete_members.append((h, s))
    if delete_members:
        condition = Q()
        for h, s in delete_members:
            condition |= Q(havruta_id=h, student_id=s)
        HavrutaMember.objects.filter(condition).delete()
    if create_members:
        HavrutaMember.objects.bulk_create(create_members)
    for h in sorted(free_rows, key=lambda pk: rows[pk].number):
        if not _has_work(h):
            moves.removed_havrutot.append(rows[h].number)
            rows[h].delete()
        elif current[h]:
            moves.changed_havrutot.append(rows[h].number)
    moves.changed_havrutot.sort()
    # On commit: sockets of students who left a havruta look again (and close with 4403), and
    # the class's live pages show the new grouping.
    worksheet_revoke(user_ids={s for _h, s in delete_members})
    dashboard_regrouped(classroom_id=session.classroom_id)
    return moves


# ---------------------------------------------------------------------------
# Pairing sessions
# ---------------------------------------------------------------------------


def _new_seed() -> int:
    return secrets.randbelow(2**31)


def _check_on_roster(classroom: Classroom, student_ids: Iterable[int]) -> set[int]:
    ids = set(student_ids)
    if not ids <= _roster_ids(classroom):
        raise ValidationError(_("Some of the chosen students are not on this class's roster."))
    return ids


def _ids(students: Iterable[User | int]) -> list[int]:
    return [s if isinstance(s, int) else s.pk for s in students]


def _in_roster_order(classroom: Classroom, ids: set[int]) -> list[int]:
    order = Enrollment.objects.filter(classroom=classroom, student_id__in=ids).order_by(
        "student__display_name", "student_id"
    )
    return list(order.values_list("student_id", flat=True))


def _chunk(order: Sequence[int]) -> list[Group]:
    """Students in this order as pairs; the last three form the triad when the count is odd."""
    n = len(order)
    if n < 2:
        return [tuple(order)] if n else []
    cut = n - 3 if n % 2 else n
    groups = [tuple(order[k : k + 2]) for k in range(0, cut, 2)]
    if n % 2:
        groups.append(tuple(order[cut:]))
    return groups


def _pairing_error(error: PairingError) -> ValidationError:
    return ValidationError(
        _("These students cannot be grouped with the current locks and rules (%(detail)s).") % {"detail": error}
    )


@transaction.atomic
def pairing_session_create(
    *,
    classroom: Classroom,
    by: User,
    method: str,
    present: Iterable[User | int],
    seed: int | None = None,
    date: datetime.date | None = None,
    label_mode: str = "mix",
) -> PairingSession:
    """Group today's present students into havrutot and store the session.

    ``rotate`` avoids partners from earlier sessions of the class (recent ones weigh more) and
    balances group labels; ``random`` shuffles; ``manual`` starts from the roster order for the
    teacher to rearrange. All three honour keep-apart / keep-together rules where the algorithm
    can (manual does not: the page warns instead). Students on the roster who are not present
    are recorded as absent.
    """
    if method not in (PairingSession.Method.RANDOM, PairingSession.Method.ROTATE, PairingSession.Method.MANUAL):
        raise ValidationError(_("Choose how to pair the students."))
    ids = _check_on_roster(classroom, _ids(present))
    if len(ids) < 2:
        raise ValidationError(_("Choose at least two students who are here today."))
    seed = _new_seed() if seed is None else seed
    if method == PairingSession.Method.MANUAL:
        groups = _chunk(_in_roster_order(classroom, ids))
    else:
        history = class_history(classroom=classroom)
        request = _request(classroom=classroom, present=ids, history=history, seed=seed, label_mode=label_mode)
        try:
            groups = pair_rotate(request) if method == PairingSession.Method.ROTATE else pair_random(request)
        except PairingError as error:
            raise _pairing_error(error) from error
    session = PairingSession.objects.create(
        classroom=classroom,
        method=method,
        seed=seed,
        created_by=by,
        **({"date": date} if date else {}),
    )
    _store_new(session, groups, seed=seed)
    session.absent.set(_roster_ids(classroom) - ids)
    return session


def _store_new(session: PairingSession, groups: Sequence[Group], *, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seats are shuffled for fairness, not security
    havrutot = Havruta.objects.bulk_create(
        [Havruta(session=session, number=number) for number in range(1, len(groups) + 1)]
    )
    if any(h.pk is None for h in havrutot):  # pragma: no cover - backends without RETURNING
        havrutot = list(Havruta.objects.filter(session=session).order_by("number"))
    HavrutaMember.objects.bulk_create(
        [
            HavrutaMember(havruta=havruta, student_id=student, seat=seat)
            for havruta, group in zip(havrutot, groups, strict=True)
            for seat, student in zip(SEATS, _seat_order(group, rng), strict=False)
        ]
    )
    dashboard_regrouped(classroom_id=session.classroom_id)


@transaction.atomic
def pairing_session_reuse(
    *,
    classroom: Classroom,
    from_session: PairingSession,
    by: User,
    present: Iterable[User | int] | None = None,
    date: datetime.date | None = None,
) -> PairingSession:
    """Start today's session from an earlier pairing of the same class.

    Students who are not present today are taken out one at a time with the fewest moves
    (:func:`~classrooms.pairing.rebalance_absent`); students present today who were not in the
    earlier pairing join where they repeat the fewest partners. ``present`` defaults to the
    whole roster.
    """
    if from_session.classroom_id != classroom.pk:
        raise ValidationError(_("That pairing belongs to another class."))
    roster = _roster_ids(classroom)
    ids = roster if present is None else _check_on_roster(classroom, _ids(present))
    if len(ids) < 2:
        raise ValidationError(_("Choose at least two students who are here today."))
    history = class_history(classroom=classroom)
    groups: list[Group] = [g for g in session_groups(from_session).values() if g]
    try:
        for gone in sorted({s for g in groups for s in g} - ids):
            groups = list(rebalance_absent(groups, gone, history=history))
        placed = {s for g in groups for s in g}
        for newcomer in _in_roster_order(classroom, ids - placed):
            groups = _add_student(groups, newcomer, history)
    except PairingError as error:
        raise _pairing_error(error) from error
    session = PairingSession.objects.create(
        classroom=classroom,
        method=PairingSession.Method.REUSE,
        seed=from_session.seed,
        created_by=by,
        **({"date": date} if date else {}),
    )
    _store_new(session, groups, seed=from_session.seed)
    session.absent.set(roster - ids)
    return session


def _add_student(groups: Sequence[Group], student: int, history: Sequence[Sequence[Group]]) -> list[Group]:
    """Place one more student with the fewest moves: the mirror image of ``rebalance_absent``.

    A student alone gets the newcomer as partner; otherwise, when a triad exists (the count
    becomes even), the triad member who would repeat least partners the newcomer in a new
    havruta; otherwise the newcomer joins the pair they repeat least with, which becomes the
    triad.
    """
    result = list(groups)
    if not result:
        return [(student,)]
    alone = next((i for i, g in enumerate(result) if len(g) == 1), None)
    if alone is not None:
        result[alone] = tuple(sorted((*result[alone], student)))
        return result
    triad = next((i for i, g in enumerate(result) if len(g) == 3), None)
    if triad is not None:
        members = sorted(result[triad])
        mover = min(members, key=lambda t: (repeat_cost([(student, t)], history), t))
        result[triad] = tuple(s for s in members if s != mover)
        result.append(tuple(sorted((student, mover))))
        return result
    target = min(range(len(result)), key=lambda i: (repeat_cost([(student, s) for s in result[i]], history), i))
    result[target] = tuple(sorted((*result[target], student)))
    return result


@transaction.atomic
def pairing_session_reshuffle(*, session: PairingSession, seed: int | None = None) -> Moves:
    """Regroup the students of the unlocked havrutot; locked havrutot stay exactly as they are.

    Uses rotate (fewest repeat partners) unless the session was made at random.
    """
    seed = _new_seed() if seed is None else seed
    groups = session_groups(session)
    locked_ids = set(Havruta.objects.filter(session=session, locked=True).values_list("pk", flat=True))
    present = [s for g in groups.values() for s in g]
    locked = [g for h, g in groups.items() if h in locked_ids]
    history = class_history(classroom=session.classroom, before=session)
    request = _request(classroom=session.classroom, present=present, history=history, locked=locked, seed=seed)
    try:
        new_groups = pair_random(request) if session.method == PairingSession.Method.RANDOM else pair_rotate(request)
    except PairingError as error:
        raise _pairing_error(error) from error
    session.seed = seed
    session.save(update_fields=["seed"])
    return _apply_groups(session, new_groups, rng=random.Random(seed))  # noqa: S311 - seat shuffling


def _student_in_session(session: PairingSession, student: User) -> int | None:
    return (
        HavrutaMember.objects.filter(havruta__session=session, student=student)
        .values_list("havruta_id", flat=True)
        .first()
    )


@transaction.atomic
def session_mark_absent(*, session: PairingSession, student: User) -> Moves:
    """A student left (or never came): take them out with the fewest moves and record them absent.

    Every havruta that does not have to change keeps its rows untouched. If the session is in
    the middle of a manual rearrangement (sizes not valid yet), the student is simply taken out.
    """
    if _student_in_session(session, student) is None:
        raise ValidationError(_("%(name)s is not in a havruta of this session.") % {"name": student.name})
    groups = list(session_groups(session).values())
    history = class_history(classroom=session.classroom, before=session)
    try:
        new_groups = rebalance_absent(groups, student.pk, history=history)
    except PairingError:
        new_groups = [tuple(s for s in g if s != student.pk) for g in groups]
    moves = _apply_groups(session, new_groups)
    session.absent.add(student)
    return moves


@transaction.atomic
def session_mark_present(*, session: PairingSession, student: User) -> Moves:
    """A student arrived late (or is on the roster but was left out): place them with the fewest moves."""
    if not Enrollment.objects.filter(classroom_id=session.classroom_id, student=student).exists():
        raise ValidationError(_("%(name)s is not on this class's roster.") % {"name": student.name})
    if _student_in_session(session, student) is not None:
        raise ValidationError(_("%(name)s is already in a havruta.") % {"name": student.name})
    groups = list(session_groups(session).values())
    history = class_history(classroom=session.classroom, before=session)
    moves = _apply_groups(session, _add_student(groups, student.pk, history))
    session.absent.remove(student)
    return moves


def _havruta_of_session(session: PairingSession, havruta: Havruta) -> None:
    if havruta.session_id != session.pk:
        raise ValidationError(_("That havruta belongs to another session."))


@transaction.atomic
def havruta_move_student(*, session: PairingSession, student: User, to_havruta: Havruta | None) -> Moves:
    """Move one student to another havruta of the session, or (``to_havruta=None``) to a new one.

    A havruta holds at most three students: a move that would make four is refused with a
    clear error. While rearranging by hand the teacher may pass through states that are not
    ready yet (a student alone, a second triad); :func:`size_problems` names them, the pairing
    page shows them, and no protocol can be assigned until they are fixed. Use
    :func:`havruta_swap_students` to exchange two students in one step.
    """
    groups = session_groups(session)
    source = _student_in_session(session, student)
    if source is None:
        raise ValidationError(_("%(name)s is not in a havruta of this session.") % {"name": student.name})
    if to_havruta is not None:
        _havruta_of_session(session, to_havruta)
        if to_havruta.pk == source:
            raise ValidationError(_("%(name)s is already in that havruta.") % {"name": student.name})
        if len(groups.get(to_havruta.pk, ())) >= 3:
            raise ValidationError(
                _("Havruta %(number)d already has three students. Swap %(name)s with one of them instead.")
                % {"number": to_havruta.number, "name": student.name}
            )
    new_groups: dict[int | None, Group] = {h: tuple(s for s in g if s != student.pk) for h, g in groups.items()}
    if to_havruta is None:
        new_groups[None] = (student.pk,)
    else:
        new_groups[to_havruta.pk] = tuple(sorted((*new_groups.get(to_havruta.pk, ()), student.pk)))
    return _apply_groups(session, list(new_groups.values()), rows_hint=list(new_groups))


@transaction.atomic
def havruta_swap_students(*, session: PairingSession, student: User, other: User) -> Moves:
    """Exchange two students of different havrutot (sizes never change, so this is always valid)."""
    home_a = _student_in_session(session, student)
    home_b = _student_in_session(session, other)
    if home_a is None or home_b is None:
        raise ValidationError(_("Both students must be in a havruta of this session."))
    if home_a == home_b:
        raise ValidationError(_("%(a)s and %(b)s are already together.") % {"a": student.name, "b": other.name})
    # Each keeps the other's seat, so a swap changes exactly two member rows.
    seat_a = HavrutaMember.objects.get(havruta_id=home_a, student=student).seat
    seat_b = HavrutaMember.objects.get(havruta_id=home_b, student=other).seat
    HavrutaMember.objects.filter(havruta_id=home_a, student=student).delete()
    HavrutaMember.objects.filter(havruta_id=home_b, student=other).delete()
    HavrutaMember.objects.bulk_create(
        [
            HavrutaMember(havruta_id=home_b, student=student, seat=seat_b),
            HavrutaMember(havruta_id=home_a, student=other, seat=seat_a),
        ]
    )
    numbers = dict(Havruta.objects.filter(pk__in=[home_a, home_b]).values_list("pk", "number"))
    return Moves(
        moved=[(student.pk, numbers[home_a], numbers[home_b]), (other.pk, numbers[home_b], numbers[home_a])],
        changed_havrutot=sorted(numbers.values()),
    )


def havruta_set_locked(*, havruta: Havruta, locked: bool) -> Havruta:
    """Lock a havruta so reshuffling leaves it as it is (only a pair or a triad can be locked)."""
    if locked and not 2 <= havruta.memberships.count() <= 3:
        raise ValidationError(_("Only a pair or a triad can be locked."))
    havruta.locked = locked
    havruta.save(update_fields=["locked"])
    return havruta


# ---------------------------------------------------------------------------
# Constraints
# ---------------------------------------------------------------------------


@transaction.atomic
def constraint_add(*, classroom: Classroom, student_a: User, student_b: User, kind: str) -> PairingConstraint:
    """Keep two students apart, or together, in every pairing of the class.

    One rule per pair of students: a new rule for the same two replaces the old one. Keep
    together rules may chain (A with B, B with C) up to three students, the size of a triad.
    """
    if kind not in PairingConstraint.Kind.values:
        raise ValidationError(_("Choose keep apart or keep together."))
    if student_a.pk == student_b.pk:
        raise ValidationError(_("Choose two different students."))
    _check_on_roster(classroom, [student_a.pk, student_b.pk])
    pair = Q(student_a=student_a, student_b=student_b) | Q(student_a=student_b, student_b=student_a)
    existing = PairingConstraint.objects.filter(pair, classroom=classroom)
    if kind == PairingConstraint.Kind.KEEP_TOGETHER:
        together = _constraints(classroom)[1]
        together = frozenset(r for r in together if r != frozenset((student_a.pk, student_b.pk)))
        if len(_chain(together | {frozenset((student_a.pk, student_b.pk))}, student_a.pk)) > 3:
            raise ValidationError(
                _("Keep together rules would join more than three students; a havruta holds at most three.")
            )
    existing.delete()
    return PairingConstraint.objects.create(classroom=classroom, student_a=student_a, student_b=student_b, kind=kind)


def _chain(rules: frozenset[frozenset[int]], start: int) -> set[int]:
    seen = {start}
    frontier = [start]
    while frontier:
        s = frontier.pop()
        for rule in rules:
            if s in rule:
                for t in rule - seen:
                    seen.add(t)
                    frontier.append(t)
    return seen


def constraint_remove(*, constraint: PairingConstraint) -> None:
    constraint.delete()


# ---------------------------------------------------------------------------
# Assignments
# ---------------------------------------------------------------------------


@transaction.atomic
def assignment_create(
    *,
    session: PairingSession,
    by: User,
    protocol: Protocol,
    text: Text | None = None,
    warm_up: Protocol | None = None,
    date: datetime.date,
) -> list[Assignment]:
    """Give every havruta of the session a protocol (optionally after a Havruta Warm Up).

    Each protocol is frozen with ``protocol_version_current`` at this moment, so later edits to
    the library never change this lesson. Every havruta gets one worksheet per assignment. With
    a warm-up, it comes first (position 1) and the main protocol second (position 2). Returns
    the assignments in that order.
    """
    from protocols.services import protocol_version_current  # the library app owns versioning

    if warm_up is not None and warm_up.category != Protocol.Category.WARM_UP:
        raise ValidationError(_("The warm-up must be a Havruta Warm Up protocol."))
    if text is not None and not texts_visible_to(by).filter(pk=text.pk).exists():
        raise ValidationError(_("That text is not in your library."))
    havruta_ids = list(
        Havruta.objects.filter(session=session, memberships__isnull=False)
        .distinct()
        .order_by("number")
        .values_list("pk", flat=True)
    )
    if not havruta_ids:
        raise ValidationError(_("This pairing has no havrutot yet."))
    problems = size_problems(session_groups(session).values())
    if problems:
        raise ValidationError([_("Finish the pairing before assigning a protocol."), *problems])
    items: list[tuple[Protocol, Text | None]] = [(protocol, text)]
    if warm_up is not None:
        items.insert(0, (warm_up, None))
    assignments = []
    for position, (item_protocol, item_text) in enumerate(items, start=1):
        assignment = Assignment.objects.create(
            classroom_id=session.classroom_id,
            session=session,
            protocol_version=protocol_version_current(protocol=item_protocol),
            text=item_text,
            position=position,
            date=date,
            created_by=by,
        )
        assignments.append(assignment)
    Worksheet.objects.bulk_create([Worksheet(assignment=a, havruta_id=h) for a in assignments for h in havruta_ids])
    dashboard_regrouped(classroom_id=session.classroom_id)
    return assignments


def _assignment_changed(assignment: Assignment) -> None:
    """Open worksheet sockets of the assignment look again at their rights; live pages reload."""
    worksheet_revoke(worksheet_ids=list(assignment.worksheets.values_list("pk", flat=True)))
    dashboard_regrouped(classroom_id=assignment.classroom_id)


@transaction.atomic
def assignment_close(*, assignment: Assignment) -> Assignment:
    """Close an assignment: its worksheets stay readable but students no longer see it as today's work."""
    assignment.status = Assignment.Status.CLOSED
    assignment.save(update_fields=["status"])
    _assignment_changed(assignment)
    return assignment


@transaction.atomic
def assignment_reopen(*, assignment: Assignment) -> Assignment:
    assignment.status = Assignment.Status.OPEN
    assignment.save(update_fields=["status"])
    _assignment_changed(assignment)
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: Assignment) -> None:
    """Delete an assignment with its worksheets and their answers (the view asks first)."""
    _assignment_changed(assignment)  # ids read before the rows go; the messages leave on commit
    assignment.delete()
