"""Pairing services against the database: sessions, absence, locks, rules, reuse and manual moves."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from classrooms.models import Havruta, PairingConstraint, PairingSession
from classrooms.pairing import count_repeats
from classrooms.services_pairing import (
    class_history,
    constraint_add,
    constraint_remove,
    havruta_move_student,
    havruta_set_locked,
    havruta_swap_students,
    pairing_session_create,
    pairing_session_reshuffle,
    pairing_session_reuse,
    session_mark_absent,
    session_mark_present,
    size_problems,
)
from tests.factories import make_session, make_student
from tests.pairing_fixtures import (
    assert_valid_sizes,
    fast_password_hashing,  # noqa: F401  (autouse)
    layout,
    make_class,
    rows,
)

pytestmark = pytest.mark.django_db

METHODS = ["rotate", "random", "manual"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [2, 3, 6, 7, 12, 13])
def test_it_pairs_everyone_present_into_pairs_with_exactly_one_triad_when_odd(method: str, n: int) -> None:
    classroom, teacher, students = make_class(n + 2)
    present, absent = students[:n], students[n:]
    session = pairing_session_create(classroom=classroom, by=teacher, method=method, present=present, seed=7)
    groups = layout(session)
    assert_valid_sizes(groups, n)
    assert sorted(s for g in groups for s in g) == sorted(s.pk for s in present)
    assert set(session.absent.values_list("pk", flat=True)) == {s.pk for s in absent}
    numbers = list(Havruta.objects.filter(session=session).order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, len(groups) + 1))
    for havruta in Havruta.objects.filter(session=session).prefetch_related("memberships"):
        assert sorted(m.seat for m in havruta.memberships.all()) == list("ABC"[: havruta.memberships.count()])


def test_it_is_deterministic_given_a_seed() -> None:
    classroom, teacher, students = make_class(11)
    first = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=42)
    second = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=42)
    assert layout(first) == layout(second)
    assert first.seed == 42


def test_it_rotates_away_from_earlier_partners() -> None:
    classroom, teacher, students = make_class(10)
    sessions = [
        pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=s)
        for s in range(3)
    ]
    # Three sessions of a class of 10 can always avoid every earlier partner.
    for index in range(1, len(sessions)):
        earlier = [layout(s) for s in reversed(sessions[:index])]
        assert count_repeats(layout(sessions[index]), earlier) == 0


def test_it_reads_the_class_history_oldest_first_and_only_from_this_class() -> None:
    classroom, _teacher, students = make_class(4)
    other_class, _other_teacher, others = make_class(2)
    a, b, c, d = students
    make_session(classroom=classroom, groups=[[a, b], [c, d]])
    make_session(classroom=other_class, groups=[others])
    make_session(classroom=classroom, groups=[[a, c], [b, d]])
    assert class_history(classroom=classroom) == (
        ((a.pk, b.pk), (c.pk, d.pk)),
        ((a.pk, c.pk), (b.pk, d.pk)),
    )


@pytest.mark.parametrize("method", ["rotate", "random"])
def test_it_honours_keep_apart_and_keep_together(method: str) -> None:
    classroom, teacher, students = make_class(8)
    a, b, c, d = students[:4]
    constraint_add(classroom=classroom, student_a=a, student_b=b, kind=PairingConstraint.Kind.KEEP_TOGETHER)
    constraint_add(classroom=classroom, student_a=c, student_b=d, kind=PairingConstraint.Kind.KEEP_APART)
    for seed in range(10):
        session = pairing_session_create(classroom=classroom, by=teacher, method=method, present=students, seed=seed)
        home = {s: i for i, g in enumerate(layout(session)) for s in g}
        assert home[a.pk] == home[b.pk]
        assert home[c.pk] != home[d.pk]


def test_it_balances_group_labels_when_rotating() -> None:
    classroom, teacher, students = make_class(8, labels=["Aleph", "Bet"])
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=3)
    label = {s.pk: s.enrollment.group_label for s in students}
    for group in layout(session):
        assert len({label[s] for s in group}) == 2


def test_it_keeps_one_rule_per_pair_and_refuses_a_keep_together_chain_of_four() -> None:
    classroom, _teacher, students = make_class(5)
    a, b, c, d, e = students
    constraint_add(classroom=classroom, student_a=a, student_b=b, kind="apart")
    rule = constraint_add(classroom=classroom, student_a=b, student_b=a, kind="together")
    assert list(PairingConstraint.objects.filter(classroom=classroom).values_list("kind", flat=True)) == ["together"]
    constraint_add(classroom=classroom, student_a=b, student_b=c, kind="together")
    with pytest.raises(ValidationError, match="more than three"):
        constraint_add(classroom=classroom, student_a=c, student_b=d, kind="together")
    with pytest.raises(ValidationError):
        constraint_add(classroom=classroom, student_a=e, student_b=e, kind="apart")
    constraint_remove(constraint=rule)
    assert PairingConstraint.objects.filter(classroom=classroom).count() == 1


def test_it_refuses_students_who_are_not_on_the_roster() -> None:
    classroom, teacher, students = make_class(4)
    _other, _t, outsiders = make_class(2)
    with pytest.raises(ValidationError):
        pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=[*students, outsiders[0]])
    with pytest.raises(ValidationError):
        pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students[:1])
    with pytest.raises(ValidationError):
        constraint_add(classroom=classroom, student_a=students[0], student_b=outsiders[0], kind="apart")
    assert not PairingSession.objects.filter(classroom=classroom).exists()


# ---------------------------------------------------------------------------
# Absent mid-lesson: fewest moves, every other havruta untouched (row for row)
# ---------------------------------------------------------------------------


def _untouched_except(before: dict, after: dict, changed: set[int]) -> None:
    for pk, row in before.items():
        if pk not in changed:
            assert after[pk] == row, f"havruta {row[0]} changed"


def test_it_takes_an_absent_triad_member_out_without_moving_anyone() -> None:
    classroom, _teacher, s = make_class(7)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5], s[6]]])
    triad = Havruta.objects.get(session=session, number=3)
    before = rows(session)
    moves = session_mark_absent(session=session, student=s[5])
    after = rows(session)
    assert moves.moved == []
    _untouched_except(before, after, {triad.pk})
    assert sorted(st for _pk, st, _seat in after[triad.pk][3]) == [s[4].pk, s[6].pk]
    assert list(session.absent.all()) == [s[5]]
    assert_valid_sizes(layout(session), 6)


def test_it_moves_one_triad_member_to_the_lone_partner_when_a_pair_member_leaves() -> None:
    classroom, _teacher, s = make_class(7)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5], s[6]]])
    first, triad = Havruta.objects.get(session=session, number=1), Havruta.objects.get(session=session, number=3)
    before = rows(session)
    moves = session_mark_absent(session=session, student=s[0])
    after = rows(session)
    assert len(moves.moved) == 1
    mover, origin, destination = moves.moved[0]
    assert (origin, destination) == (3, 1) and mover in {s[4].pk, s[5].pk, s[6].pk}
    _untouched_except(before, after, {first.pk, triad.pk})
    # The partner who stayed keeps their row and seat.
    assert any(st == s[1].pk for _pk, st, _seat in after[first.pk][3])
    assert {m for m in before[first.pk][3] if m[1] == s[1].pk} <= after[first.pk][3]
    assert_valid_sizes(layout(session), 6)


def test_it_turns_a_pair_into_the_triad_when_a_pair_member_leaves_an_even_class() -> None:
    classroom, _teacher, s = make_class(8)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5]], [s[6], s[7]]])
    left_alone = Havruta.objects.get(session=session, number=2)
    before = rows(session)
    moves = session_mark_absent(session=session, student=s[3])
    after = rows(session)
    assert [m[0] for m in moves.moved] == [s[2].pk]
    assert moves.removed_havrutot == [2]
    assert left_alone.pk not in after
    (receiving,) = [pk for pk in after if after[pk] != before[pk]]
    _untouched_except({k: v for k, v in before.items() if k != left_alone.pk}, after, {receiving})
    assert_valid_sizes(layout(session), 7)


def test_it_prefers_the_pair_the_lone_partner_has_not_learned_with() -> None:
    classroom, _teacher, s = make_class(6)
    # Earlier: s[1] learned with s[2] and s[3].
    make_session(classroom=classroom, groups=[[s[1], s[2]], [s[0], s[3]], [s[4], s[5]]])
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5]]])
    session_mark_absent(session=session, student=s[0])
    assert (s[1].pk, s[4].pk, s[5].pk) in layout(session)


def test_it_places_a_late_student_with_the_fewest_moves() -> None:
    classroom, teacher, s = make_class(8)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=s[:6], seed=1)
    before = rows(session)
    moves = session_mark_present(session=session, student=s[6])
    assert_valid_sizes(layout(session), 7)
    assert moves.moved == [(s[6].pk, None, moves.changed_havrutot[0])]
    assert sum(1 for pk in before if rows(session).get(pk) != before[pk]) == 1
    # The eighth arrives: the triad gives one member to a new havruta with them.
    before = rows(session)
    moves = session_mark_present(session=session, student=s[7])
    after = rows(session)
    assert_valid_sizes(layout(session), 8)
    assert len(moves.created_havrutot) == 1
    assert sum(1 for pk in before if after.get(pk) != before[pk]) == 1
    assert not session.absent.exists()
    with pytest.raises(ValidationError):
        session_mark_present(session=session, student=s[7])


# ---------------------------------------------------------------------------
# Locks and reshuffle
# ---------------------------------------------------------------------------


def test_it_keeps_locked_havrutot_exactly_as_they_were_when_reshuffling() -> None:
    classroom, teacher, students = make_class(13)
    session = pairing_session_create(classroom=classroom, by=teacher, method="rotate", present=students, seed=5)
    havrutot = list(Havruta.objects.filter(session=session).order_by("number"))
    triad = next(h for h in havrutot if h.memberships.count() == 3)
    pair = next(h for h in havrutot if h.memberships.count() == 2)
    havruta_set_locked(havruta=triad, locked=True)
    havruta_set_locked(havruta=pair, locked=True)
    before = rows(session)
    changed = False
    for seed in range(6):
        pairing_session_reshuffle(session=session, seed=seed)
        after = rows(session)
        assert after[triad.pk] == before[triad.pk]
        assert after[pair.pk] == before[pair.pk]
        assert_valid_sizes(layout(session), 13)
        changed = changed or {k: v for k, v in after.items()} != before
    assert changed, "the unlocked havrutot never changed"


def test_it_refuses_to_lock_a_student_alone() -> None:
    classroom, _teacher, s = make_class(4)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    havruta_move_student(session=session, student=s[0], to_havruta=None)
    alone = Havruta.objects.get(session=session, memberships__student=s[0])
    with pytest.raises(ValidationError, match="pair or a triad"):
        havruta_set_locked(havruta=alone, locked=True)


def test_it_reports_a_reshuffle_that_contradicts_the_locks() -> None:
    classroom, _teacher, s = make_class(6)
    session = make_session(classroom=classroom, groups=[[s[0], s[1], s[2]], [s[3], s[4]], [s[5]]])
    havruta_set_locked(havruta=Havruta.objects.get(session=session, number=1), locked=True)
    with pytest.raises(ValidationError, match="cannot be grouped"):
        pairing_session_reshuffle(session=session, seed=1)


# ---------------------------------------------------------------------------
# Reuse
# ---------------------------------------------------------------------------


def test_it_reuses_an_earlier_pairing_as_it_was_when_everyone_is_here() -> None:
    classroom, teacher, students = make_class(9)
    earlier = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=11)
    today = pairing_session_reuse(classroom=classroom, from_session=earlier, by=teacher)
    assert today.method == PairingSession.Method.REUSE
    assert sorted(layout(today)) == sorted(layout(earlier))
    assert today.pk != earlier.pk


def test_it_reuses_an_earlier_pairing_without_todays_absent_students() -> None:
    classroom, teacher, s = make_class(8)
    earlier = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5]], [s[6], s[7]]])
    today = pairing_session_reuse(classroom=classroom, from_session=earlier, by=teacher, present=s[1:])
    groups = layout(today)
    assert_valid_sizes(groups, 7)
    # Only s[1] (left alone) moved: the three other pairs are kept, one of them as the triad.
    kept = {tuple(sorted((a.pk, b.pk))) for a, b in [(s[2], s[3]), (s[4], s[5]), (s[6], s[7])]}
    assert sum(1 for g in groups if g in kept) == 2
    assert any(s[1].pk in g and len(g) == 3 for g in groups)
    assert list(today.absent.all()) == [s[0]]


def test_it_reuses_an_earlier_pairing_with_a_newcomer() -> None:
    classroom, teacher, s = make_class(4)
    earlier = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    newcomer = make_student(classroom=classroom, name="Newcomer")
    today = pairing_session_reuse(classroom=classroom, from_session=earlier, by=teacher)
    groups = layout(today)
    assert_valid_sizes(groups, 5)
    assert any(newcomer.pk in g for g in groups)


def test_it_refuses_to_reuse_another_classs_pairing(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        pairing_session_reuse(classroom=world.other_class, from_session=world.session, by=world.other_teacher)


# ---------------------------------------------------------------------------
# Manual moves
# ---------------------------------------------------------------------------


def test_it_moves_a_triad_member_to_another_pair() -> None:
    classroom, _teacher, s = make_class(7)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5], s[6]]])
    target = Havruta.objects.get(session=session, number=1)
    before = rows(session)
    moves = havruta_move_student(session=session, student=s[6], to_havruta=target)
    assert moves.moved == [(s[6].pk, 3, 1)]
    assert_valid_sizes(layout(session), 7)
    assert (
        rows(session)[Havruta.objects.get(session=session, number=2).pk]
        == before[Havruta.objects.get(session=session, number=2).pk]
    )


def test_it_refuses_a_fourth_student_in_a_havruta() -> None:
    classroom, _teacher, s = make_class(7)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]], [s[4], s[5], s[6]]])
    triad = Havruta.objects.get(session=session, number=3)
    before = rows(session)
    with pytest.raises(ValidationError, match="already has three students"):
        havruta_move_student(session=session, student=s[0], to_havruta=triad)
    assert rows(session) == before


def test_it_lets_the_teacher_rearrange_through_a_new_havruta_and_names_what_is_unfinished() -> None:
    classroom, _teacher, s = make_class(4)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    moves = havruta_move_student(session=session, student=s[0], to_havruta=None)
    assert moves.created_havrutot == [3]
    assert size_problems(layout(session)) == ["2 students are alone in a havruta: give them partners."]
    new = Havruta.objects.get(session=session, number=3)
    havruta_move_student(session=session, student=s[2], to_havruta=new)
    havruta_move_student(session=session, student=s[3], to_havruta=Havruta.objects.get(session=session, number=1))
    assert sorted(layout(session)) == sorted([(s[1].pk, s[3].pk), (s[0].pk, s[2].pk)])
    assert size_problems(layout(session)) == []
    assert not Havruta.objects.filter(session=session, number=2).exists()  # emptied, no work: removed


def test_it_swaps_two_students_and_keeps_their_seats() -> None:
    classroom, _teacher, s = make_class(4)
    session = make_session(classroom=classroom, groups=[[s[0], s[1]], [s[2], s[3]]])
    moves = havruta_swap_students(session=session, student=s[0], other=s[3])
    assert sorted(layout(session)) == sorted([(s[1].pk, s[3].pk), (s[0].pk, s[2].pk)])
    assert {m[0] for m in moves.moved} == {s[0].pk, s[3].pk}
    seats = dict(Havruta.objects.get(session=session, number=1).memberships.values_list("student_id", "seat"))
    assert seats == {s[3].pk: "A", s[1].pk: "B"}
    with pytest.raises(ValidationError):
        havruta_swap_students(session=session, student=s[0], other=s[2])
