"""The SVG charts hold the data they claim to: each point's height reads back as the rating it shows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from reflections.charts import LINE, contrast_ratio, heatmap_svg, line_chart_svg, value_for_y, x_for
from tests.conftest import client_for
from tests.reflections_fixtures import assign_lesson, ended_sessions, reflect

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - the SVG our own code wrote, parsed in a test


def _points(svg: str) -> tuple[ET.Element, list[ET.Element]]:
    root = _parse(svg)
    return root, root.findall(f"{SVG}circle")


def _read_back(svg: str) -> list[tuple[str, float, float]]:
    """(label, x, rating) for every point, the rating computed from the point's y alone."""
    root, circles = _points(svg)
    low, high = int(root.get("data-y-min")), int(root.get("data-y-max"))  # type: ignore[arg-type]
    return [(c.get("data-label"), float(c.get("cx")), value_for_y(float(c.get("cy")), low, high)) for c in circles]  # type: ignore[arg-type, misc]


def test_it_places_each_rating_at_the_height_of_its_value() -> None:
    svg = line_chart_svg(
        chart_id="chart-listening",
        title="Listening over time",
        description="Four ratings",
        labels=["1 Mar", "8 Mar", "15 Mar", "22 Mar"],
        values=[1, 3, 2, 4],
        y_min=1,
        y_max=4,
        y_labels={1: "Rarely", 4: "Almost always"},
    )
    points = _read_back(svg)
    assert [label for label, _x, _v in points] == ["1 Mar", "8 Mar", "15 Mar", "22 Mar"]
    assert [round(v, 6) for _l, _x, v in points] == [1, 3, 2, 4]
    xs = [x for _l, x, _v in points]
    assert xs == sorted(xs) and xs[0] == LINE.pad_start and xs[-1] == LINE.width - LINE.pad_end
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Listening over time"  # type: ignore[union-attr]
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None and len(polyline.get("points", "").split()) == 4


def test_it_breaks_the_line_where_a_session_has_no_rating() -> None:
    svg = line_chart_svg(
        chart_id="c", title="t", description="d", labels=["a", "b", "c", "d", "e"], values=[2, None, 3, 3, None]
    )
    root = _parse(svg)
    assert [c.get("data-value") for c in root.findall(f"{SVG}circle")] == ["2", "3", "3"]
    # "a" stands alone (no line), "c"-"d" are joined.
    assert [len(p.get("points", "").split()) for p in root.findall(f"{SVG}polyline")] == [2]
    assert [round(float(c.get("cx", 0)), 2) for c in root.findall(f"{SVG}circle")] == [
        round(x_for(i, 5), 2) for i in (0, 2, 3)
    ]


def test_it_escapes_every_label_it_writes() -> None:
    svg = line_chart_svg(
        chart_id="c", title="<script>alert(1)</script>", description="&", labels=['"><b>'], values=[1], y_max=3
    )
    root = _parse(svg)  # still well-formed XML
    assert root.find(f"{SVG}title").text == "<script>alert(1)</script>"  # type: ignore[union-attr]
    assert "<script>" not in svg


@given(st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=3)), min_size=1, max_size=60))
def test_it_reads_back_any_series_of_ratings(values: list[int | None]) -> None:
    labels = [f"s{i}" for i in range(len(values))]
    svg = line_chart_svg(chart_id="c", title="t", description="d", labels=labels, values=values, y_max=3)
    expected = [(label, value) for label, value in zip(labels, values, strict=True) if value is not None]
    assert [(label, round(v)) for label, _x, v in _read_back(svg)] == expected
    assert all(abs(v - round(v)) < 0.01 for _l, _x, v in _read_back(svg))


def test_it_colours_heatmap_cells_by_their_average() -> None:
    svg = heatmap_svg(
        chart_id="h",
        title="t",
        description="d",
        row_labels=["Listening", "Focusing"],
        column_labels=["1 Mar", "8 Mar"],
        cells=[[1.5, 3.0], [None, 2.25]],
        low=1,
        high=3,
    )
    root = _parse(svg)
    cells = {(r.get("data-row"), r.get("data-column")): r for r in root.findall(f"{SVG}rect")}
    assert cells[("Listening", "1 Mar")].get("data-value") == "1.5"
    assert cells[("Listening", "8 Mar")].get("data-value") == "3.0"
    assert cells[("Focusing", "1 Mar")].get("data-value") == ""
    assert "empty" in cells[("Focusing", "1 Mar")].get("class", "")
    assert cells[("Listening", "8 Mar")].get("fill") == "#1d4e5f"  # the top of the scale is the darkest


@given(st.integers(min_value=0, max_value=300))
def test_it_writes_every_heatmap_number_readable_on_its_cell(hundredths: int) -> None:
    value = 1 + hundredths / 100  # every average from 1.00 to 4.00
    svg = heatmap_svg(
        chart_id="h", title="t", description="d", row_labels=["Listening"], column_labels=["1 Mar"], cells=[[value]]
    )
    root = _parse(svg)
    fill = root.find(f"{SVG}rect").get("fill", "")  # type: ignore[union-attr]
    (number,) = (text for text in root.iter(f"{SVG}text") if "cell-value" in text.get("class", ""))
    # static/css/reflections.css paints "light" numbers white and "dark" ones black.
    ink = "#ffffff" if "light" in number.get("class", "") else "#000000"
    assert contrast_ratio(fill, ink) >= 4.5, (value, fill, ink)  # WCAG AA for 12 px bold text


@pytest.mark.django_db
def test_it_draws_the_students_own_ratings_on_their_growth_page(world) -> None:  # type: ignore[no-untyped-def]
    sessions = ended_sessions(world.classroom, world.teacher, [[world.student, world.partner]], 4)
    listening = [1, 3, None, 2]
    for session, value in zip(sessions, listening, strict=True):
        assign_lesson(session, world.teacher, warm_up=False)
        reflect(session, world.student, ratings={"listening": value} if value else {"focusing": 2})
    html = (
        client_for(world, "student")
        .get(reverse("reflections:student_growth", args=[world.student.pk]))
        .content.decode()
    )
    match = re.search(r'<svg [^>]*id="chart-rate_listening".*?</svg>', html, re.S)
    assert match, "the listening chart is on the page"
    points = _read_back(match.group(0))
    assert [round(v) for _l, _x, v in points] == [1, 3, 2]
    assert len(points) == 3  # the session without a listening rating has no point
    # The same numbers are in the data table for screen readers.
    assert "Table of ratings: Listening" in html
    assert html.count("1 / 3") >= 1 and html.count("3 / 3") >= 1 and html.count("2 / 3") >= 2
