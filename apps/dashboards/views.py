import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.accounts.models import Team
from apps.accounts.roles import sees_everything, visible_product_ids
from apps.dashboards import figures, selectors
from apps.rubrics.models import Area
from apps.surveys.models import SurveyRound


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


@login_required
def round_page(request: HttpRequest, key: str) -> HttpResponse:
    """A round: participation by team (with whom to remind, for the MLOps team) and results."""
    survey_round = get_object_or_404(
        SurveyRound.objects.select_related("rubric_version__rubric"), key=key
    )
    everything = sees_everything(request.user)
    sort = request.GET.get("sort", "overall")
    descending = request.GET.get("dir", "desc") != "asc"
    results = selectors.round_results(
        survey_round,
        products=visible_product_ids(request.user),
        team=request.GET.get("team", ""),
        sort=sort,
        descending=descending,
    )
    areas = list(Area.objects.filter(version=survey_round.rubric_version).order_by("order"))
    context = {
        "round": survey_round,
        "participation": selectors.round_participation(survey_round) if everything else [],
        "results": results,
        "areas": areas,
        "sort": sort,
        "descending": descending,
        "team": request.GET.get("team", ""),
        "teams": Team.objects.order_by("name").values_list("slug", "name"),
    }
    return render(request, "dashboards/round.html", context)
