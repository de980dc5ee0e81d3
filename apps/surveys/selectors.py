"""Read queries for survey pages."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps import database
from apps.products.models import Product
from apps.rubrics.models import Area, Criterion, Question, ScaleLevel
from apps.surveys.models import Answer, Response, SurveyRound


def rounds_with_progress() -> QuerySet[SurveyRound]:
    """Every round, newest first, with its rubric and counts of draft and submitted responses."""
    return (
        SurveyRound.objects.select_related("rubric_version__rubric")
        .annotate(
            n_submitted=Count("responses", filter=Q(responses__status=Response.Status.SUBMITTED)),
            n_draft=Count("responses", filter=Q(responses__status=Response.Status.DRAFT)),
        )
        .order_by("-opens_at", "-key")
    )


@dataclass(frozen=True)
class Assignment:
    """One of my products in an open round, with how far its response is."""

    round: SurveyRound
    product: Product
    status: str  # not_started | draft | submitted
    answered: int
    total: int

    @property
    def days_left(self) -> int:
        return (self.round.closes_at - timezone.now()).days


def my_assignments(user) -> list[Assignment]:
    """Each product of the user's teams × each open round it takes part in (constant queries)."""
    rounds = list(
        SurveyRound.objects.filter(state=SurveyRound.State.OPEN)
        .select_related("rubric_version__rubric")
        .annotate(total=Count("rubric_version__questions", distinct=True))
        .order_by("closes_at")
    )
    products = list(
        Product.objects.filter(team__members=user).select_related("team").order_by("name")
    )
    responses = {
        (r.round_id, r.product_id): r
        for r in Response.objects.filter(round__in=rounds, product__in=products).annotate(
            answered=Count(
                "answers", filter=Q(answers__value__isnull=False) | Q(answers__not_applicable=True)
            )
        )
    }
    assignments = []
    for survey_round in rounds:
        opened = timezone.localdate(survey_round.opens_at)
        for product in products:
            if product.active_from > opened or (
                product.retired_at and product.retired_at <= opened
            ):
                continue
            response = responses.get((survey_round.pk, product.pk))
            assignments.append(
                Assignment(
                    round=survey_round,
                    product=product,
                    status=response.status if response else "not_started",
                    answered=response.answered if response else 0,
                    total=survey_round.total,
                )
            )
    return assignments


# Asked by every autosave. Written out because the ORM's building of this three-join
# query cost a tenth of a save's server time (benchmarks/autosave.py); the tests check it
# against the ORM's own answer.
MEMBER_RESPONSE_SQL = """
SELECT r.id, r.round_id, r.product_id
  FROM surveys_response r
  JOIN surveys_surveyround sr ON sr.id = r.round_id
  JOIN products_product p ON p.id = r.product_id
  JOIN accounts_team_members m ON m.team_id = p.team_id
 WHERE sr.key = %s AND p.slug = %s AND m.user_id = %s
"""


def member_response(user, *, key: str, slug: str) -> Response | None:
    """The product's response in round `key` if it is started and the user is a member of
    the product's team (who answers it: roles.can_answer_for), in one query; else None."""
    if not user.is_authenticated:
        return None
    return next(iter(Response.objects.raw(MEMBER_RESPONSE_SQL, [key, slug, user.pk])), None)


def questionnaire(survey_round: SurveyRound, response: Response | None) -> list[dict]:
    """The round's version, area by area: each question with its criteria and its answer in
    the response (none while the response is not started)."""
    answers = (
        {
            a.question_id: a
            for a in response.answers.select_related("updated_by", "carried_over_from")
        }
        if response is not None and response.pk
        else {}
    )
    areas = (
        Area.objects.filter(version_id=survey_round.rubric_version_id)
        .order_by("order")
        .prefetch_related(
            Prefetch(
                "questions",
                Question.objects.order_by("order").prefetch_related(
                    Prefetch(
                        "criteria",
                        Criterion.objects.select_related("level").order_by("level__order"),
                    )
                ),
            )
        )
    )
    sections = []
    for area in areas:
        questions = [
            {"question": q, "criteria": list(q.criteria.all()), "answer": answers.get(q.pk)}
            for q in area.questions.all()
        ]
        # Answered counts confirmed answers only; carried-over ones are counted apart.
        carried = sum(1 for item in questions if _carried(item["answer"]))
        answered = sum(1 for item in questions if item["answer"] and item["answer"].is_answered)
        sections.append(
            {
                "area": area,
                "questions": questions,
                "answered": answered - carried,
                "carried": carried,
            }
        )
    return sections


def _carried(answer: Answer | None) -> bool:
    return answer is not None and answer.carried_over_from_id is not None


def unanswered(sections: list[dict]) -> list[dict]:
    """The questionnaire's questions with neither a value nor N/A, in order, with their area."""
    return [
        {"area": section["area"], "question": item["question"]}
        for section in sections
        for item in section["questions"]
        if not (item["answer"] and item["answer"].is_answered)
    ]


def unconfirmed(sections: list[dict]) -> list[dict]:
    """The questionnaire's carried-over answers no team member has confirmed, in order."""
    return [
        {"area": section["area"], "question": item["question"]}
        for section in sections
        for item in section["questions"]
        if _carried(item["answer"])
    ]


class PreviousAnswer(NamedTuple):
    """A question's answer in the product's previous response, as shown beside it."""

    round: SurveyRound
    value: Decimal | None
    level_en: str
    level_ja: str
    not_applicable: bool
    not_applicable_reason: str
    evidence: str

    def tr(self, field: str) -> str:
        """The level's label in the active language (falls back to English)."""
        return ((get_language() or "").startswith("ja") and self.level_ja) or self.level_en


def previous_answers(previous: Response) -> dict[str, PreviousAnswer]:
    """The previous response's answers by question key, with their level labels (one query)."""
    levels = ScaleLevel.objects.filter(
        version_id=previous.round.rubric_version_id, value=OuterRef("value")
    )
    rows = (
        previous.answers.order_by()
        .annotate(
            level_en=Subquery(levels.values("label_en")[:1]),
            level_ja=Subquery(levels.values("label_ja")[:1]),
        )
        .values_list(
            "question__key",
            "value",
            "level_en",
            "level_ja",
            "not_applicable",
            "not_applicable_reason",
            "evidence",
        )
    )
    return {
        key: PreviousAnswer(previous.round, value, en or "", ja or "", na, reason, evidence)
        for key, value, en, ja, na, reason, evidence in rows
        if value is not None or na
    }


class RoundProgress(NamedTuple):
    """How far a round's active products are: each counted once."""

    active: int  # products active when the round opened
    submitted: int
    draft: int
    not_started: int

    @property
    def response_rate(self) -> float | None:
        """Submitted over active products (None for a round with no active product)."""
        return self.submitted / self.active if self.active else None


def active_products(survey_round: SurveyRound) -> QuerySet[Product]:
    """The products that take part in the round: active on the day it opened (in the
    organisation's time zone)."""
    opened = timezone.localdate(survey_round.opens_at)
    return Product.objects.filter(active_from__lte=opened).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=opened)
    )


def active_counts(rounds: list[SurveyRound]) -> dict[int, int]:
    """How many products each round had active when it opened, in one query over the
    products (a filtered count per round), whatever the number of rounds."""
    if not rounds:
        return {}
    opened = {r.pk: timezone.localdate(r.opens_at) for r in rounds}
    counts = Product.objects.aggregate(
        **{
            f"r{pk}": Count(
                "pk",
                filter=Q(active_from__lte=day)
                & (Q(retired_at__isnull=True) | Q(retired_at__gt=day)),
            )
            for pk, day in opened.items()
        }
    )
    return {pk: counts[f"r{pk}"] for pk in opened}


def rounds_progress(rounds: list[SurveyRound]) -> dict[int, RoundProgress]:
    """RoundProgress of each round, in two queries whatever the number of rounds."""
    active = active_counts(rounds)
    statuses: dict[int, dict[str, int]] = {r.pk: {} for r in rounds}
    active_then = Q(product__active_from__lte=F("round__opens_at__date")) & (
        Q(product__retired_at__isnull=True) | Q(product__retired_at__gt=F("round__opens_at__date"))
    )
    for round_id, status, n in (
        Response.objects.filter(active_then, round__in=rounds)
        .order_by()  # Meta.ordering would join product and round into a GROUP BY
        .values("round_id", "status")
        .annotate(n=Count("pk"))
        .values_list("round_id", "status", "n")
    ):
        statuses[round_id][status] = n
    progress = {}
    for survey_round in rounds:
        total = active[survey_round.pk]
        counts = statuses[survey_round.pk]
        submitted = counts.get(Response.Status.SUBMITTED, 0)
        draft = counts.get(Response.Status.DRAFT, 0)
        progress[survey_round.pk] = RoundProgress(
            total, submitted, draft, total - submitted - draft
        )
    return progress


def round_progress(survey_round: SurveyRound) -> RoundProgress:
    """Submitted, draft and not started among the round's active products (two queries)."""
    return rounds_progress([survey_round])[survey_round.pk]


def round_laggards(
    survey_round: SurveyRound, *, products=None, team: str = "", status: str = ""
) -> QuerySet[Product]:
    """The round's active products not submitted yet (not started, or a draft), by team and
    name; only `products` (ids) when given; `status` "not_started" or "draft" filters. Plain
    products, cheap to count and chunk (the CSV, the reminders): `describe_laggards` adds how
    far each one is. The round page lists them with LaggardRows, the same rows in the same
    order, described in their own query."""
    response = Response.objects.filter(round=survey_round, product=OuterRef("pk"))
    laggards = (
        active_products(survey_round)
        .select_related("team")
        .exclude(Exists(response.filter(status=Response.Status.SUBMITTED)))
        .order_by("team__name", "name", "pk")  # unique: pages and CSV chunks never overlap
    )
    if products is not None:
        laggards = laggards.filter(pk__in=products)
    if team:
        laggards = laggards.filter(team__slug=team)
    if status == "not_started":
        laggards = laggards.exclude(Exists(response))
    elif status == "draft":
        laggards = laggards.filter(Exists(response))
    return laggards


class Laggard(NamedTuple):
    """A product not submitted yet, and how far its response is."""

    product: Product
    status: str  # "not_started" or "draft"
    answered: int
    last_activity: datetime | None  # its latest answer saved


class LaggardRow(NamedTuple):
    """A product not submitted yet as the round page lists it (LaggardRows)."""

    pk: int
    slug: str
    name: str
    team_id: int
    team_name: str
    status: str  # "not_started" or "draft"
    answered: int
    last_activity: datetime | None  # its latest answer saved


# round_laggards' rows, each with how far its response is. PostgreSQL evaluates the two
# subqueries after the sort and the limit, for the rows read only. (Not submitted is
# COALESCE(…) <> 'submitted': PostgreSQL estimates "r.id IS NULL OR r.status <> …" at a
# fortieth of its rows and picks a plan that takes half as long again.)
LAGGARD_ROWS_SQL = """
SELECT p.id, p.slug, p.name, p.team_id, t.name,
    CASE WHEN r.id IS NULL THEN 'not_started' ELSE 'draft' END,
    (SELECT COUNT(CASE WHEN a.value IS NOT NULL OR a.not_applicable THEN 1 END)
        FROM surveys_answer a WHERE a.response_id = r.id),
    (SELECT MAX(a.updated_at) FROM surveys_answer a WHERE a.response_id = r.id)
{laggards}
ORDER BY t.name, p.name, p.id
LIMIT %s OFFSET %s"""
LAGGARDS_SQL = """FROM products_product p
JOIN accounts_team t ON t.id = p.team_id
LEFT JOIN surveys_response r ON r.product_id = p.id AND r.round_id = %s
WHERE {active} AND COALESCE(r.status, '') <> %s"""


def active_products_sql(survey_round: SurveyRound) -> tuple[str, list]:
    """active_products as a condition on the products `p` of hand-written SQL, with its
    parameters."""
    opened = database.date_param(timezone.localdate(survey_round.opens_at))
    return "p.active_from <= %s AND (p.retired_at IS NULL OR p.retired_at > %s)", [opened] * 2


def product_filters_sql(product: str, products=None, team: str = "") -> tuple[str, list]:
    """The round page's filters as conditions to add to hand-written SQL, with their
    parameters: the product (the column `product`) among `products` (a queryset of ids) when
    given, its team (joined as `t`) the one with slug `team` when given."""
    sql, params = "", []
    if products is not None:
        ids, ids_params = database.subquery(products)
        sql += f" AND {product} IN {ids}"
        params += ids_params
    if team:
        sql += " AND t.slug = %s"
        params.append(team)
    return sql, params


class LaggardRows:
    """round_laggards (the same filters, rows and order) for the round page's Paginator, each
    row with its status, answered count and last activity: a page is one hand-written query
    (apps.database). Building and compiling the same queryset, with its subqueries, had cost
    more than running it."""

    def __init__(
        self, survey_round: SurveyRound, *, products=None, team: str = "", status: str = ""
    ):
        active, active_params = active_products_sql(survey_round)
        sql = LAGGARDS_SQL.format(active=active)
        params = [survey_round.pk, *active_params, Response.Status.SUBMITTED]
        filters, filter_params = product_filters_sql("p.id", products, team)
        sql += filters
        params += filter_params
        if status == "not_started":
            sql += " AND r.id IS NULL"
        elif status == "draft":
            sql += " AND r.id IS NOT NULL"
        self.sql, self.params = sql, params

    def count(self) -> int:
        return database.fetch(f"SELECT COUNT(*) {self.sql}", self.params)[0][0]

    def __getitem__(self, page: slice) -> list[LaggardRow]:
        converters = {7: database.converter(Answer._meta.get_field("updated_at"))}
        rows = database.fetch(
            LAGGARD_ROWS_SQL.format(laggards=self.sql),
            [*self.params, page.stop - page.start, page.start],
            converters,
        )
        return [LaggardRow(*row) for row in rows]


def describe_laggards(survey_round: SurveyRound, products: Iterable[Product]) -> list[Laggard]:
    """Status, answered count and last activity of these products (a page of laggards) in
    the round, in one query (their responses joined to their answers)."""
    products = list(products)
    progress = {
        product_id: (answered, last)
        for product_id, answered, last in Response.objects.filter(
            round=survey_round, product__in=[p.pk for p in products]
        )
        .order_by()  # Meta.ordering would join the products and the round
        .values("product_id")
        .annotate(
            answered=Count(
                "answers",
                filter=Q(answers__value__isnull=False) | Q(answers__not_applicable=True),
            ),
            last=Max("answers__updated_at"),
        )
        .values_list("product_id", "answered", "last")
    }
    laggards = []
    for product in products:
        answered, last = progress.get(product.pk, (0, None))
        status = "draft" if product.pk in progress else "not_started"
        laggards.append(Laggard(product, status, answered, last))
    return laggards


def level_text(value: Decimal | None, not_applicable: bool, labels: dict[Decimal, str]) -> str:
    """An answer as people read it: "0.5 · Manual, documented", "N/A", or "" (unanswered)."""
    if not_applicable:
        return _("N/A")
    if value is None:
        return ""
    shown = format(value.normalize(), "f")
    return f"{shown} · {labels[value]}" if value in labels else shown


def answer_label(answer: Answer) -> str:
    """One answer's level label (one query for its version's scale)."""
    labels = {}
    if answer.value is not None:
        labels = {
            level.value: level.tr("label")
            for level in ScaleLevel.objects.filter(
                version__questions=answer.question_id, value=answer.value
            )
        }
    return level_text(answer.value, answer.not_applicable, labels)


@dataclass
class ReviewItem:
    """One question as the review shows it."""

    area: Area
    question: Question
    answer: Answer | None
    label: str  # the level label ("" while unanswered)
    previous: str | None = None  # last round's level label; None: no answer then
    changed: bool = False  # the level (or N/A) differs from last round's
    evidence_missing: bool = False
    flag: str = ""  # "new" or "changed" (the criteria) since the previous version

    @property
    def answered(self) -> bool:
        return self.answer is not None and self.answer.is_answered


@dataclass
class Review:
    """What a submit would send, grouped for checking; `token` identifies these answers."""

    areas: list[dict]  # {"area": Area, "items": [ReviewItem]}
    token: str
    lowest: Decimal | None  # the scale's lowest level: above it, evidence is expected
    unanswered: list[ReviewItem] = field(default_factory=list)
    not_applicable: list[ReviewItem] = field(default_factory=list)
    changed: list[ReviewItem] = field(default_factory=list)
    evidence_missing: list[ReviewItem] = field(default_factory=list)
    reworded: list[ReviewItem] = field(default_factory=list)
    # carried-over answers (prefill) no team member has confirmed yet: Confirm is hidden
    unconfirmed: list[ReviewItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(area["items"]) for area in self.areas)

    @property
    def answered(self) -> int:
        return self.total - len(self.unanswered)


def review(
    sections: list[dict], previous: Response | None, flags: dict[str, str], token: str
) -> Review:
    """The review of a questionnaire's sections (see `questionnaire`) against the previous
    round's response: one query for that response's answers, none per question.

    Evidence is expected for every answer above the scale's lowest level ("not done"): such
    an answer claims something is in place, so it should say where to see it (text or link).
    """
    before: dict[str, tuple[Decimal | None, bool]] = {}
    if previous is not None:
        before = {
            key: (value, na)
            for key, value, na in previous.answers.order_by().values_list(
                "question__key", "value", "not_applicable"
            )
        }
    labels: dict[Decimal, str] = {}
    for section in sections:
        for item in section["questions"]:
            for criterion in item["criteria"]:
                labels.setdefault(criterion.level.value, criterion.level.tr("label"))
    lowest = min(labels) if labels else None
    result = Review(areas=[], token=token, lowest=lowest)
    for section in sections:
        items = []
        for entry in section["questions"]:
            question, answer = entry["question"], entry["answer"]
            value = answer.value if answer else None
            na = bool(answer and answer.not_applicable)
            item = ReviewItem(section["area"], question, answer, level_text(value, na, labels))
            item.flag = flags.get(question.key, "")
            if question.key in before:
                item.previous = level_text(*before[question.key], labels)
                item.changed = item.answered and before[question.key] != (value, na)
            item.evidence_missing = (
                value is not None
                and value != lowest
                and not (answer.evidence.strip() or answer.evidence_url)
            )
            items.append(item)
            if not item.answered:
                result.unanswered.append(item)
            if na:
                result.not_applicable.append(item)
            if answer is not None and answer.carried_over_from_id is not None:
                result.unconfirmed.append(item)
            if item.changed:
                result.changed.append(item)
            if item.evidence_missing:
                result.evidence_missing.append(item)
            if item.flag:
                result.reworded.append(item)
        result.areas.append({"area": section["area"], "items": items})
    return result


@dataclass(frozen=True)
class HistoryEntry:
    """One saved state of a question's answer."""

    round: str
    label: str
    evidence: str
    evidence_url: str
    who: str
    when: datetime


def question_history(
    survey_round: SurveyRound, product: Product, question_key: str
) -> list[HistoryEntry] | None:
    """Every saved state of the product's answer to the question (by key) in this round and
    its earlier rounds of the same rubric, newest first, from the answers' history rows (three
    queries); None when the round's version has no such question."""
    version = survey_round.rubric_version
    if not version.questions.filter(key=question_key).exists():
        return None
    rows = list(
        Answer.history.filter(
            question__key=question_key,
            question__version__rubric_id=version.rubric_id,
            response__product_id=product.pk,
            response__round__opens_at__lte=survey_round.opens_at,
        )
        .select_related("history_user", "response__round", "question")
        .order_by("-history_date", "-history_id")
    )
    versions = {row.question.version_id for row in rows}
    labels: dict[int, dict[Decimal, str]] = {v: {} for v in versions}
    for level in ScaleLevel.objects.filter(version_id__in=versions):
        labels[level.version_id][level.value] = level.tr("label")
    return [
        HistoryEntry(
            round=row.response.round.key,
            label=level_text(row.value, row.not_applicable, labels[row.question.version_id]),
            evidence=row.evidence,
            evidence_url=row.evidence_url,
            who=person_name(row.history_user),
            when=row.history_date,
        )
        for row in rows
    ]


def person_name(user) -> str:
    """How a person is named on the pages: full name, else username ("" for nobody)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
