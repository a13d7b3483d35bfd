"""Small server-rendered SVG charts: a line chart per practice and a class heatmap.

Plain Python with no Django import: callers pass translated titles and labels, and every text
written into the SVG is escaped here, so the result can be placed in a page as it is. Charts
carry ``role="img"`` with a title and a description; pages put a data table next to each one
for screen readers and for anyone who prefers numbers.

The geometry is public (``LineGeometry``, ``y_for``, ``value_for_y``) so tests can read a
point's coordinates back into the rating it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class LineGeometry:
    width: int = 360
    height: int = 150
    pad_start: int = 34
    pad_end: int = 14
    pad_top: int = 12
    pad_bottom: int = 30

    @property
    def plot_width(self) -> int:
        return self.width - self.pad_start - self.pad_end

    @property
    def plot_height(self) -> int:
        return self.height - self.pad_top - self.pad_bottom

    @property
    def baseline(self) -> int:
        return self.height - self.pad_bottom


LINE = LineGeometry()


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def x_for(index: int, count: int, geometry: LineGeometry = LINE) -> float:
    """The x of the ``index``-th of ``count`` sessions: spread evenly, one point sits in the middle."""
    if count <= 1:
        return geometry.pad_start + geometry.plot_width / 2
    return geometry.pad_start + geometry.plot_width * index / (count - 1)


def y_for(value: float, y_min: int, y_max: int, geometry: LineGeometry = LINE) -> float:
    span = max(y_max - y_min, 1)
    return geometry.baseline - geometry.plot_height * (value - y_min) / span


def value_for_y(y: float, y_min: int, y_max: int, geometry: LineGeometry = LINE) -> float:
    """The inverse of ``y_for``: the rating a point at height ``y`` stands for."""
    span = max(y_max - y_min, 1)
    return y_min + (geometry.baseline - y) * span / geometry.plot_height


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def line_chart_svg(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[int | None],
    y_min: int = 1,
    y_max: int = 4,
    y_labels: Mapping[int, str] | None = None,
    geometry: LineGeometry = LINE,
) -> str:
    """A line chart of ratings over sessions; ``None`` (no rating that session) breaks the line.

    Each rating is a ``<circle class="point">`` with ``data-label`` and ``data-value`` and a
    tooltip title; gridlines mark every point of the scale.
    """
    g = geometry
    count = len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="line-chart" id="{_attr(chart_id)}" '
        f'viewBox="0 0 {g.width} {g.height}" width="{g.width}" height="{g.height}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" '
        f'data-y-min="{y_min}" data-y-max="{y_max}">',
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)}</desc>',
        '<g class="grid" aria-hidden="true">',
    ]
    for level in range(y_min, y_max + 1):
        y = _num(y_for(level, y_min, y_max, g))
        parts.append(f'<line x1="{g.pad_start}" x2="{g.width - g.pad_end}" y1="{y}" y2="{y}"/>')
        name = (y_labels or {}).get(level)
        tooltip = f"<title>{escape(name)}</title>" if name else ""
        parts.append(
            f'<text x="{g.pad_start - 8}" y="{y}" class="y-label" text-anchor="end" '
            f'dominant-baseline="middle">{level}{tooltip}</text>'
        )
    parts.append("</g>")
    # One polyline per unbroken run of ratings.
    run: list[str] = []
    runs: list[list[str]] = []
    for index, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{_num(x_for(index, count, g))},{_num(y_for(value, y_min, y_max, g))}")
    if run:
        runs.append(run)
    for points in runs:
        if len(points) > 1:
            parts.append(f'<polyline class="series" aria-hidden="true" points="{" ".join(points)}"/>')
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            continue
        cx = _num(x_for(index, count, g))
        cy = _num(y_for(value, y_min, y_max, g))
        name = (y_labels or {}).get(value, "")
        tip = f"{label}: {value}" + (f" ({name})" if name else "")
        parts.append(
            f'<circle class="point" cx="{cx}" cy="{cy}" r="4.5" data-label="{_attr(label)}" '
            f'data-value="{value}"><title>{escape(tip)}</title></circle>'
        )
    # Session labels under the axis: all of them when they fit, else the first and the last.
    shown = range(count) if count <= 6 else (0, count - 1)
    for index in shown:
        anchor = "middle" if count <= 6 else ("start" if index == 0 else "end")
        parts.append(
            f'<text x="{_num(x_for(index, count, g))}" y="{g.height - 10}" class="x-label" '
            f'text-anchor="{anchor}" aria-hidden="true">{escape(labels[index])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class HeatGeometry:
    label_width: int = 170
    cell: int = 48
    header: int = 46
    gap: int = 2


HEAT = HeatGeometry()

# From pale to the brand colour; the number in a cell is white or black, whichever contrasts more.
_LIGHT = (227, 238, 241)
_DARK = (29, 78, 95)


def heat_colour(value: float, low: float, high: float) -> str:
    share = 0.0 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    red, green, blue = (round(a + (b - a) * share) for a, b in zip(_LIGHT, _DARK, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def heat_ink(fill: str) -> str:
    """The ink of a cell's number, "light" (white) or "dark" (black): whichever contrasts more.

    Switching at the middle of the scale is not enough: around it a mid-teal has under 4.5:1 with
    both white and the page's dark ink. Pure black or white always reaches 4.5:1 on this ramp.
    """
    return "light" if contrast_ratio(fill, "#ffffff") >= contrast_ratio(fill, "#000000") else "dark"


def heatmap_svg(
    *,
    chart_id: str,
    title: str,
    description: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[float | None]],
    low: float = 1,
    high: float = 4,
    empty_label: str = "",
    geometry: HeatGeometry = HEAT,
) -> str:
    """Average ratings, one row per practice and one column per session; empty cells are grey."""
    g = geometry
    width = g.label_width + len(column_labels) * (g.cell + g.gap) + g.gap
    height = g.header + len(row_labels) * (g.cell + g.gap) + g.gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" id="{_attr(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc">',
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)}</desc>',
    ]
    for column, label in enumerate(column_labels):
        x = g.label_width + column * (g.cell + g.gap) + g.gap + g.cell / 2
        parts.append(
            f'<text x="{_num(x)}" y="{g.header - 10}" class="column-label" text-anchor="middle">{escape(label)}</text>'
        )
    for row, label in enumerate(row_labels):
        y = g.header + row * (g.cell + g.gap) + g.gap
        parts.append(
            f'<text x="{g.label_width - 10}" y="{_num(y + g.cell / 2)}" class="row-label" '
            f'text-anchor="end" dominant-baseline="middle">{escape(label)}</text>'
        )
        for column, value in enumerate(cells[row]):
            x = g.label_width + column * (g.cell + g.gap) + g.gap
            if value is None:
                parts.append(
                    f'<rect class="cell empty" x="{x}" y="{y}" width="{g.cell}" height="{g.cell}" rx="4" '
                    f'data-row="{_attr(label)}" data-column="{_attr(column_labels[column])}" data-value="">'
                    f"<title>{escape(f'{label}, {column_labels[column]}: {empty_label}')}</title></rect>"
                )
                continue
            fill = heat_colour(value, low, high)
            ink = heat_ink(fill)
            shown = f"{value:.1f}"
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{g.cell}" height="{g.cell}" rx="4" '
                f'fill="{fill}" data-row="{_attr(label)}" '
                f'data-column="{_attr(column_labels[column])}" data-value="{shown}">'
                f"<title>{escape(f'{label}, {column_labels[column]}: {shown}')}</title></rect>"
                f'<text class="cell-value {ink}" x="{_num(x + g.cell / 2)}" y="{_num(y + g.cell / 2)}" '
                f'text-anchor="middle" aria-hidden="true">{shown}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
