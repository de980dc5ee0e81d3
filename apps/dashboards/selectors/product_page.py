"""Read queries for a product's page: its scores beside the organisation's, what changed in
its answers, and its next steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from apps.products.models import Product
from apps.rubrics.models import Question
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.next_steps import Step, next_steps
from apps.surveys.models import Answer, Response


@dataclass(frozen=True)
class ProductRound:
    """The product's scores in one round beside the organisation's."""

    round: str
    overall: Decimal | None
    areas: dict[str, Decimal | None]
    org_median: Decimal | None
    org_area_means: dict[str, Decimal | None]
    # how the rule counted N/A in this score, and how many each area had
    version_id: int = 0
    area_not_applicable: dict[str, int] = field(default_factory=dict)
    not_applicable_policy: str = ""
    area_aggregation: str = ""


class AnswerChange(NamedTuple):
    """A question whose answer differs between two responses, as the changes table shows it."""

    question: str  # its text in the active language
    before: str
    after: str


class StepRow(NamedTuple):
    """A next step with its question (for the question's text in the active language)."""

    question: Question
    step: Step


# What a ProductRound reads of a stored score.
PRODUCT_ROUND_FIELDS = (
    "round",
    "round__key",
    "overall",
    "area_scores",
    "rubric_version_id",
    "area_not_applicable",
    "not_applicable_policy",
    "area_aggregation",
)


def product_history(product: Product) -> list[ProductRound]:
    """The product's scores per round beside the organisation's (all products) in 2 queries."""
    scores = list(
        ResponseScore.objects.filter(product=product)
        .select_related("round")
        .only(*PRODUCT_ROUND_FIELDS)
        .order_by("round__opens_at")
    )
    org = {
        row.round_id: row
        for row in RoundAggregate.objects.filter(
            round__in=[s.round_id for s in scores], population="all", like_for_like=False
        ).only("round_id", "median", "area_means")  # not the large question means
    }
    history = []
    for score in scores:
        aggregate = org.get(score.round_id)
        history.append(
            ProductRound(
                round=score.round.key,
                overall=score.overall,
                areas={k: None if v is None else Decimal(v) for k, v in score.area_scores.items()},
                org_median=aggregate.median if aggregate else None,
                org_area_means={
                    k: None if v is None else Decimal(v)
                    for k, v in (aggregate.area_means if aggregate else {}).items()
                },
                version_id=score.rubric_version_id,
                area_not_applicable=score.area_not_applicable,
                not_applicable_policy=score.not_applicable_policy,
                area_aggregation=score.area_aggregation,
            )
        )
    return history


def _shown(answer: Answer | None) -> str:
    """An answer as the changes table shows it: its value, N/A, or a dash when unanswered."""
    if answer is None or not answer.is_answered:
        return "–"
    return "N/A" if answer.not_applicable else format(answer.value.normalize(), "f")


def answer_changes(previous: Response, latest: Response) -> list[AnswerChange]:
    """The answers that differ between two responses, in rubric order (one query)."""
    answers = list(
        Answer.objects.filter(response__in=[previous.pk, latest.pk])
        .select_related("question")
        .order_by("question__area__order", "question__order")
    )
    before = {a.question.key: a for a in answers if a.response_id == previous.pk}
    changes = []
    for answer in (a for a in answers if a.response_id == latest.pk):
        old = before.get(answer.question.key)
        if _shown(old) != _shown(answer):
            changes.append(AnswerChange(answer.question.tr("text"), _shown(old), _shown(answer)))
    return changes


def next_step_rows(response: Response) -> list[StepRow]:
    """The response's next steps (scoring's next_steps) with their questions."""
    questions = {
        question.key: question
        for question in Question.objects.filter(version_id=response.round.rubric_version_id)
    }
    return [StepRow(questions[step.question_key], step) for step in next_steps(response)]
