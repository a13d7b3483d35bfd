"""Accessibility the server decides alone: every growth chart comes with a table of the same numbers.

A chart is a picture: a screen reader user, or anyone who prefers numbers, reads the table under
it instead (reflections/templates/reflections/student_growth.html and class_growth.html), so the
table must say exactly what the chart draws.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
import tinyhtml5

from tests.conftest import World, client_for
from tests.reflections_fixtures import ended_sessions, ensure_library, reflect

SVG = "{http://www.w3.org/2000/svg}"


def _tree(response: Any) -> Any:
    assert response.status_code == 200
    return tinyhtml5.parse(response.content.decode(), namespace_html_elements=False)


def _text(node: Any) -> str:
    return " ".join("".join(node.itertext()).split())


def _classes(node: Any) -> list[str]:
    return (node.get("class") or "").split()


def _charts(node: Any) -> list[Any]:
    return [el for el in node.iter() if isinstance(el.tag, str) and el.tag.endswith("svg") and el.get("role") == "img"]


@pytest.mark.django_db
def test_it_puts_a_table_of_the_same_ratings_under_every_growth_chart(world: World) -> None:
    ensure_library()
    sessions = ended_sessions(world.classroom, world.teacher, [[world.student, world.partner]], 3)
    for day, session in enumerate(sessions):
        reflect(session, world.student, ratings={"listening": 1 + day, "focusing": 3 - day})
        if day != 1:
            reflect(session, world.partner, ratings={"listening": 2, "wondering": 1})
    teacher = client_for(world, "teacher")

    # One line chart per practice, each in a card with its own table.
    tree = _tree(teacher.get(f"/reflections/students/{world.student.pk}/growth/"))
    cards = [li for li in tree.iter("li") if "chart-card" in _classes(li)]
    drawn = 0
    for card in cards:
        charts = _charts(card)
        if not charts:
            continue  # "No ratings for this practice yet."
        (chart,) = charts
        points = [c.get("data-value") for c in chart.iter() if str(c.tag).endswith("circle") and "point" in _classes(c)]
        table = card.find(".//details/table")
        assert table is not None, _text(card)
        ratings = [re.match(r"\d+", _text(td)) for td in table.iter("td")]
        assert [m.group() for m in ratings if m] == points, _text(card)
        drawn += 1
    assert drawn == 2  # listening and focusing were rated

    # The class heatmap, and a table with every average it colours.
    tree = _tree(teacher.get(f"/reflections/classes/{world.classroom.pk}/growth/"))
    (heatmap,) = _charts(tree)
    cells = Counter(r.get("data-value") for r in heatmap.iter(f"{SVG}rect") if r.get("data-value"))
    section = next(s for s in tree.iter("section") if s.find(".//details/div/table") is not None)
    table = section.find(".//details/div/table")
    averages = Counter(m.group() for td in table.iter("td") if (m := re.match(r"\d+\.\d", _text(td))))
    assert cells and averages == cells
