"""Next steps for a product: which answers, raised, would lift its overall score the most."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.products.capabilities import RECOMMENDED
from apps.products.models import Characteristic
from apps.scoring import rules, selectors
from apps.surveys.models import Response


@dataclass(frozen=True)
class Step:
    question_key: str
    current: Decimal
    lift: Decimal  # overall score gained by answering this question at the top level
    # the product's use-case characteristics for which the question's capabilities are
    # recommended (Google Cloud's MLOps framework): why it comes first
    recommended_for: tuple[Characteristic, ...] = ()


def next_steps(response: Response, limit: int = 7) -> list[Step]:
    """Questions of the binding area answered below the top level: first those that lift the
    overall score and exercise a capability recommended for one of the product's use-case
    characteristics, then the others that lift it, each group by the overall score gained if
    the question alone were raised to the top level (then in rubric order)."""
    shape = selectors.version_shape(response.round.rubric_version_id)
    tallies = selectors.answer_tallies(shape, response_id=response.pk)
    if response.pk not in tallies:
        return []
    current = rules.score(shape.rule, tallies[response.pk])
    if current is None or current.binding_area is None:
        return []
    top = shape.top_value
    steps = []
    answers = (
        response.answers.filter(question__area__key=current.binding_area, value__lt=top)
        .select_related("question")
        .order_by("question__order")
    )
    characteristics = list(response.product.characteristics.all())
    for answer in answers:
        raised = dict(tallies[response.pk])
        tally = raised[current.binding_area]
        raised[current.binding_area] = tally._replace(total=tally.total + top - answer.value)
        better = rules.score(shape.rule, raised)
        exercised = set(answer.question.capabilities)
        steps.append(
            Step(
                answer.question.key,
                answer.value,
                better.overall - current.overall,
                tuple(c for c in characteristics if exercised & RECOMMENDED.get(c.key, set())),
            )
        )
    steps.sort(key=lambda step: (step.lift <= 0, not step.recommended_for, -step.lift))
    return steps[:limit]
