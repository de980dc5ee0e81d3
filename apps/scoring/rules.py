"""The scoring rules: pure functions from a rubric version's rule and one response's answers
to its area scores, overall score, band and binding area. No Django, no database.

Arithmetic is exact Decimal; stored scores keep 4 decimal places (half-even rounding), and the
overall score is computed from the rounded area scores so that what is shown adds up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Rule:
    """A rubric version's scoring rule."""

    area_aggregation: str  # "sum" | "mean"
    not_applicable: str  # "exclude" | "rescale"
    overall: str  # "min" | "mean"
    band_maxima: tuple[Decimal | None, ...]  # inclusive upper bounds; the last is None


class AreaTally(NamedTuple):
    """What one response answered in one area: enough to score it.

    (Named tuples: a round builds one per response and area, and frozen dataclasses are
    several times slower to create.)
    """

    questions: int  # questions in the area
    answered: int = 0  # answered with a value
    not_applicable: int = 0  # answered N/A
    total: Decimal = Decimal(0)  # sum of the values answered


@dataclass(frozen=True)
class Answer:
    """One answer, for building tallies (value None with not_applicable=False = unanswered)."""

    area: str
    value: Decimal | None = None
    not_applicable: bool = False


class Score(NamedTuple):
    areas: dict[str, Decimal | None]  # None: every question of the area is N/A
    overall: Decimal | None  # None: no area has a score
    band: int | None  # index into the rule's bands
    binding_area: str | None  # the lowest area, with overall = min


def quantize(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def tally(questions_per_area: dict[str, int], answers: Iterable[Answer]) -> dict[str, AreaTally]:
    """Sum answers into per-area tallies (areas in the order of `questions_per_area`)."""
    counts = {area: [0, 0, Decimal(0)] for area in questions_per_area}
    for answer in answers:
        bucket = counts[answer.area]
        if answer.not_applicable:
            bucket[1] += 1
        elif answer.value is not None:
            bucket[0] += 1
            bucket[2] += answer.value
    return {
        area: AreaTally(questions_per_area[area], answered, na, total)
        for area, (answered, na, total) in counts.items()
    }


def is_complete(tallies: dict[str, AreaTally]) -> bool:
    """Every question answered, with a value or N/A."""
    return all(map(is_area_complete, tallies.values()))


def is_area_complete(tally: AreaTally) -> bool:
    return tally.answered + tally.not_applicable == tally.questions


def area_score(rule: Rule, tally: AreaTally) -> Decimal | None:
    """One area's score, or None when all its questions are N/A."""
    if tally.answered == 0:
        return None
    if rule.area_aggregation == "mean":
        return quantize(tally.total / tally.answered)
    if rule.not_applicable == "rescale" and tally.not_applicable:
        # Scale the sum up to the whole area, so a product is not punished for questions
        # that do not apply to it: sum × questions / applicable questions.
        return quantize(tally.total * tally.questions / tally.answered)
    return quantize(tally.total)


def scaled_area_score(rule: Rule, tally: AreaTally, area_questions: int) -> Decimal | None:
    """An area's score on a subset of its questions (`tally.questions` of them, e.g. those
    common to several rubric versions) on the scale of the whole area (`area_questions`):
    a sum is scaled up by area_questions / questions, as N/A is rescaled, so the bands and
    the target keep their meaning; a mean needs no scaling."""
    value = area_score(rule, tally)
    if value is None or rule.area_aggregation == "mean" or tally.questions == area_questions:
        return value
    return quantize(value * area_questions / tally.questions)


def band_of(rule: Rule, overall: Decimal) -> int:
    """Index of the first band whose upper bound is at least `overall`."""
    for index, maximum in enumerate(rule.band_maxima):
        if maximum is None or overall <= maximum:
            return index
    return len(rule.band_maxima) - 1


def score(rule: Rule, tallies: dict[str, AreaTally]) -> Score | None:
    """Score one response; None when it is incomplete (drafts are never scored)."""
    if not is_complete(tallies):
        return None
    return combine(rule, {key: area_score(rule, t) for key, t in tallies.items()})


def combine(rule: Rule, areas: dict[str, Decimal | None]) -> Score:
    """The overall score, band and binding area of a complete response's area scores.

    (Scoring a whole round, the area scores of its few distinct tallies are computed once and
    combined per response here.)
    """
    scored = [(key, value) for key, value in areas.items() if value is not None]
    if not scored:
        return Score(areas=areas, overall=None, band=None, binding_area=None)
    # The weakest area (the first in area order on a tie) binds a min score; with a mean
    # it is still the area to work on first, so it is recorded either way.
    binding, lowest = min(scored, key=lambda item: item[1])
    if rule.overall == "min":
        overall = lowest
    else:
        overall = quantize(sum((value for _key, value in scored), Decimal(0)) / len(scored))
    return Score(areas=areas, overall=overall, band=band_of(rule, overall), binding_area=binding)
