import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.dashboards import figures, selectors
from apps.rubrics.models import Area


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The organisation's trends for one rubric: every signed-in user may read them."""
    rubrics = selectors.rubrics_with_rounds()
    chosen = next((r for r in rubrics if r.slug == request.GET.get("rubric")), None)
    chosen = chosen or next((r for r in rubrics if r.slug == "mlopsscore"), None)
    chosen = chosen or (rubrics[0] if rubrics else None)
    context = {"rubrics": rubrics, "rubric": chosen, "charts": []}
    if chosen is not None:
        trend = selectors.rubric_trend(chosen)
        # Area titles in the active language; a later version's wording wins.
        titles = {
            area.key: area.tr("title")
            for area in Area.objects.filter(version__rubric=chosen).order_by("version_id")
        }
        areas = [(key, titles.get(key, key)) for key in trend.area_keys]
        target = _target(request)
        charts = [
            ("overall", figures.overall_trend(trend.all, trend.cohort, target)),
            ("areas", figures.area_trends(trend.all, trend.cohort, areas)),
            ("binding", figures.binding_areas(trend.all, areas)),
            ("bands", figures.band_distribution(trend.all)),
        ]
        context.update(
            trend=trend,
            target=target,
            small_n=figures.SMALL_N,
            charts=[(name, json.loads(figure.to_json())) for name, figure in charts],
        )
    return render(request, "dashboards/overview.html", context)


def _target(request: HttpRequest) -> float | None:
    try:
        return float(request.GET.get("target", settings.DASHBOARD_TARGET))
    except ValueError:
        return settings.DASHBOARD_TARGET
