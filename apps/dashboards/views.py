from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from apps.accounts.models import Team
from apps.accounts.roles import can_answer_for, sees_everything
from apps.dashboards import charts, figures, selectors
from apps.dashboards.filters import CatalogueFilter
from apps.dashboards.pagination import CountedPaginator
from apps.products.models import Characteristic, Product
from apps.products.selectors import visible_product_ids
from apps.scoring import cohort
from apps.scoring.explain import area_score_text, not_applicable_rule_text
from apps.scoring.selectors import area_maxima, areas_with_maxima
from apps.surveys.models import Response
from apps.surveys.selectors import LaggardRows, round_progress

PAGE_SIZE = 50  # rows per page of the round page's tables
LAGGARD_STATUSES = ("not_started", "draft")


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The organisation's trends for one rubric: every signed-in user may read them, except
    points resting on a few products outside their teams (viewers and administrators read
    everything). `cohort_from` picks the cohort's start round; one the rubric's cohort does
    not start from is a 400 with the page's own message."""
    rubrics = selectors.rubrics_with_rounds()
    chosen = next((r for r in rubrics if r.slug == request.GET.get("rubric")), None)
    chosen = chosen or next((r for r in rubrics if r.slug == "mlopsscore"), None)
    chosen = chosen or (rubrics[0] if rubrics else None)
    context = {"rubrics": rubrics, "rubric": chosen, "charts": []}
    team = request.GET.get("team", "")
    characteristic = request.GET.get("characteristic", "")
    context.update(
        team=team,
        characteristic=characteristic,
        teams=Team.objects.order_by("name").values_list("slug", "name"),
        characteristics=Characteristic.objects.order_by("order"),
    )
    status = 200
    like_for_like = parse_flag(request.GET.get("like_for_like", ""))
    context["like_for_like"] = bool(like_for_like)
    if chosen is not None:
        starts = cohort.start_rounds(chosen.pk)
        requested = request.GET.get("cohort_from", "")
        start = next((r for r in starts if r.key == requested), None) if requested else None
        context.update(starts=starts, cohort_from=start.key if start else "")
        if requested and start is None:
            context["bad_cohort_from"] = True
            status = 400
        elif like_for_like is None:
            context["bad_like_for_like"] = True
            status = 400
        elif like_for_like and (team or characteristic):
            context["like_for_like_filtered"] = True
            status = 400
        else:
            start = start or (starts[0] if starts else None)
            target = _target(request)
            built = charts.overview_charts(
                chosen,
                target=target,
                team=team,
                characteristic=characteristic,
                readable=visible_product_ids(request.user),
                start=start,
                starts=starts,
                like_for_like=like_for_like,
            )
            context.update(
                comparison=built.comparison,
                cohort_from=start.key if start else "",
                target=target,
                small_n=figures.SMALL_N,
                charts=built.charts,
                smallest=built.smallest,
                participation=selectors.participation_by_round(chosen),
                hidden=built.hidden,
                min_group=settings.DASHBOARD_MIN_GROUP,
                churn=built.churn,
                not_applicable_rule=built.not_applicable_rule,
            )
    return render(request, "dashboards/overview.html", context, status=status)


def parse_flag(value: str) -> bool | None:
    """A yes/no query parameter: blank or "0" is no, "1" is yes; anything else is None (the
    caller answers 400)."""
    return {"": False, "0": False, "1": True}.get(value)


def _target(request: HttpRequest) -> float | None:
    try:
        return float(request.GET.get("target", settings.DASHBOARD_TARGET))
    except ValueError:
        return settings.DASHBOARD_TARGET


@login_required
def round_page(request: HttpRequest, key: str) -> HttpResponse:
    """A round: its response rate and log, the products not submitted yet (by name), the
    participation by team (for the MLOps team) and the results; members see their teams'."""
    survey_round = get_object_or_404(selectors.rounds_for_page(), key=key)
    everything = sees_everything(request.user)
    visible = visible_product_ids(request.user)
    sort = request.GET.get("sort", "overall")
    descending = request.GET.get("dir", "desc") != "asc"
    team = request.GET.get("team", "")
    results = selectors.round_results(
        survey_round, products=visible, team=team, sort=sort, descending=descending
    )
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    areas = areas_with_maxima(survey_round.rubric_version)  # remembered once published
    status = request.GET.get("status", "") if request.GET.get("status") in LAGGARD_STATUSES else ""
    teams = selectors.teams_by_name()
    participation = selectors.round_participation(survey_round, teams) if everything else []
    progress = selectors.progress_of(participation) if everything else round_progress(survey_round)
    laggards = LaggardRows(
        survey_round, products=visible, team=request.GET.get("team", ""), status=status
    )
    if visible is None and not request.GET.get("team") and not status:
        # Every active product not submitted: the progress has counted them already.
        paginator = CountedPaginator(laggards, PAGE_SIZE, progress.draft + progress.not_started)
    else:
        paginator = Paginator(laggards, PAGE_SIZE)
    laggards = paginator.get_page(request.GET.get("lpage"))
    context = {
        "round": survey_round,
        "progress": progress,
        "laggards": laggards,
        "owners": selectors.owner_names(
            {row.team_id for row in laggards},
            known={row.team_id: row.people for row in participation},
        ),
        "status": status,
        "questions": sum(area.n_questions for area in areas),
        "events": survey_round.events.select_related("user")[:20] if everything else [],
        "participation": participation,
        "results": page,
        "rows": selectors.result_rows(page, {area.key: area.maximum for area in areas}),
        # product pages' address less the slug: one reverse() instead of one per row
        "product_prefix": reverse("product", args=["-"]).removesuffix("-/"),
        "areas": areas,
        "sort": sort,
        "descending": descending,
        "team": request.GET.get("team", ""),
        "teams": [(team.slug, team.name) for team in teams],
    }
    return render(request, "dashboards/round.html", context)


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    """The products the user may read, found by name or slug, filtered by team, use case and
    status, each with its latest score, band and trend; a filter that does not parse is a 400."""
    found = CatalogueFilter(
        request.GET, queryset=selectors.catalogue_products(request.user), user=request.user
    )
    valid = found.is_valid()
    page = selectors.catalogue_page(
        found.qs if valid else found.queryset.none(), request.GET.get("page"), PAGE_SIZE
    )
    context = {
        "filter": found,
        "page": page,
        "rows": selectors.catalogue_rows(list(page)),
        # Each row's link is this and its slug: reversing the URL per row took a tenth of
        # the page's time.
        "product_url": reverse("product", args=["0"]).removesuffix("0/"),
        "teams": found.filters["team"].queryset.values_list("slug", "name"),
        "characteristics": found.filters["characteristic"].queryset,
    }
    return render(request, "dashboards/catalogue.html", context, status=200 if valid else 400)


@login_required
def product_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A product's history against the organisation, its area profile, what changed in its
    answers, and the next steps. Its team, viewers and administrators may read it."""
    product = get_object_or_404(Product.objects.select_related("team"), slug=slug)
    if not (sees_everything(request.user) or can_answer_for(request.user, product)):
        raise Http404
    history = selectors.product_history(product)
    responses = list(
        Response.objects.filter(product=product, status=Response.Status.SUBMITTED)
        .select_related("round__rubric_version")
        .order_by("-round__opens_at")[:2]
    )
    for response in responses:
        response.product = product  # read by the next steps: no query to fetch it again
    context = {"product": product, "history": history, "charts": [], "steps": [], "changes": []}
    if history:
        keys = list(history[-1].areas)
        # The latest response's areas: their titles, and their maxima (one query).
        shown = areas_with_maxima(responses[0].round.rubric_version) if responses else []
        titles = {area.key: area.tr("title") for area in shown}
        areas = [figures.AreaTitle(key, titles.get(key, key)) for key in keys]
        maxima = (
            {area.key: area.maximum for area in shown}
            if responses and responses[0].round.rubric_version_id == history[-1].version_id
            else area_maxima(history[-1].version_id)
        )
        context["latest_score"] = _latest_score(history[-1], areas, maxima)
        context["charts"] = figures.embed(
            {
                "history": figures.product_history(history, product.name),
                "profile": figures.area_profile(history[-1], areas),
            }
        )
    if responses:
        latest = responses[0]
        context["steps"] = selectors.next_step_rows(latest)
        context["latest"] = latest
        if len(responses) == 2:
            context["changes"] = selectors.answer_changes(responses[1], latest)
            context["previous"] = responses[1]
    return render(request, "dashboards/product.html", context)


def _latest_score(
    latest: selectors.ProductRound, areas: list[figures.AreaTitle], maxima: dict
) -> dict:
    """The product's latest stored score as the product page's table shows it: each area
    beside its maximum (`maxima`, by key) and N/A count, and the rule's N/A sentence."""
    return {
        "round": latest.round,
        "overall": latest.overall,
        "areas": [
            {
                "key": area.key,
                "title": area.title,
                "text": area_score_text(
                    latest.areas.get(area.key),
                    maxima.get(area.key),
                    latest.area_not_applicable.get(area.key, 0),
                    latest.not_applicable_policy,
                ),
            }
            for area in areas
        ],
        "rule": not_applicable_rule_text(latest.not_applicable_policy, latest.area_aggregation),
    }
