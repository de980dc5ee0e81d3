"""Read queries for rubric content."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch

from apps.rubrics.models import Area, Criterion, Question, RubricVersion
from apps.rubrics.rubric_file import AreaSpec, BandSpec, LevelSpec, QuestionSpec, RubricSpec, Text


def _text(obj, field: str) -> Text:
    return Text(en=getattr(obj, f"{field}_en"), ja=getattr(obj, f"{field}_ja"))


def _optional_text(obj, field: str) -> Text | None:
    return _text(obj, field) if getattr(obj, f"{field}_en") else None


def spec_from_version(version: RubricVersion) -> RubricSpec:
    """The content of a stored version as a RubricSpec (what export_rubric writes), in 5 queries."""
    version = (
        RubricVersion.objects.select_related("rubric")
        .prefetch_related(
            "levels",
            "bands",
            Prefetch(
                "areas",
                queryset=Area.objects.order_by("order").prefetch_related(
                    Prefetch(
                        "questions",
                        queryset=Question.objects.order_by("order").prefetch_related(
                            Prefetch(
                                "criteria",
                                queryset=Criterion.objects.select_related("level").order_by(
                                    "level__order"
                                ),
                            )
                        ),
                    )
                ),
            ),
        )
        .get(pk=version.pk)
    )
    return RubricSpec(
        rubric=version.rubric.slug,
        name=_text(version.rubric, "name"),
        version=version.label,
        scale=tuple(
            LevelSpec(value=level.value, label=_text(level, "label"))
            for level in version.levels.all()
        ),
        area_aggregation=version.area_aggregation,
        not_applicable_policy=version.not_applicable_policy,
        overall_rule=version.overall_rule,
        bands=tuple(
            BandSpec(max=band.upper_bound, label=_text(band, "label"))
            for band in version.bands.all()
        ),
        areas=tuple(
            AreaSpec(
                key=area.key,
                title=_text(area, "title"),
                questions=tuple(
                    QuestionSpec(
                        key=question.key,
                        text=_text(question, "text"),
                        criteria=tuple(_text(c, "text") for c in question.criteria.all()),
                        guidance=_optional_text(question, "guidance"),
                        capabilities=tuple(question.capabilities),
                        not_applicable=_optional_text(question, "na_criterion"),
                    )
                    for question in area.questions.all()
                ),
            )
            for area in version.areas.all()
        ),
    )


@dataclass(frozen=True)
class AnswerRules:
    """What an answer to a version may be: one of its questions (by key), a value of its
    scale."""

    questions: Mapping[str, Question]
    levels: frozenset[Decimal]


# Published versions never change (models and triggers refuse it), so their rules are kept
# per process: saving an answer, the busiest write, then reads no rubric row. The key holds
# the publication time too, so a version id reused after a rollback (tests on SQLite) misses.
_published_rules: dict[tuple[int, datetime], AnswerRules] = {}
_PUBLISHED_RULES_KEPT = 64


def answer_rules(version: RubricVersion) -> AnswerRules:
    """The version's questions by key and its scale's values: two queries, none for a
    published version already read by this process."""
    key = (version.pk, version.published_at)
    if version.is_published and key in _published_rules:
        return _published_rules[key]
    rules = AnswerRules(
        questions={question.key: question for question in version.questions.order_by()},
        levels=frozenset(version.levels.order_by().values_list("value", flat=True)),
    )
    if version.is_published:
        if len(_published_rules) >= _PUBLISHED_RULES_KEPT:
            _published_rules.clear()
        _published_rules[key] = rules
    return rules
