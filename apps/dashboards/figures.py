"""One small builder per chart: plain data in, a plotly figure out (rendered by plotly.js).

A figure is the plain dict plotly.js draws ({"data": [trace, ...], "layout": {...}}), built
without plotly's graph objects: they validate every property as it is set, which cost most of
a page's time (tests/dashboards/test_figures.py checks each figure against plotly's schema)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple
from unicodedata import east_asian_width

import plotly.graph_objects as go
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from plotly.colors import sample_colorscale

from apps.dashboards.selectors import Point, ProductRound, QuestionRow
from apps.rubrics.numbers import format_score

# The layout half of plotly's "plotly_white" template: the full one carries defaults for every
# trace type and costs more to copy into each figure than the figure itself.
_AXIS = {
    "gridcolor": "#EBF0F8",
    "linecolor": "#EBF0F8",
    "zerolinecolor": "#EBF0F8",
    "zerolinewidth": 2,
    "ticks": "",
    "automargin": True,
    "title": {"standoff": 15},
}
TEMPLATE = {
    "layout": {
        "font": {"color": "#2a3f5f"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "autotypenumbers": "strict",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    }
}
PALETTE = ["#2457c5", "#d9822b", "#1f7a4d", "#b3261e", "#7b4fb3", "#0f8b8d", "#8a6d3b"]
TARGET_COLOUR = "#1f7a4d"
# Bands, worst to best: one sequential scale (light to dark), never the areas' colours.
BAND_SCALE = "Blues"
# The heatmap's red-yellow-green scale as plotly resolves the name (plotly.js lacks it).
HEATMAP_SCALE = [list(step) for step in go.Heatmap(colorscale="RdYlGn").colorscale]
SMALL_N = 5  # fewer products than this: a point means little, and the chart says so


class AreaTitle(NamedTuple):
    """An area as the charts label it: its key and its title in the active language."""

    key: str
    title: str


Figure = dict  # {"data": [trace, ...], "layout": {...}}, as plotly.js takes it


def _figure(*traces: dict) -> Figure:
    return {"data": list(traces), "layout": {}}


def _trace(kind: str, **properties) -> dict:
    """A trace of plotly's type `kind` ("scatter", "bar", "heatmap")."""
    return {"type": kind, **properties}


def _update(target: dict, changes: dict) -> dict:
    """Merge `changes` into `target` as plotly's update does: a dict into a dict, key by key
    (copied, never shared), any other value replacing."""
    for key, value in changes.items():
        if isinstance(value, dict):
            existing = target.get(key)
            if not isinstance(existing, dict):
                existing = target[key] = {}
            _update(existing, value)
        else:
            target[key] = value
    return target


def _axis(figure: Figure, name: str, **changes) -> None:
    """Update one axis of the layout ("xaxis", "yaxis2", ...)."""
    _update(figure["layout"].setdefault(name, {}), changes)


class Chart(NamedTuple):
    """A chart for the chart-cards template."""

    name: str  # the element ids: chart-<name> and the <script> holding the figure
    title: str
    figure: str  # the figure as JSON, safe inside a <script> element


def _number(value) -> float | None:
    return None if value is None else float(value)


@lru_cache(maxsize=4096, typed=True)
def _shown(value) -> str:
    """A score as a chart's hover shows it: the pages' format (two decimals), "–" for none.
    Cached: the heatmap's hundreds of cells share a few stored means."""
    return format_score(value) or "–"


def _hover(values, name: str) -> dict:
    """Hover text of a score trace in the pages' number format (plotly's own `%{y}` would
    print 2.3333333 or 2.5): the formatted scores ride along as customdata."""
    return {
        "customdata": [_shown(value) for value in values],
        "hovertemplate": "%{x}: %{customdata}<extra>" + name + "</extra>",
    }


def _label(point: Point) -> str:
    """The point's round on the x axis; an open round says so: its figures are provisional."""
    if point.provisional:
        return _("%(round)s (open)") % {"round": point.round}
    return point.round


def _rounds(points: Sequence[Point]) -> list[str]:
    return [_label(p) for p in points]


def _symbols(points: Sequence[Point]) -> list[str]:
    """Markers: hollow for an open round's provisional point."""
    return ["circle-open" if p.provisional else "circle" for p in points]


def _patterns(points: Sequence[Point]) -> dict:
    """Bars: hatched for an open round's provisional counts."""
    return {"shape": ["/" if p.provisional else "" for p in points]}


def _version_changes(points: Sequence[Point]) -> list[tuple[str, str]]:
    """(round, new version) where the rubric version changed from the previous round."""
    return [
        (_label(point), point.version)
        for previous, point in pairwise(points)
        if point.version != previous.version
    ]


def _mark_versions(figure: Figure, points: Sequence[Point], axis: str = "") -> None:
    """A dotted line and a label where the rubric version changed (axis: "" or "2")."""
    layout = figure["layout"]
    for round_key, version in _version_changes(points):
        layout.setdefault("shapes", []).append(
            dict(
                type="line",
                x0=round_key,
                x1=round_key,
                y0=0,
                y1=1,
                xref=f"x{axis}",
                yref=f"y{axis} domain",
                line={"dash": "dot", "color": "#888", "width": 1},
            )
        )
        # Inside the plot's top edge, right of its line: the panel titles sit above the
        # edge, and the n labels under the points.
        layout.setdefault("annotations", []).append(
            dict(
                x=round_key,
                y=1,
                xref=f"x{axis}",
                yref=f"y{axis} domain",
                showarrow=False,
                text=_("rubric %(version)s") % {"version": version},
                xanchor="left",
                yanchor="top",
                xshift=2,
                bgcolor="rgba(255,255,255,0.85)",
                font={"size": 11, "color": "#555"},
            )
        )


def cohort_title(cohort_from: str = "") -> str:
    """The cohort panel's title, naming its start round."""
    if not cohort_from:
        return _("Continuous cohort")
    return _("Continuous cohort since %(round)s") % {"round": cohort_from}


def _two_panels(cohort_from: str = "") -> Figure:
    """All products on the left, the continuous cohort on the right, on one y axis (plotly's
    make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, subplot_titles)."""
    figure = _figure()
    figure["layout"] = {
        "xaxis": {"anchor": "y", "domain": [0.0, 0.48]},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0]},
        "xaxis2": {"anchor": "y2", "domain": [0.52, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 1.0], "matches": "y", "showticklabels": False},
        "annotations": [
            _panel_title(_("All products"), 0.24),
            _panel_title(cohort_title(cohort_from), 0.76),
        ],
    }
    return figure


def _panel_title(text: str, x: float) -> dict:
    return {
        "font": {"size": 16},
        "showarrow": False,
        "text": text,
        "x": x,
        "xanchor": "center",
        "xref": "paper",
        "y": 1.0,
        "yanchor": "bottom",
        "yref": "paper",
    }


def _in_panel(figure: Figure, trace: dict, column: int) -> None:
    """Add the trace to the panel in `column` (1 or 2) of a _two_panels figure."""
    axis = "" if column == 1 else str(column)
    figure["data"].append({**trace, "xaxis": f"x{axis}", "yaxis": f"y{axis}"})


def target_is_exclusive(target: float, band_maxima: Sequence[float | None]) -> bool:
    """Whether meeting the target means scoring above it: bands include their upper bound
    (rules.band_of), so when the target is a band's upper bound, a score equal to it is in
    the band below the target, and the target's band starts above it."""
    return any(maximum is not None and float(maximum) == target for maximum in band_maxima)


def meets_target(score: float, target: float, band_maxima: Sequence[float | None]) -> bool:
    """Whether a score meets the target, as the bands classify it."""
    return score > target if target_is_exclusive(target, band_maxima) else score >= target


def target_label(target: float, band_maxima: Sequence[float | None]) -> str:
    """The target line's legend entry, worded as the bands classify a score equal to it."""
    shown = f"{target:g}"
    if target_is_exclusive(target, band_maxima):
        return _("Company target: above %(target)s") % {"target": shown}
    return _("Company target: %(target)s or more") % {"target": shown}


def overall_trend(
    all_points: Sequence[Point],
    cohort_points: Sequence[Point],
    target: float | None,
    band_maxima: Sequence[float | None] = (),
    cohort_from: str = "",
) -> Figure:
    """Overall score per round: median, inter-quartile band and mean, with n, for all products
    and for the continuous cohort (from `cohort_from`) side by side on one y axis, and the
    target line, named in the legend (an annotation would sit on the points' n labels)."""
    figure = _two_panels(cohort_from)
    for column, points in ((1, all_points), (2, cohort_points)):
        for trace in _overall_traces(points, legend=column == 1):
            _in_panel(figure, trace, column)
        _mark_versions(figure, points, "" if column == 1 else "2")
    if target is not None:
        line = {"color": TARGET_COLOUR, "dash": "dash", "width": 2}
        for axis in ("", "2"):  # plotly's add_hline(row="all", col="all")
            figure["layout"].setdefault("shapes", []).append(
                {
                    "line": dict(line),
                    "type": "line",
                    "x0": 0,
                    "x1": 1,
                    "xref": f"x{axis} domain",
                    "y0": target,
                    "y1": target,
                    "yref": f"y{axis}",
                }
            )
        _in_panel(
            figure,
            _trace(
                "scatter",
                x=[None],
                y=[None],
                mode="lines",
                line=line,
                name=target_label(target, band_maxima),
                hoverinfo="skip",
            ),
            1,
        )
    _axis(figure, "yaxis", title={"text": _("Overall score")}, rangemode="tozero")
    return _layout(figure, _("Overall score per round"))


def _overall_traces(points: Sequence[Point], *, legend: bool) -> list[dict]:
    """One panel's traces: the inter-quartile band (p25 filled up to p75), the median with n
    and the mean; legend: whether this panel's traces are in the legend."""
    rounds = _rounds(points)
    return [
        _trace(
            "scatter",
            x=rounds,
            y=[_number(p.p75) for p in points],
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
            name=_("75th percentile"),
        ),
        _trace(
            "scatter",
            x=rounds,
            y=[_number(p.p25) for p in points],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(36,87,197,0.15)",
            name=_("Inter-quartile range"),
            showlegend=legend,
            legendgroup="iqr",
            hoverinfo="skip",
        ),
        _trace(
            "scatter",
            x=rounds,
            y=[_number(p.median) for p in points],
            mode="lines+markers+text",
            name=_("Median"),
            line={"color": PALETTE[0], "width": 3},
            marker={"symbol": _symbols(points), "size": 9},
            text=[_n_label(p) for p in points],
            textposition="bottom center",
            cliponaxis=False,  # the last round's label overhangs the plot area's edge
            showlegend=legend,
            legendgroup="median",
            customdata=[
                [None if p.hidden else p.n, _shown(p.p25), _shown(p.p75), _shown(p.median)]
                for p in points
            ],
            hovertemplate=_(
                "median %{customdata[3]}, IQR %{customdata[1]}–%{customdata[2]}, n=%{customdata[0]}"
            )
            + "<extra></extra>",
        ),
        _trace(
            "scatter",
            x=rounds,
            y=[_number(p.mean) for p in points],
            mode="lines",
            name=_("Mean"),
            line={"color": PALETTE[1], "dash": "dash"},
            showlegend=legend,
            legendgroup="mean",
            **_hover([p.mean for p in points], _("Mean")),
        ),
    ]


def _n_label(point: Point) -> str:
    """A point's n, marked ⚠ when small; "hidden" for a point hidden from this user."""
    if point.hidden:
        return _("hidden")
    small = " ⚠" if point.n < SMALL_N else ""
    if point.provisional:
        # On two lines: as narrow as the other labels, so it sits on neither the label of the
        # point before it nor the next panel.
        return (_("open, n=%(n)s so far") % {"n": point.n}).replace(" ", "<br>", 1) + small
    return f"n={point.n}" + small


def area_trends(
    all_points: Sequence[Point],
    cohort_points: Sequence[Point],
    areas: Sequence[AreaTitle],
    cohort_from: str = "",
) -> Figure:
    """Mean score per area and round, a line per area; all products and the cohort."""
    figure = _two_panels(cohort_from)
    for column, points in ((1, all_points), (2, cohort_points)):
        for index, (key, title) in enumerate(areas):
            _in_panel(
                figure,
                _trace(
                    "scatter",
                    x=_rounds(points),
                    y=[_number(p.area_means.get(key)) for p in points],
                    mode="lines+markers",
                    name=title,
                    legendgroup=key,
                    line={"color": PALETTE[index % len(PALETTE)]},
                    marker={"symbol": _symbols(points)},
                    showlegend=column == 1,
                    **_hover([p.area_means.get(key) for p in points], title),
                ),
                column,
            )
        _mark_versions(figure, points, "" if column == 1 else "2")
    _axis(figure, "yaxis", title={"text": _("Mean area score")}, rangemode="tozero")
    return _layout(figure, _("Areas per round"))


def binding_areas(points: Sequence[Point], areas: Sequence[AreaTitle]) -> Figure:
    """Share of products whose weakest (binding) area is each area, per round."""
    figure = _figure()
    for index, (key, title) in enumerate(areas):
        figure["data"].append(
            _trace(
                "bar",
                x=_rounds(points),
                y=[_share(p, key) for p in points],
                name=title,
                marker={"color": PALETTE[index % len(PALETTE)], "pattern": _patterns(points)},
                customdata=[None if p.hidden else p.binding.get(key, 0) for p in points],
                hovertemplate="%{y:.0%} (%{customdata})<extra>" + title + "</extra>",
            )
        )
    _update(figure["layout"], {"barmode": "stack", "yaxis": {"tickformat": ".0%", "range": [0, 1]}})
    _mark_versions(figure, points)
    return _layout(figure, _("Which area holds products back (binding area)"))


def _share(point: Point, area: str) -> float | None:
    """The share of the point's products bound by the area (none for a hidden point)."""
    if point.hidden:
        return None
    return point.binding.get(area, 0) / point.n if point.n else 0


def band_colours(count: int) -> list[str]:
    """`count` colours of one sequential scale, worst band lightest, best darkest."""
    if count <= 1:
        return sample_colorscale(BAND_SCALE, [0.75])[:count]
    return sample_colorscale(BAND_SCALE, [0.3 + 0.7 * i / (count - 1) for i in range(count)])


def band_distribution(points: Sequence[Point]) -> Figure:
    """Products per interpretation band and round, stacked worst band at the bottom, in one
    sequential colour scale; bands named in the legend."""
    language = (get_language() or "en").split("-")[0]
    figure = _figure()
    orders: dict[str, int] = {}
    for point in points:
        for band in point.bands:
            label = band.get(f"label_{language}") or band["label_en"]
            orders.setdefault(label, band["order"])
    labels = sorted(orders, key=lambda label: orders[label])
    for label, colour in zip(labels, band_colours(len(labels)), strict=True):
        counts = []
        for point in points:
            found = [
                b["count"]
                for b in point.bands
                if (b.get(f"label_{language}") or b["label_en"]) == label
            ]
            counts.append(None if point.hidden else sum(found))
        figure["data"].append(
            _trace(
                "bar",
                x=_rounds(points),
                y=counts,
                name=label,
                marker={"color": colour, "pattern": _patterns(points)},
            )
        )
    _update(figure["layout"], {"barmode": "stack", "legend": {"traceorder": "reversed"}})
    _axis(figure, "yaxis", title={"text": _("Products")})
    _mark_versions(figure, points)
    return _layout(figure, _("Bands per round"))


def _not_applicable_counts(point: Point, area: str) -> list[int | None]:
    """[N/A answers, all answers] of an area at a point (none for a hidden point)."""
    counts = point.not_applicable_counts.get(area)
    if point.hidden or not counts:
        return [None, None]
    return [counts["na"], counts["answered"] + counts["na"]]


def not_applicable_shares(points: Sequence[Point], areas: Sequence[AreaTitle]) -> Figure:
    """Share of N/A answers per area and round (all products), a line per area, the counts
    on hover."""
    figure = _figure()
    for index, (key, title) in enumerate(areas):
        figure["data"].append(
            _trace(
                "scatter",
                x=_rounds(points),
                y=[None if p.hidden else _number(p.not_applicable.get(key)) for p in points],
                mode="lines+markers",
                name=title,
                line={"color": PALETTE[index % len(PALETTE)]},
                marker={"symbol": _symbols(points)},
                customdata=[_not_applicable_counts(p, key) for p in points],
                hovertemplate="%{y:.1%} "
                + _("N/A")
                + " (%{customdata[0]} / %{customdata[1]})<extra>"
                + title
                + "</extra>",
            )
        )
    _axis(
        figure,
        "yaxis",
        title={"text": _("Share of N/A answers")},
        tickformat=".0%",
        rangemode="tozero",
    )
    _mark_versions(figure, points)
    _layout(figure, _("N/A answers per area"))
    _update(figure["layout"], {"margin": {"l": 64}})  # room for two-digit shares ("10%")
    return figure


def question_heatmap(
    all_points: Sequence[Point],
    cohort_points: Sequence[Point],
    questions: Sequence[QuestionRow],
    top: float = 1.0,
) -> Figure:
    """Mean answer per question (a row each, grouped by area) and round (a column each), so
    the weakest questions stand out; buttons switch between all products and the cohort."""
    keys = [question.key for question in questions]
    z_all, custom_all = _heatmap_cells(all_points, questions)
    z_cohort, custom_cohort = _heatmap_cells(_aligned(all_points, cohort_points), questions)
    figure = _figure(
        _trace(
            "heatmap",
            z=z_all,
            x=_rounds(all_points),
            y=keys,
            customdata=custom_all,
            zmin=0,
            zmax=top,
            colorscale=HEATMAP_SCALE,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": _("Mean answer")}},
            hovertemplate=(
                "%{customdata[0]}<br><b>%{customdata[1]}</b><br>%{x}: %{customdata[4]}"
                " (n=%{customdata[2]}, " + _("N/A") + " %{customdata[3]})<extra></extra>"
            ),
        )
    )
    _axis(
        figure,
        "yaxis",
        tickvals=keys,
        # The number and the start of the wording; the hover shows the whole question.
        ticktext=[_shorten(_numbered(question)) for question in questions],
        autorange="reversed",
        type="category",
    )
    _separate_areas(figure, questions)
    buttons = [
        {"label": _("All products"), "method": "restyle", "args": [{"z": [z_all]}]},
        {"label": _("Continuous cohort"), "method": "restyle", "args": [{"z": [z_cohort]}]},
    ]
    buttons[0]["args"][0]["customdata"] = [custom_all]
    buttons[1]["args"][0]["customdata"] = [custom_cohort]
    figure["layout"]["updatemenus"] = [
        {"type": "buttons", "direction": "right", "x": 1, "y": 1.08, "buttons": buttons}
    ]
    _layout(figure, _("Mean answer per question"))
    _update(
        figure["layout"],
        {"height": max(380, 120 + 20 * len(questions)), "margin": {"l": 320, "b": 40}},
    )
    return figure


def _aligned(all_points: Sequence[Point], cohort_points: Sequence[Point]) -> list[Point]:
    """The cohort's points in the heatmap's columns (every round): a cohort starting later
    has no cell before its start round."""
    found = {point.round: point for point in cohort_points}
    return [
        found.get(point.round)
        or Point(point.round, point.version, 0, None, None, None, None, hidden=point.hidden)
        for point in all_points
    ]


def _heatmap_cells(points: Sequence[Point], questions: Sequence[QuestionRow]) -> tuple[list, list]:
    """The heatmap's z (mean answer, a row per question) and its hover data (area, question,
    answered and N/A counts) for one population's points."""
    z, custom = [], []
    for question in questions:
        found = [p.questions.get(question.key) for p in points]
        z.append([_number(f["mean"]) if f else None for f in found])
        custom.append(
            [
                [
                    question.area,
                    _numbered(question),
                    f["answered"] if f else 0,
                    f["na"] if f else 0,
                    _shown(f["mean"] if f else None),
                ]
                for f in found
            ]
        )
    return z, custom


def _separate_areas(figure: Figure, questions: Sequence[QuestionRow]) -> None:
    """A line between the heatmap's areas (its rows are grouped by area)."""
    for index, (above, below) in enumerate(pairwise(questions), start=1):
        if above.area != below.area:
            figure["layout"].setdefault("shapes", []).append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": index - 0.5,
                    "y1": index - 0.5,
                    "line": {"color": "#333", "width": 2},
                }
            )


def _numbered(question: QuestionRow) -> str:
    """DATA-3 Is there a schema? (a question no longer asked has no number)."""
    return f"{question.number} {question.label}" if question.number else question.label


def _shorten(text: str, limit: int = 48) -> str:
    """The text cut to `limit` columns, a wide (Japanese) character counting as two."""
    if _width(text) <= limit:
        return text
    kept, width = [], 1  # the ellipsis
    for character in text:
        width += _width(character)
        if width > limit:
            break
        kept.append(character)
    return "".join(kept).rstrip() + "…"


def _width(text: str) -> int:
    return sum(2 if east_asian_width(character) in "WF" else 1 for character in text)


def _layout(figure: Figure, title: str) -> Figure:
    layout = figure["layout"]
    layout.setdefault("xaxis", {})
    for name in [name for name in layout if name.startswith("xaxis")]:
        layout[name]["type"] = "category"  # round keys such as 2021-10 are not dates
    _update(
        layout,
        {
            "title": {"text": title, "x": 0},
            "template": TEMPLATE,
            # Where plotly's automargin settles with a one-row legend below: starting there,
            # it draws each chart once instead of twice (a first draw, then a redraw with the
            # margins it measured). In a fresh browser the first chart's drawing, once
            # plotly.js had loaded, took 151 instead of 214 ms. A longer legend or wider
            # labels still grow the margins (and cost the redraw).
            "margin": {"l": 60, "r": 32, "t": 60, "b": 80},
            "legend": {"orientation": "h", "y": -0.15},
            "height": 380,
            "font": {"family": "system-ui, 'Hiragino Sans', 'Noto Sans JP', sans-serif"},
        },
    )
    return figure


def product_history(history: Sequence[ProductRound], product_name: str) -> Figure:
    """The product's overall score per round against the organisation's median."""
    rounds = [h.round for h in history]
    figure = _figure(
        _trace(
            "scatter",
            x=rounds,
            y=[_number(h.overall) for h in history],
            mode="lines+markers",
            name=product_name,
            line={"color": PALETTE[0], "width": 3},
            **_hover([h.overall for h in history], product_name),
        ),
        _trace(
            "scatter",
            x=rounds,
            y=[_number(h.org_median) for h in history],
            mode="lines",
            name=_("Organisation median"),
            line={"color": "#888", "dash": "dash"},
            **_hover([h.org_median for h in history], _("Organisation median")),
        ),
    )
    _axis(figure, "yaxis", title={"text": _("Overall score")}, rangemode="tozero")
    return _layout(figure, _("Overall score per round"))


def area_profile(latest: ProductRound, areas: Sequence[AreaTitle]) -> Figure:
    """The latest round's area scores beside the organisation's area means."""
    titles = [area.title for area in areas]
    figure = _figure(
        _trace(
            "bar",
            x=titles,
            y=[_number(latest.areas.get(area.key)) for area in areas],
            name=_("This product"),
            marker={"color": PALETTE[0]},
            **_hover([latest.areas.get(area.key) for area in areas], _("This product")),
        ),
        _trace(
            "bar",
            x=titles,
            y=[_number(latest.org_area_means.get(area.key)) for area in areas],
            name=_("Organisation mean"),
            marker={"color": "#bbb"},
            **_hover(
                [latest.org_area_means.get(area.key) for area in areas], _("Organisation mean")
            ),
        ),
    )
    figure["layout"]["barmode"] = "group"
    return _layout(figure, _("Areas in %(round)s") % {"round": latest.round})


def embed(built: dict[str, Figure]) -> list[Chart]:
    """The figures (by name, in order) as charts for the chart-cards template."""
    return [
        Chart(name, figure["layout"]["title"]["text"], script_safe(to_json(figure)))
        for name, figure in built.items()
    ]


def to_json(figure: Figure) -> str:
    """The figure as compact JSON, as plotly's to_json writes it."""
    return json.dumps(figure, separators=(",", ":"))


def script_safe(text: str) -> str:
    """As Django's json_script: JSON stays valid and cannot close the <script> element
    (str.replace: str.translate looks up every character in Python, a tenth of a cold page)."""
    return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
