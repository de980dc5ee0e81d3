"""The score a response would get if submitted now, for the review page: the same rules as
the stored scores (rules.tally, rules.area_score, rules.combine), from the answers the page
already holds, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.rubrics.models import Area, Band, RubricVersion
from apps.scoring import rules
from apps.surveys.selectors import Review


@dataclass(frozen=True)
class AreaResult:
    area: Area
    score: Decimal | None  # None: not complete yet, or every question N/A
    complete: bool
    not_applicable: int


@dataclass(frozen=True)
class ProvisionalScore:
    areas: list[AreaResult]
    overall: Decimal | None  # None until every question is answered
    band: Band | None
    binding_area: Area | None


def rule_of(version: RubricVersion, bands: list[Band]) -> rules.Rule:
    """A version's scoring rule, with its bands (in order)."""
    return rules.Rule(
        area_aggregation=version.area_aggregation,
        not_applicable=version.not_applicable_policy,
        overall=version.overall_rule,
        band_maxima=tuple(band.upper_bound for band in bands),
    )


def provisional_score(version: RubricVersion, review: Review) -> ProvisionalScore:
    """Each complete area's score and, once every question is answered, the overall score,
    band and binding area the rules give the reviewed answers (one query: the bands)."""
    bands = list(Band.objects.filter(version=version).order_by("order"))
    rule = rule_of(version, bands)
    areas = {section["area"].key: section["area"] for section in review.areas}
    tallies = rules.tally(
        {section["area"].key: len(section["items"]) for section in review.areas},
        (
            rules.Answer(item.area.key, item.answer.value, item.answer.not_applicable)
            for section in review.areas
            for item in section["items"]
            if item.answer is not None
        ),
    )
    results = []
    for key, tally in tallies.items():
        complete = rules.is_area_complete(tally)
        value = rules.area_score(rule, tally) if complete else None
        results.append(AreaResult(areas[key], value, complete, tally.not_applicable))
    outcome = rules.score(rule, tallies)
    if outcome is None:
        return ProvisionalScore(results, None, None, None)
    return ProvisionalScore(
        results,
        outcome.overall,
        None if outcome.band is None else bands[outcome.band],
        areas.get(outcome.binding_area) if outcome.binding_area else None,
    )
