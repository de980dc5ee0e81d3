"""Writing a RubricSpec back out as the text of a rubric file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from apps.rubrics.rubric_file.spec import QuestionSpec, RubricSpec, Text


def _text_out(text: Text) -> str | dict[str, str]:
    return {"en": text.en, "ja": text.ja} if text.ja else text.en


def _number_out(value: Decimal) -> int | float:
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _question_out(question: QuestionSpec) -> dict[str, Any]:
    document: dict[str, Any] = {"key": question.key, "text": _text_out(question.text)}
    if question.guidance:
        document["guidance"] = _text_out(question.guidance)
    document["criteria"] = [_text_out(criterion) for criterion in question.criteria]
    if question.not_applicable:
        document["not_applicable"] = _text_out(question.not_applicable)
    if question.capabilities:
        document["capabilities"] = list(question.capabilities)
    return document


def spec_to_document(spec: RubricSpec) -> dict[str, Any]:
    """The rubric file's structure for a spec (what dump_rubric writes)."""
    return {
        "rubric": spec.rubric,
        "name": _text_out(spec.name),
        "version": spec.version,
        "scale": [
            {"value": _number_out(level.value), "label": _text_out(level.label)}
            for level in spec.scale
        ],
        "scoring": {
            "area": spec.area_aggregation,
            "not_applicable": spec.not_applicable_policy,
            "overall": spec.overall_rule,
        },
        "bands": [
            {
                **({"max": _number_out(band.max)} if band.max is not None else {}),
                "label": _text_out(band.label),
            }
            for band in spec.bands
        ],
        "areas": [
            {
                "key": area.key,
                "title": _text_out(area.title),
                "questions": [_question_out(question) for question in area.questions],
            }
            for area in spec.areas
        ],
    }


def dump_rubric(spec: RubricSpec) -> str:
    """The text of a rubric file for `spec`; parse_rubric_text reads it back to an equal spec."""
    header = f"# Rubric {spec.rubric}, version {spec.version}. Format: see README, Rubric files.\n"
    body = yaml.safe_dump(
        spec_to_document(spec), sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    return header + body
