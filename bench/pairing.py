"""Benchmark: how often each pairing method repeats partners, and how long it takes.

Run from the project root:  python bench/pairing.py

Simulates classes of 10, 24 and 36 students over 20 sessions. Each session about
10% of the roster is absent (the same absences for both methods), and each
method pairs the students present using *its own* earlier pairings as history,
just as the product does. Repeats are counted with ``count_repeats``: partner
pairs that have learned together in any earlier session. "cost/session" is the
recency-weighted ``repeat_cost`` (last session 1, the one before 0.5, ...), which
is what ``pair_rotate`` minimises: in a class of 10 there are only 45 possible
partner pairs, so from about the 10th session on every pair is a repeat and only
the weighted cost can still tell the methods apart. Everything is seeded, so the
output is reproducible; only the timings vary with the machine.

No Django needed: the module under test is plain Python.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classrooms.pairing import (
    Havruta,
    PairingRequest,
    count_repeats,
    pair_random,
    pair_rotate,
    repeat_cost,
)

CLASS_SIZES = (10, 24, 36)
SESSIONS = 20
CLASSES_PER_SIZE = 5  # independent simulated classes per size, to average out luck
ABSENCE_RATE = 0.10
METHODS: dict[str, Callable[[PairingRequest], list[Havruta]]] = {"random": pair_random, "rotate": pair_rotate}


def attendance(size: int, class_seed: int) -> list[tuple[int, ...]]:
    """Who is present in each session; shared by both methods so they face the same days."""
    rng = random.Random(class_seed)
    return [tuple(s for s in range(size) if rng.random() >= ABSENCE_RATE) for _ in range(SESSIONS)]


def simulate(
    method: Callable[[PairingRequest], list[Havruta]], days: list[tuple[int, ...]], class_seed: int
) -> tuple[list[int], list[float], list[float]]:
    """Run one class through all sessions; return repeats, weighted cost and milliseconds per session."""
    history: list[tuple[Havruta, ...]] = []
    repeats: list[int] = []
    costs: list[float] = []
    millis: list[float] = []
    for session, present in enumerate(days):
        request = PairingRequest(present=present, history=tuple(history), seed=class_seed * 1000 + session)
        started = time.perf_counter()
        groups = method(request)
        millis.append((time.perf_counter() - started) * 1000)
        repeats.append(count_repeats(groups, history))
        costs.append(repeat_cost(groups, history))
        history.append(tuple(groups))
    return repeats, costs, millis


def main() -> None:
    print((__doc__ or "").split("\n\n")[0])
    print(
        f"{SESSIONS} sessions per class, {CLASSES_PER_SIZE} simulated classes per size, "
        f"~{ABSENCE_RATE:.0%} absent per session; repeats = partner pairs who met in any earlier session.\n"
    )
    header = (
        f"{'size':>4}  {'method':<7} {'avg rep/session':>15} {'total rep/class':>15} "
        f"{'worst session':>13} {'cost/session':>12} {'median ms':>9} {'max ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for size in CLASS_SIZES:
        seeds = [size * 100 + k for k in range(CLASSES_PER_SIZE)]
        for name, method in METHODS.items():
            per_session: list[int] = []
            totals: list[int] = []
            costs: list[float] = []
            millis: list[float] = []
            for seed in seeds:
                repeats, weighted, times = simulate(method, attendance(size, seed), seed)
                per_session.extend(repeats)
                costs.extend(weighted)
                totals.append(sum(repeats))
                millis.extend(times)
            print(
                f"{size:>4}  {name:<7} {statistics.mean(per_session):>15.2f} {statistics.mean(totals):>15.1f} "
                f"{max(per_session):>13} {statistics.mean(costs):>12.3f} "
                f"{statistics.median(millis):>9.2f} {max(millis):>7.2f}"
            )


if __name__ == "__main__":
    main()
