"""Havruta pairing: who learns with whom in today's session.

This module is deliberately plain Python (no Django, no database) so the rules a
teacher relies on can be property-tested in isolation and benchmarked. The views
translate rosters, attendance and saved sessions into a :class:`PairingRequest`
and store whatever comes back.

Vocabulary
----------
* A *student* is an ``int`` id.
* A *havruta* is a tuple of ids: normally 2, or 3 for exactly one triad when the
  number of students present is odd. With an even number present there is no
  triad. Special cases: nobody present gives ``[]``; a single student present
  gives one "havruta" of one, ``[(id,)]``, because the alternative -- refusing to
  produce anything -- would leave that student off the teacher's screen.
* *History* is the list of earlier sessions of the class, oldest first; each
  session is a tuple of havrutot.

The product's promises (property-tested in ``tests/test_pairing.py``)
--------------------------------------------------------------------
1. Deterministic: the same request (including ``seed``) gives the same result,
   and the result is sorted canonically (members ascending inside a havruta,
   havrutot ascending) so results can be compared and stored without noise.
   Only a private ``random.Random(seed)`` is used, never the global generator.
2. Every present student is in exactly one havruta; sizes follow the rule above.
3. Locked havrutot come back exactly as they were; only the others are reshuffled.
4. ``keep_apart`` / ``keep_together`` are hard constraints for both methods and
   are honoured whenever they can be. When they cannot (contradictory, or
   impossible next to the locks), a best-effort grouping is still returned --
   class must start -- and :func:`violations` lists what was broken so the UI can
   warn the teacher. Requests that cannot be turned into havrutot at all raise
   :class:`PairingError`.
5. ``pair_rotate`` minimises the weighted repeat cost (recent repeats weigh
   more), and only then balances labels.

How ``pair_rotate`` optimises
-----------------------------
Every pair of free students gets one integer weight that encodes, in strict
priority order, (a) hard constraints, (b) how recently and how often the two
have learned together, (c) label balance. Integers keep the comparisons exact,
so the local search cannot cycle on rounding noise, and the priority order is
guaranteed by construction (each tier's unit exceeds the whole range of the
tiers below). The cost of a grouping is the sum of the weights of all partner
pairs inside its havrutot.

The search is: several randomised greedy constructions, each followed by local
search (exchange partners between two pairs, 2-opt style, and re-split a triad
with a pair in all ten ways) until no move improves; the cheapest result wins.
If the winner still breaks a hard constraint, an exact backtracking search looks
for a grouping that breaks none (see :func:`_find_feasible`); if it finds one,
local search continues from there. This keeps the "honoured whenever
satisfiable" promise without making the common case slow: 36 students with 20
sessions of history take a few milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations, pairwise
from types import MappingProxyType
from typing import Literal

Havruta = tuple[int, ...]
"""Members of one study group: 2 ids, or 3 for the single triad (1 only for a class of one)."""

DEFAULT_DECAY = 0.5
"""Weight multiplier per session of age: last session 1, the one before 0.5, then 0.25, ...

Halving means one repeat from last session outweighs any number of repeats from
all older sessions combined (1 > 0.5 + 0.25 + ...), which matches how teachers
talk about it: "they were together last week" is the thing to avoid.
"""

_REPEAT_SCALE = 1 << 40
"""Fixed-point scale for repeat weights inside the optimiser.

With the default decay, session weights are exact powers of two, so sessions up
to 40 back are represented exactly; older ones round to zero (their weight is
below 1e-12 and could not change a decision that matters).
"""

_ROTATE_STARTS = 12
"""Randomised greedy starts for ``pair_rotate``; measured in ``bench/pairing.py``.

More starts find slightly cheaper groupings in large classes, at linear cost in
time; 12 keeps 36 students well under 10 ms on a laptop.
"""

_FEASIBILITY_BUDGET = 20_000
"""Search nodes the exact feasibility fallback may spend before giving up.

Only reached for adversarial, nearly contradictory constraint sets; bounds the
worst case to a fraction of a second instead of exponential time.
"""


class PairingError(ValueError):
    """The request cannot be turned into havrutot at all.

    Distinct from constraints that merely cannot all be honoured (those give a
    best-effort grouping plus :func:`violations`): here the request contradicts
    itself structurally, e.g. locked havrutot overlap, a locked student is not
    present, or a keep-together chain would need a havruta of four.
    """


def _empty_labels() -> Mapping[int, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class PairingRequest:
    """Everything the pairing functions need, as immutable values.

    Attributes:
        present: Students present today. Order does not matter: it is sorted
            internally, so results depend only on the set and the seed.
        history: Earlier sessions of the class, oldest first; each a tuple of
            havrutot. Students no longer present are simply ignored.
        locked: Havrutot to keep exactly as they are (each of size 2 or 3, all
            members present, disjoint, at most one triad).
        keep_apart: Sets of students of whom no two may share a havruta
            (usually pairs).
        keep_together: Sets of students who must share a havruta. Overlapping
            sets chain together; a chain of more than 3 present students is a
            :class:`PairingError`. Absent students break chains.
        labels: Optional group label per student (e.g. grade, track, language).
            Unlabelled students are neutral for balancing.
        label_mode: ``"mix"`` prefers havrutot whose members have different
            labels; ``"match"`` prefers havrutot whose members share a label.
            Only ``pair_rotate`` balances labels, and only after repeats.
        seed: Seed of the private random generator; same seed, same result.
    """

    present: tuple[int, ...]
    history: tuple[tuple[tuple[int, ...], ...], ...] = ()
    locked: tuple[tuple[int, ...], ...] = ()
    keep_apart: frozenset[frozenset[int]] = frozenset()
    keep_together: frozenset[frozenset[int]] = frozenset()
    labels: Mapping[int, str] = field(default_factory=_empty_labels, hash=False)
    label_mode: Literal["mix", "match"] = "mix"
    seed: int = 0

    def __post_init__(self) -> None:
        # A frozen request should not change under us because the caller later
        # mutates the dict or lists it passed in; snapshot them. This also
        # makes requests hashable when callers pass lists.
        object.__setattr__(self, "present", tuple(self.present))
        object.__setattr__(self, "history", tuple(tuple(tuple(g) for g in s) for s in self.history))
        object.__setattr__(self, "locked", tuple(tuple(g) for g in self.locked))
        object.__setattr__(self, "keep_apart", frozenset(frozenset(s) for s in self.keep_apart))
        object.__setattr__(self, "keep_together", frozenset(frozenset(s) for s in self.keep_together))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def _partner_pairs(group: Iterable[int]) -> list[tuple[int, int]]:
    """All unordered partner pairs inside one havruta (a triad has three)."""
    return [(a, b) if a < b else (b, a) for a, b in combinations(group, 2)]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be between 0 and 1, got {decay!r}")


def repeat_cost(
    groups: Iterable[Sequence[int]],
    history: Sequence[Iterable[Sequence[int]]],
    *,
    decay: float = DEFAULT_DECAY,
) -> float:
    """Weighted number of repeated partnerships in ``groups``.

    Each partner pair inside a havruta (three for a triad) adds ``decay ** age``
    for every earlier session in which the two shared a havruta, where age 0 is
    the latest session (``history[-1]``). Recency matters because "again with
    the same partner as last week" is what students notice; a partner from two
    months ago is welcome variety. ``pair_rotate`` minimises this with the
    default decay.
    """
    _check_decay(decay)
    weights: dict[tuple[int, int], float] = {}
    last = len(history) - 1
    for index, session in enumerate(history):
        weight = decay ** (last - index)
        for pair in {p for group in session for p in _partner_pairs(group)}:
            weights[pair] = weights.get(pair, 0.0) + weight
    return sum(weights.get(pair, 0.0) for group in groups for pair in _partner_pairs(group))


def count_repeats(groups: Iterable[Sequence[int]], history: Iterable[Iterable[Sequence[int]]]) -> int:
    """Number of partner pairs in ``groups`` who have learned together in any earlier session.

    The unweighted, human-readable counterpart of :func:`repeat_cost` ("2 pairs
    have met before"), used in reports and the benchmark. A triad contributes up
    to three partner pairs.
    """
    seen = {pair for session in history for group in session for pair in _partner_pairs(group)}
    return sum(1 for group in groups for pair in _partner_pairs(group) if pair in seen)


def violations(groups: Iterable[Sequence[int]], req: PairingRequest) -> list[str]:
    """Human-readable list of keep-apart / keep-together rules that ``groups`` break.

    The pairing functions never raise over constraints that merely cannot all
    be met (class still has to start); they return the best grouping they can
    and the caller shows these messages as a warning. Only students who appear
    in ``groups`` are considered, so absent students never cause a warning. An
    empty list means every rule is honoured.
    """
    group_list = [tuple(g) for g in groups]
    home = {student: index for index, group in enumerate(group_list) for student in group}
    messages: list[str] = []
    for rule in sorted(req.keep_apart, key=sorted):
        members = sorted(s for s in rule if s in home)
        for a, b in combinations(members, 2):
            if home[a] == home[b]:
                messages.append(f"keep apart: {a} and {b} are in the same havruta {_show(group_list[home[a]])}")
    for rule in sorted(req.keep_together, key=sorted):
        members = sorted(s for s in rule if s in home)
        homes = sorted({home[s] for s in members})
        if len(homes) > 1:
            where = ", ".join(_show(group_list[i]) for i in homes)
            messages.append(f"keep together: {_show_names(members)} are split across {where}")
    return messages


def _show(group: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in sorted(group)) + ")"


def _show_names(members: Sequence[int]) -> str:
    names = [str(s) for s in members]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------------------
# Request validation
# ---------------------------------------------------------------------------


@dataclass
class _Problem:
    """A validated request reduced to what the optimiser needs.

    ``free`` are the students to be grouped (present minus locked), sorted; the
    optimiser works with their positions in this list. ``apart`` / ``together``
    hold only free-free pairs: constraints touching a locked havruta cannot be
    influenced, so they are left for :func:`violations` to report.
    """

    locked: list[Havruta]
    free: list[int]
    need_triad: bool
    apart: set[tuple[int, int]]
    together: set[tuple[int, int]]


def _prepare(req: PairingRequest) -> _Problem:
    present = sorted(req.present)
    if len(set(present)) != len(present):
        dupes = sorted({s for s in present if present.count(s) > 1})
        raise PairingError(f"students listed as present more than once: {dupes}")
    if req.label_mode not in ("mix", "match"):
        raise PairingError(f"label_mode must be 'mix' or 'match', got {req.label_mode!r}")
    present_set = set(present)

    locked: list[Havruta] = []
    in_lock: set[int] = set()
    for group in req.locked:
        canon = tuple(sorted(group))
        if len(canon) not in (2, 3):
            raise PairingError(f"locked havruta {_show(canon)} must have 2 or 3 members")
        if len(set(canon)) != len(canon):
            raise PairingError(f"locked havruta {_show(canon)} lists a student twice")
        missing = [s for s in canon if s not in present_set]
        if missing:
            raise PairingError(f"locked havruta {_show(canon)} includes students who are not present: {missing}")
        overlap = sorted(in_lock.intersection(canon))
        if overlap:
            raise PairingError(f"students {overlap} are in more than one locked havruta")
        in_lock.update(canon)
        locked.append(canon)
    locked.sort()

    locked_triads = [g for g in locked if len(g) == 3]
    if len(locked_triads) > 1:
        raise PairingError("at most one havruta may be a triad, but more than one locked havruta has 3 members")
    free = [s for s in present if s not in in_lock]
    if locked_triads and len(present) % 2 == 0:
        raise PairingError(
            f"locked triad {_show(locked_triads[0])} needs an odd number of students present, "
            f"but {len(present)} are present; unlock it or lock it as a pair"
        )
    need_triad = len(present) % 2 == 1 and not locked_triads
    if need_triad and len(free) == 1 and locked:
        raise PairingError(
            f"student {free[0]} is left over and every other havruta is locked; "
            "unlock one havruta (or lock a triad) so they can join it"
        )

    # keep_together chains: union-find over present students only, so an
    # absent student does not silently glue two others together.
    parent = {s: s for s in present}

    def find(s: int) -> int:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for rule in req.keep_together:
        members = sorted(s for s in rule if s in present_set)
        for a, b in pairwise(members):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    chains: dict[int, list[int]] = {}
    for s in present:
        chains.setdefault(find(s), []).append(s)
    together: set[tuple[int, int]] = set()
    free_set = set(free)
    for chain in chains.values():
        if len(chain) > 3:
            raise PairingError(
                f"keep-together rules chain {_show_names(chain)} into one group of {len(chain)}, "
                "but a havruta holds at most 3"
            )
        together.update(p for p in _partner_pairs(chain) if p[0] in free_set and p[1] in free_set)

    apart: set[tuple[int, int]] = set()
    for rule in req.keep_apart:
        members = sorted(s for s in rule if s in free_set)
        apart.update(_partner_pairs(members))
    return _Problem(locked=locked, free=free, need_triad=need_triad, apart=apart, together=together)


def _finish(problem: _Problem, groups: Iterable[Iterable[int]]) -> list[Havruta]:
    """Map local indices back to ids, add the locked havrutot, sort canonically."""
    free = problem.free
    result = [tuple(sorted(free[i] for i in g)) for g in groups]
    result.extend(problem.locked)
    result.sort()
    return result


# ---------------------------------------------------------------------------
# Weights and local search (over local indices 0..m-1)
# ---------------------------------------------------------------------------

Matrix = list[list[int]]


def _hard_matrix(problem: _Problem) -> list[list[int]]:
    """+1 for a keep-apart pair, -1 for a keep-together pair, else 0."""
    index = {s: i for i, s in enumerate(problem.free)}
    m = len(problem.free)
    hard = [[0] * m for _ in range(m)]
    for a, b in problem.apart:
        hard[index[a]][index[b]] += 1
        hard[index[b]][index[a]] += 1
    for a, b in problem.together:
        hard[index[a]][index[b]] -= 1
        hard[index[b]][index[a]] -= 1
    return hard


def _weight_matrix(
    problem: _Problem,
    *,
    history: Sequence[Iterable[Sequence[int]]] = (),
    labels: Mapping[int, str] | None = None,
    label_mode: str = "mix",
) -> Matrix:
    """Integer pair weights: hard tier, then repeat tier, then label tier.

    Tier units are chosen so that the entire possible range of a lower tier
    (summed over all partner pairs of a grouping) is smaller than one unit of
    the tier above. Minimising the sum therefore minimises hard-constraint
    violations first, then the weighted repeat cost, then label imbalance --
    exactly, with no tuning constants. Keep-together pairs get a negative hard
    weight (a reward for being together), which keeps the cost a plain sum of
    pair weights.
    """
    free = problem.free
    m = len(free)
    index = {s: i for i, s in enumerate(free)}
    hard = _hard_matrix(problem)

    repeat = [[0] * m for _ in range(m)]
    last = len(history) - 1
    for position, session in enumerate(history):
        weight = round(DEFAULT_DECAY ** (last - position) * _REPEAT_SCALE)
        if weight == 0:
            continue
        pairs = {p for group in session for p in _partner_pairs(group)}
        for a, b in pairs:
            i, j = index.get(a), index.get(b)
            if i is not None and j is not None:
                repeat[i][j] += weight
                repeat[j][i] += weight

    label = [[0] * m for _ in range(m)]
    if labels:
        tags = [labels.get(s) for s in free]
        for i in range(m):
            ti = tags[i]
            if ti is None:
                continue
            for j in range(i + 1, m):
                tj = tags[j]
                if tj is None:
                    continue
                same = ti == tj
                if same == (label_mode == "mix"):
                    label[i][j] = label[j][i] = 1

    partner_pairs = max(m, 1)  # upper bound on partner pairs in any grouping of m students
    label_unit = partner_pairs + 1
    max_repeat = max((max(row) for row in repeat), default=0)
    hard_unit = partner_pairs * (max_repeat * label_unit + 1) + 1
    return [[hard[i][j] * hard_unit + repeat[i][j] * label_unit + label[i][j] for j in range(m)] for i in range(m)]


def _group_cost(group: Sequence[int], w: Matrix) -> int:
    if len(group) == 2:
        return w[group[0]][group[1]]
    if len(group) == 3:
        a, b, c = group
        return w[a][b] + w[a][c] + w[b][c]
    return 0


def _cost(groups: Sequence[Sequence[int]], w: Matrix) -> int:
    return sum(_group_cost(g, w) for g in groups)


_SPLITS_OF_FIVE = [(pair, tuple(k for k in range(5) if k not in pair)) for pair in combinations(range(5), 2)]
"""All ways to split a triad plus a pair (5 students) into a pair and a triad."""


def _local_search(groups: list[list[int]], w: Matrix) -> None:
    """Improve ``groups`` in place until no single move lowers the cost.

    Moves: for two pairs (a,b),(c,d) try (a,c),(b,d) and (a,d),(b,c); for the
    triad and a pair try all ten ways to split the five students into a triad
    and a pair (this both swaps members and moves the triad elsewhere). Costs
    are integers and each accepted move strictly lowers the total, so the loop
    terminates.
    """
    improved = True
    while improved:
        improved = False
        count = len(groups)
        for i in range(count):
            for j in range(i + 1, count):
                gi, gj = groups[i], groups[j]
                if len(gi) == 2 and len(gj) == 2:
                    a, b = gi
                    c, d = gj
                    current = w[a][b] + w[c][d]
                    cross = w[a][c] + w[b][d]
                    other = w[a][d] + w[b][c]
                    if cross < current and cross <= other:
                        groups[i], groups[j] = [a, c], [b, d]
                        improved = True
                    elif other < current:
                        groups[i], groups[j] = [a, d], [b, c]
                        improved = True
                elif len(gi) + len(gj) == 5:
                    five = (*gi, *gj)
                    best = _group_cost(gi, w) + _group_cost(gj, w)
                    choice: tuple[list[int], list[int]] | None = None
                    for (p, q), (x, y, z) in _SPLITS_OF_FIVE:
                        pa, pb = five[p], five[q]
                        ta, tb, tc = five[x], five[y], five[z]
                        cost = w[pa][pb] + w[ta][tb] + w[ta][tc] + w[tb][tc]
                        if cost < best:
                            best = cost
                            choice = ([pa, pb], [ta, tb, tc])
                    if choice is not None:
                        # Keep the triad in whichever slot held it; slot order is irrelevant.
                        if len(gi) == 3:
                            groups[i], groups[j] = choice[1], choice[0]
                        else:
                            groups[i], groups[j] = choice[0], choice[1]
                        improved = True


def _greedy(w: Matrix, rng: random.Random) -> list[list[int]]:
    """Randomised greedy start: in random order, give each student their cheapest free partner.

    The random visiting order (and the random order of candidates, which
    breaks ties) makes each start different, so several starts explore
    different regions before local search polishes them.
    """
    m = len(w)
    order = list(range(m))
    rng.shuffle(order)
    taken = [False] * m
    groups: list[list[int]] = []
    for a in order:
        if taken[a]:
            continue
        taken[a] = True
        row = w[a]
        best_b = -1
        best_cost = 0
        for b in order:
            if not taken[b] and (best_b < 0 or row[b] < best_cost):
                best_b, best_cost = b, row[b]
        if best_b >= 0:
            taken[best_b] = True
            groups.append([a, best_b])
        elif groups:
            # The odd one out joins the pair it costs least to join.
            k = min(range(len(groups)), key=lambda g: row[groups[g][0]] + row[groups[g][1]])
            groups[k].append(a)
        else:  # pragma: no cover - callers handle classes of one before searching
            groups.append([a])
    return groups


def _random_groups(m: int, rng: random.Random) -> list[list[int]]:
    """Uniformly shuffled students cut into pairs; with an odd count the last three form the triad."""
    order = list(range(m))
    rng.shuffle(order)
    groups = [order[k : k + 2] for k in range(0, m - (3 if m % 2 else 0), 2)]
    if m % 2:
        groups.append(order[m - 3 :] if m >= 3 else order)
    return groups


# ---------------------------------------------------------------------------
# Exact feasibility fallback for hard constraints
# ---------------------------------------------------------------------------


def _local_pairs(problem: _Problem) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Keep-apart and keep-together pairs translated to local indices (i < j)."""
    index = {s: i for i, s in enumerate(problem.free)}
    apart = {(index[a], index[b]) for a, b in problem.apart}
    together = {(index[a], index[b]) for a, b in problem.together}
    return apart, together


def _hard_violations(groups: Sequence[Sequence[int]], problem: _Problem) -> int:
    """Keep-apart pairs sharing a havruta plus keep-together pairs split apart (free students only)."""
    apart, together = _local_pairs(problem)
    inside = {p for group in groups for p in _partner_pairs(group)}
    return len(apart & inside) + len(together - inside)


def _find_feasible(problem: _Problem, rng: random.Random, budget: int = _FEASIBILITY_BUDGET) -> list[list[int]] | None:
    """Find any grouping of the free students that breaks no hard constraint, or ``None``.

    Keep-together chains become fixed units; the triad (if one is needed) is
    chosen first among the units/students that may share one, then the
    remaining single students are perfectly matched by backtracking on the
    "may learn together" graph, always branching on the student with the
    fewest remaining options (fails fast on dead ends). The node ``budget``
    bounds the worst case; ``None`` means "none exists" or "budget spent",
    and the caller then keeps its best-effort grouping.
    """
    m = len(problem.free)
    apart, together = _local_pairs(problem)
    # Units: keep-together chains among free students (singletons included).
    root = list(range(m))

    def find(i: int) -> int:
        while root[i] != i:
            i = root[i]
        return i

    for a, b in sorted(together):
        ra, rb = find(a), find(b)
        if ra != rb:
            root[max(ra, rb)] = min(ra, rb)
    units_by_root: dict[int, list[int]] = {}
    for i in range(m):
        units_by_root.setdefault(find(i), []).append(i)
    units = list(units_by_root.values())

    def compatible(xs: Sequence[int]) -> bool:
        return not any(p in apart for p in _partner_pairs(xs))

    if not all(compatible(u) for u in units):
        return None  # a keep-together chain contains a keep-apart pair
    triples = [u for u in units if len(u) == 3]
    doubles = [u for u in units if len(u) == 2]
    singles = [u[0] for u in units if len(u) == 1]
    if len(triples) > (1 if problem.need_triad else 0):
        return None

    triad_options: list[tuple[list[int], list[int]]] = []  # (triad members, units it uses)
    if not problem.need_triad:
        triad_options.append(([], []))
    elif triples:
        triad_options.append((triples[0], triples[0]))
    else:
        for pair in doubles:
            for s in singles:
                if compatible([*pair, s]):
                    triad_options.append(([*pair, s], [*pair, s]))
        for trio in combinations(singles, 3):
            if compatible(trio):
                triad_options.append((list(trio), list(trio)))
        rng.shuffle(triad_options)

    nodes = [budget]
    for triad, used in triad_options:
        rest = [s for s in singles if s not in used]
        pairs = [d for d in doubles if d[0] not in used]
        matching = _match(rest, apart, rng, nodes)
        if matching is not None:
            return pairs + matching + ([triad] if triad else [])
        if nodes[0] <= 0:
            return None
    return None


def _match(
    students: list[int], apart: set[tuple[int, int]], rng: random.Random, nodes: list[int]
) -> list[list[int]] | None:
    """Perfect matching of ``students`` avoiding keep-apart pairs, by MRV backtracking."""
    if len(students) % 2:
        return None
    remaining = set(students)
    options = {s: {t for t in students if t != s and (min(s, t), max(s, t)) not in apart} for s in students}
    # A connected component of odd size can never be perfectly matched. Checking
    # this first turns the classic hard case (two camps that must not mix, each
    # of odd size) from a budget-exhausting search into an instant "no".
    unseen = set(students)
    while unseen:
        stack = [unseen.pop()]
        size = 0
        while stack:
            s = stack.pop()
            size += 1
            reached = options[s] & unseen
            unseen -= reached
            stack.extend(reached)
        if size % 2:
            return None
    degree = {s: len(options[s]) for s in students}
    chosen: list[list[int]] = []

    def drop(s: int) -> list[int]:
        remaining.discard(s)
        touched = [t for t in options[s] if t in remaining]
        for t in touched:
            degree[t] -= 1
        return touched

    def restore(s: int, touched: list[int]) -> None:
        for t in touched:
            degree[t] += 1
        remaining.add(s)

    def search() -> bool:
        if not remaining:
            return True
        nodes[0] -= 1
        if nodes[0] <= 0:
            return False
        s = min(remaining, key=lambda v: (degree[v], v))
        if degree[s] == 0:
            return False
        candidates = sorted(t for t in options[s] if t in remaining)
        rng.shuffle(candidates)
        candidates.sort(key=lambda v: degree[v])  # stable: random among equally constrained
        touched_s = drop(s)
        for t in candidates:
            touched_t = drop(t)
            chosen.append([s, t])
            if search():
                return True
            chosen.pop()
            restore(t, touched_t)
        restore(s, touched_s)
        return False

    return chosen if search() else None


def _repair(groups: list[list[int]], problem: _Problem, w: Matrix, rng: random.Random) -> list[list[int]]:
    """If ``groups`` breaks a hard constraint, try the exact fallback and polish it.

    Local search never trades a hard violation for soft gains (the hard tier
    dominates), so a feasible start stays feasible while it is improved.
    """
    if _hard_violations(groups, problem) == 0:
        return groups
    feasible = _find_feasible(problem, rng)
    if feasible is None:
        return groups
    _local_search(feasible, w)
    return feasible if _cost(feasible, w) < _cost(groups, w) else groups


# ---------------------------------------------------------------------------
# Public pairing functions
# ---------------------------------------------------------------------------


def _trivial(problem: _Problem) -> list[Havruta] | None:
    """Classes too small to need a search: nobody free, or a lone student in a class of one."""
    if not problem.free:
        return list(problem.locked)
    if len(problem.free) == 1:  # only possible when nothing is locked: a class of one
        return [(problem.free[0],)]
    return None


def pair_random(req: PairingRequest) -> list[Havruta]:
    """Random havrutot that still honour locks and hard constraints.

    Ignores history and labels on purpose: it is the "shuffle" button, and the
    baseline ``pair_rotate`` is measured against. A uniformly shuffled grouping
    is kept as is when it already honours ``keep_apart`` / ``keep_together``;
    otherwise it is repaired by the minimal local moves that remove violations
    (and, failing that, by the exact fallback), so the randomness survives.
    """
    problem = _prepare(req)
    trivial = _trivial(problem)
    if trivial is not None:
        return trivial
    rng = random.Random(req.seed)  # noqa: S311 - seeded shuffling for reproducibility, not security
    hard = _hard_matrix(problem)
    groups = _random_groups(len(problem.free), rng)
    if problem.apart or problem.together:
        _local_search(groups, hard)
        groups = _repair(groups, problem, hard, rng)
    return _finish(problem, groups)


def pair_rotate(req: PairingRequest) -> list[Havruta]:
    """Havrutot that avoid recent partners, then balance labels; honours locks and hard constraints.

    Minimises, in strict priority: hard-constraint violations, then the
    weighted repeat cost of :func:`repeat_cost` with :data:`DEFAULT_DECAY`,
    then label imbalance (see :class:`PairingRequest`). The search is a
    heuristic (greedy starts + local search + exact feasibility fallback), so
    the repeat cost is not guaranteed to be the global minimum; the tests pin
    down what is guaranteed, and ``bench/pairing.py`` measures the rest.
    Unsatisfiable constraints give a best-effort result; check
    :func:`violations`.

    Raises:
        PairingError: a student is listed twice in ``present``; a locked
            havruta is not of size 2 or 3, lists someone absent, or overlaps
            another; more than one locked triad; a locked triad while an even
            number is present (the rest would need a second triad); exactly
            one student left over with every other havruta locked (we will
            not break a lock to seat them); a keep-together chain of more
            than 3 present students. ``pair_random`` raises the same errors.
    """
    problem = _prepare(req)
    trivial = _trivial(problem)
    if trivial is not None:
        return trivial
    rng = random.Random(req.seed)  # noqa: S311 - seeded search for reproducibility, not security
    w = _weight_matrix(problem, history=req.history, labels=req.labels, label_mode=req.label_mode)
    best: list[list[int]] | None = None
    best_cost = 0
    for _ in range(_ROTATE_STARTS):
        groups = _greedy(w, rng)
        _local_search(groups, w)
        cost = _cost(groups, w)
        if best is None or cost < best_cost:
            best, best_cost = groups, cost
    assert best is not None  # _ROTATE_STARTS > 0
    return _finish(problem, _repair(best, problem, w, rng))


# ---------------------------------------------------------------------------
# Mid-session absence
# ---------------------------------------------------------------------------


def rebalance_absent(
    groups: Sequence[Sequence[int]],
    absent: int,
    *,
    history: Sequence[Iterable[Sequence[int]]] = (),
) -> list[Havruta]:
    """Remove a student who left (or never arrived) while moving as few others as possible.

    Pairs are already sitting together when this is called, so the rule is
    "fewest students moved, fewest havrutot touched"; every havruta not named
    below is returned unchanged (the very same tuple, same position). Let H be
    the absent student's havruta:

    1. H is the triad: it simply becomes a pair. Nobody moves.
    2. H is a pair and another havruta T is a triad: the count goes from odd to
       even, so no triad may remain. One member t of T moves to the lone
       partner p: H becomes (p, t), T becomes a pair. One student moves, one
       other havruta is touched. (p joining T would make a group of four.)
       t is the member whose two new partnerships have the lowest
       :func:`repeat_cost` over ``history``; ties go to the lowest id.
    3. H is a pair and there is no triad: the count becomes odd, so exactly one
       triad must appear. The lone partner p joins an existing pair P, which
       becomes the triad; H disappears. One student moves, one other havruta
       is touched. P is the pair whose members p has the lowest repeat cost
       with; ties go to the earliest pair in ``groups``.
    4. H is the only havruta: a pair leaves the partner alone as ``(p,)`` (the
       class-of-one case of the pairing functions); a group of one disappears.

    Changed havrutot have their members sorted; the list keeps the input order
    (a havruta that disappears is removed), so the teacher's screen does not
    jump around.

    Raises:
        PairingError: ``absent`` is in no havruta, a student appears twice, or
            the input breaks the size rules (sizes 2 with at most one triad, or
            a single havruta of one).
    """
    original = [tuple(g) for g in groups]
    seen: set[int] = set()
    for group in original:
        for s in group:
            if s in seen:
                raise PairingError(f"student {s} appears in more than one havruta")
            seen.add(s)
    sizes = [len(g) for g in original]
    valid = (len(original) == 1 and 1 <= sizes[0] <= 3) or (
        all(size in (2, 3) for size in sizes) and sizes.count(3) <= 1
    )
    if not valid:
        raise PairingError(f"havrutot must be pairs with at most one triad, got sizes {sizes}")
    home = next((i for i, g in enumerate(original) if absent in g), None)
    if home is None:
        raise PairingError(f"student {absent} is not in any havruta")

    result: list[Havruta] = list(original)
    remaining = tuple(sorted(s for s in original[home] if s != absent))
    if len(original[home]) == 3:
        result[home] = remaining
        return result
    if not remaining:
        del result[home]
        return result
    (partner,) = remaining
    others = [i for i in range(len(original)) if i != home]
    if not others:
        result[home] = (partner,)
        return result

    triad = next((i for i in others if len(original[i]) == 3), None)
    if triad is not None:
        members = sorted(original[triad])

        def split_cost(t: int) -> tuple[float, int]:
            leftover = tuple(s for s in members if s != t)
            return (repeat_cost([(partner, t), leftover], history), t)

        mover = min(members, key=split_cost)
        result[home] = tuple(sorted((partner, mover)))
        result[triad] = tuple(s for s in members if s != mover)
        return result

    def join_cost(i: int) -> tuple[float, int]:
        return (repeat_cost([(partner, s) for s in original[i]], history), i)

    target = min(others, key=join_cost)
    result[target] = tuple(sorted((*original[target], partner)))
    del result[home]
    return result
