"""Each figure builder: known aggregates in, traces with the right values out."""

from decimal import Decimal

from django.utils import translation

from apps.dashboards import figures
from apps.dashboards.selectors import Point, ProductRound, QuestionRow
from apps.scoring.rules import Rule, band_of
from tests.dashboards.plotted import plotted

D = Decimal
AREAS = [figures.AreaTitle("data", "Data"), figures.AreaTitle("monitoring", "Monitoring")]


def point(key, version="v1", n=10, median="1.5", **extra):
    return Point(
        round=key,
        version=version,
        n=n,
        mean=D("1.4"),
        median=D(median),
        p25=D("1"),
        p75=D("2"),
        **extra,
    )


ALL = [
    point(
        "2021-10",
        area_means={"data": D(2), "monitoring": D(1)},
        binding={"data": 2, "monitoring": 8},
        bands=[
            {"order": 0, "label_en": "Low", "label_ja": "低", "count": 7},
            {"order": 1, "label_en": "High", "label_ja": "", "count": 3},
        ],
    ),
    point(
        "2022-04",
        version="v2",
        n=4,
        median="2.5",
        area_means={"data": D("2.5"), "monitoring": D(2)},
        binding={"data": 3, "monitoring": 1},
        bands=[
            {"order": 0, "label_en": "Low", "label_ja": "低", "count": 1},
            {"order": 1, "label_en": "High", "label_ja": "", "count": 3},
        ],
    ),
]
COHORT = [point("2021-10", n=6, median="1"), point("2022-04", version="v2", n=6, median="3")]


def traces(figure, name):
    return [trace for trace in figure.data if trace.name == name]


def test_overall_trend_has_median_mean_iqr_and_n_for_both_populations():
    figure = plotted(figures.overall_trend(ALL, COHORT, target=2.0))
    all_median, cohort_median = traces(figure, "Median")
    assert list(all_median.y) == [1.5, 2.5] and list(cohort_median.y) == [1.0, 3.0]
    assert list(all_median.text) == ["n=10", "n=4 ⚠"]  # small n is flagged
    # The last round's label overhangs the plot area's edge: drawn whole, not cut at it.
    assert all_median.cliponaxis is False and cohort_median.cliponaxis is False
    assert all_median.xaxis == "x" and cohort_median.xaxis == "x2"
    assert figure.layout.yaxis2.matches == "y" or figure.layout.yaxis2.showticklabels is False
    assert [list(t.y) for t in traces(figure, "Mean")] == [[1.4, 1.4], [1.4, 1.4]]
    iqr = traces(figure, "Inter-quartile range")
    assert iqr[0].fill == "tonexty" and list(iqr[0].y) == [1.0, 1.0]
    targets = [s for s in figure.layout.shapes if s.y0 == 2.0 and s.y1 == 2.0]
    assert len(targets) == 2  # on both panels
    changes = [s for s in figure.layout.shapes if s.x0 == "2022-04"]
    assert len(changes) == 2  # the v1 → v2 change, marked on both panels
    assert any("rubric v2" in a.text for a in figure.layout.annotations)


def test_no_target_no_target_line():
    figure = plotted(figures.overall_trend(ALL, COHORT, target=None))
    assert not [s for s in figure.layout.shapes if s.type == "line" and s.y0 == s.y1]


def test_area_trends_draw_a_line_per_area_and_population():
    figure = plotted(figures.area_trends(ALL, COHORT, AREAS))
    data, monitoring = traces(figure, "Data"), traces(figure, "Monitoring")
    assert list(data[0].y) == [2.0, 2.5] and list(monitoring[0].y) == [1.0, 2.0]
    assert len(data) == len(monitoring) == 2
    assert monitoring[1].y == (None, None)  # no area means given for the cohort points


def test_binding_areas_are_shares_of_n():
    figure = plotted(figures.binding_areas(ALL, AREAS))
    (data,), (monitoring,) = traces(figure, "Data"), traces(figure, "Monitoring")
    assert list(data.y) == [0.2, 0.75] and list(monitoring.y) == [0.8, 0.25]
    assert figure.layout.barmode == "stack"


def test_band_distribution_stacks_counts_with_labels_in_the_legend(settings):
    figure = plotted(figures.band_distribution(ALL))
    assert [t.name for t in figure.data] == ["Low", "High"]
    assert [list(t.y) for t in figure.data] == [[7, 1], [3, 3]]
    with translation.override("ja"):
        japanese = plotted(figures.band_distribution(ALL))
    assert [t.name for t in japanese.data] == ["低", "High"]  # falls back to English


def test_question_heatmap_has_a_row_per_question_and_a_column_per_round():
    questions = [
        QuestionRow(
            "data-schema", "Feature expectations are captured in a schema", "Data", "DATA-1"
        ),
        QuestionRow("monitoring-staleness", "Models are not too stale", "Monitoring", "MON-1"),
    ]

    def means(schema, staleness):
        found = {"data-schema": {"mean": schema, "answered": 9, "na": 1}}
        if staleness is not None:
            found["monitoring-staleness"] = {"mean": staleness, "answered": 10, "na": 0}
        return found

    all_points = [
        point("2021-10", questions=means("0.2500", None)),  # not asked in the first round
        point("2022-04", questions=means("0.7500", "0.1000")),
    ]
    cohort_points = [
        point("2021-10", questions=means("0.5000", None)),
        point("2022-04", questions=means("1.0000", "0.2000")),
    ]
    built = plotted(figures.question_heatmap(all_points, cohort_points, questions, top=1.0))
    heatmap = built.data[0]
    assert list(heatmap.x) == ["2021-10", "2022-04"]
    assert list(heatmap.y) == ["data-schema", "monitoring-staleness"]
    assert [list(row) for row in heatmap.z] == [[0.25, 0.75], [None, 0.1]]
    assert (heatmap.zmin, heatmap.zmax) == (0, 1.0)
    full = "DATA-1 Feature expectations are captured in a schema"
    # the hover: the full text, and the mean in the pages' number format (two decimals)
    assert list(heatmap.customdata[0][0]) == ["Data", full, 9, 1, "0.25"]
    assert "%{customdata[4]}" in heatmap.hovertemplate and "%{z" not in heatmap.hovertemplate
    assert list(built.layout.yaxis.ticktext) == [
        "DATA-1 Feature expectations are captured in a s…",
        "MON-1 Models are not too stale",
    ]
    all_button, cohort_button = built.layout.updatemenus[0].buttons
    assert all_button.args[0]["z"] == [[[0.25, 0.75], [None, 0.1]]]
    assert cohort_button.args[0]["z"] == [[[0.5, 1.0], [None, 0.2]]]
    assert built.layout.title.text == "Mean answer per question"
    (separator,) = built.layout.shapes  # between the data and the monitoring rows
    assert (separator.y0, separator.y1) == (0.5, 0.5)


def test_long_question_labels_are_shortened_on_the_axis_only():
    label = "A very long question text that goes on and on beyond any reasonable axis width"
    built = plotted(
        figures.question_heatmap(
            [point("2021-10", questions={"q": {"mean": "1", "answered": 1, "na": 0}})],
            [point("2021-10")],
            [QuestionRow("q", label, "Area")],
        )
    )
    assert (
        built.layout.yaxis.ticktext[0].endswith("…") and len(built.layout.yaxis.ticktext[0]) == 48
    )
    assert built.data[0].customdata[0][0][1] == label  # the hover shows it whole


# The shipped MLOpsScore bands: upper bounds 0, 1, 2, 3, 5 and an open top band; "Company
# target met" is the band above 2 (rubrics/mlopsscore-v2.yaml).
MLOPSSCORE_MAXIMA = [D(0), D(1), D(2), D(3), D(5), None]


def test_the_target_line_is_named_as_the_bands_classify_a_score_equal_to_it():
    figure = plotted(figures.overall_trend(ALL, COHORT, target=2.0, band_maxima=MLOPSSCORE_MAXIMA))
    (entry,) = [t for t in figure.data if t.name and t.name.startswith("Company target")]
    assert entry.name == "Company target: above 2"
    assert entry.line.dash == "dash" and entry.line.color == figures.TARGET_COLOUR
    # the legend names it: no annotation that could sit on an n label
    assert not [a for a in figure.layout.annotations if "target" in (a.text or "").lower()]
    # A score of exactly 2.0 is in the "keep investing" band (upper bound 2, inclusive) ...
    rule = Rule("sum", "rescale", "min", tuple(MLOPSSCORE_MAXIMA))
    assert band_of(rule, D("2.0")) == 2 and band_of(rule, D("2.0001")) == 3
    # ... and does not meet a target "above 2"; just above it does.
    assert not figures.meets_target(2.0, 2.0, MLOPSSCORE_MAXIMA)
    assert figures.meets_target(2.0001, 2.0, MLOPSSCORE_MAXIMA)


def test_a_target_inside_a_band_is_met_from_the_target_on():
    figure = plotted(figures.overall_trend(ALL, COHORT, target=2.5, band_maxima=MLOPSSCORE_MAXIMA))
    assert "Company target: 2.5 or more" in [t.name for t in figure.data]
    assert figures.meets_target(2.5, 2.5, MLOPSSCORE_MAXIMA)
    with translation.override("ja"):
        japanese = plotted(
            figures.overall_trend(ALL, COHORT, target=2.0, band_maxima=MLOPSSCORE_MAXIMA)
        )
    assert "全社目標: 2 を超える" in [t.name for t in japanese.data]


def test_version_labels_sit_inside_the_plot_under_the_panel_titles():
    figure = plotted(figures.overall_trend(ALL, COHORT, target=2.0, cohort_from="2021-10"))
    titles = [a for a in figure.layout.annotations if a.text in ("All products",)]
    assert titles and titles[0].yanchor == "bottom"  # above the plot's top edge
    assert [a.text for a in figure.layout.annotations][:2] == [
        "All products",
        "Continuous cohort since 2021-10",
    ]
    versions = [a for a in figure.layout.annotations if a.text == "rubric v2"]
    assert len(versions) == 2 and {(a.y, a.yanchor) for a in versions} == {(1, "top")}


def lightness(colour: str) -> float:
    red, green, blue = (int(part) for part in colour.removeprefix("rgb(").rstrip(")").split(","))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_bands_are_one_sequential_scale_from_worst_to_best_never_the_area_colours():
    bands = [
        {"order": order, "label_en": label, "label_ja": "", "count": 1}
        for order, label in enumerate(
            ("Prototype", "Minimal", "Basics", "Company target met", "Strong", "Outstanding")
        )
    ]
    # given best first: drawn worst first all the same
    figure = plotted(figures.band_distribution([point("2021-10", bands=list(reversed(bands)))]))
    assert figure.data[0].name == "Prototype"
    colours = [t.marker.color for t in figure.data]
    assert len(set(colours)) == 6 and not set(colours) & set(figures.PALETTE)
    shades = [lightness(c) for c in colours]
    assert shades == sorted(shades, reverse=True)  # worst lightest, best darkest
    met = colours[3]
    red, _green, blue = (int(p) for p in met.removeprefix("rgb(").rstrip(")").split(","))
    assert blue > red  # "Company target met" is no red
    assert figure.layout.legend.traceorder == "reversed"  # legend top = stack top = best


def test_not_applicable_shares_are_a_line_per_area_with_hidden_points_blank():
    shares = {"data": D("0.25"), "monitoring": None}
    counts = {"data": {"answered": 30, "na": 10}}
    points = [
        point("2021-10", not_applicable=shares, not_applicable_counts=counts),
        point(
            "2022-04", not_applicable={"data": D("0.1")}, not_applicable_counts=counts, hidden=True
        ),
    ]
    figure = plotted(figures.not_applicable_shares(points, AREAS))
    (data,), (monitoring,) = traces(figure, "Data"), traces(figure, "Monitoring")
    assert list(data.y) == [0.25, None] and list(monitoring.y) == [None, None]
    assert [list(c) for c in data.customdata] == [[10, 40], [None, None]]  # on hover
    assert figure.layout.yaxis.tickformat == ".0%"


def test_japanese_question_labels_are_cut_to_the_same_width():
    label = (
        "本番環境で、モデルの予測品質を監視し、"
        "劣化したときに担当者へアラートが届くようになっているか"
    )
    built = plotted(
        figures.question_heatmap(
            [point("2021-10", questions={"q": {"mean": "1", "answered": 1, "na": 0}})],
            [point("2021-10")],
            [QuestionRow("q", label, "監視")],
        )
    )
    shown = built.layout.yaxis.ticktext[0]
    assert shown.endswith("…") and len(shown) == 24  # 23 wide characters and the ellipsis


def test_a_later_cohort_has_no_heatmap_cells_before_its_start():
    cell = {"q": {"mean": "0.5", "answered": 2, "na": 0}}
    built = plotted(
        figures.question_heatmap(
            [point("2021-10", questions=cell), point("2022-04", questions=cell)],
            [point("2022-04", questions={"q": {"mean": "1", "answered": 1, "na": 0}})],
            [QuestionRow("q", "Question", "Area")],
        )
    )
    cohort = built.layout.updatemenus[0].buttons[1].args[0]
    assert cohort["z"] == [[[None, 1.0]]]  # the columns are the rounds: 2021-10 is blank
    assert len(built.data[0].x) == 2


def test_score_hovers_use_the_pages_number_format():
    history = [
        ProductRound("2021-10", Decimal("2.5"), {"data": Decimal("4.0833")}, Decimal("2"), {}),
        ProductRound("2022-04", Decimal("2.3333"), {"data": None}, None, {}),
    ]
    built = plotted(figures.product_history(history, "ranker"))
    assert list(built.data[0].customdata) == ["2.50", "2.33"]
    assert list(built.data[1].customdata) == ["2.00", "–"]
    assert "%{customdata}" in built.data[0].hovertemplate
    profile = plotted(figures.area_profile(history[0], [figures.AreaTitle("data", "Data")]))
    assert list(profile.data[0].customdata) == ["4.08"]
