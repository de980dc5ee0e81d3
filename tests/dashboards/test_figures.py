"""Each figure builder: known aggregates in, traces with the right values out."""

from decimal import Decimal

from apps.dashboards import figures
from apps.dashboards.selectors import Point

D = Decimal
AREAS = [("data", "Data"), ("monitoring", "Monitoring")]


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
    figure = figures.overall_trend(ALL, COHORT, target=2.0)
    all_median, cohort_median = traces(figure, "Median")
    assert list(all_median.y) == [1.5, 2.5] and list(cohort_median.y) == [1.0, 3.0]
    assert list(all_median.text) == ["n=10", "n=4 ⚠"]  # small n is flagged
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
    figure = figures.overall_trend(ALL, COHORT, target=None)
    assert not [s for s in figure.layout.shapes if s.type == "line" and s.y0 == s.y1]


def test_area_trends_draw_a_line_per_area_and_population():
    figure = figures.area_trends(ALL, COHORT, AREAS)
    data, monitoring = traces(figure, "Data"), traces(figure, "Monitoring")
    assert list(data[0].y) == [2.0, 2.5] and list(monitoring[0].y) == [1.0, 2.0]
    assert len(data) == len(monitoring) == 2
    assert monitoring[1].y == (None, None)  # no area means given for the cohort points


def test_binding_areas_are_shares_of_n():
    figure = figures.binding_areas(ALL, AREAS)
    (data,), (monitoring,) = traces(figure, "Data"), traces(figure, "Monitoring")
    assert list(data.y) == [0.2, 0.75] and list(monitoring.y) == [0.8, 0.25]
    assert figure.layout.barmode == "stack"


def test_band_distribution_stacks_counts_with_labels_in_the_legend(settings):
    from django.utils import translation

    figure = figures.band_distribution(ALL)
    assert [t.name for t in figure.data] == ["Low", "High"]
    assert [list(t.y) for t in figure.data] == [[7, 1], [3, 3]]
    with translation.override("ja"):
        japanese = figures.band_distribution(ALL)
    assert [t.name for t in japanese.data] == ["低", "High"]  # falls back to English
