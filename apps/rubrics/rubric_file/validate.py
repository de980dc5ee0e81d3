"""Checking a loaded rubric document into a RubricSpec, collecting every problem with its line."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from apps.rubrics.capabilities import CAPABILITIES
from apps.rubrics.rubric_file.spec import (
    AreaSpec,
    BandSpec,
    LevelSpec,
    QuestionSpec,
    RubricSpec,
    Text,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
AREA_AGGREGATIONS = ("sum", "mean")
NOT_APPLICABLE_POLICIES = ("exclude", "rescale")
OVERALL_RULES = ("min", "mean")
MAX_SCORE = Decimal("100000")  # the database keeps 9 digits with 4 decimal places
MAX_TEXT_LENGTH = 10_000  # a question, its guidance or a criterion: a few paragraphs at most
MISSING = object()  # a required key that is absent: already reported by Checker.mapping


class ScoringRule(NamedTuple):
    area: str
    not_applicable: str
    overall: str


def join_path(path: str, key: str | int) -> str:
    """The document path of `key` inside `path`, e.g. ``areas[0]`` or ``areas[0].key``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f'the boolean {str(value).lower()} (quote it if you meant text, e.g. "Yes")'
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


class Checker:
    """Collects problems while turning a loaded document into a RubricSpec."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:  # the nearest enclosing value with a line
            parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe)
            probe = "" if parent == probe else parent
        line = self.lines.get(probe)
        where = ", ".join(part for part in (f"line {line}" if line else "", path) if part)
        self.problems.append(f"{where or 'the file'}: {message}")

    # -- generic shapes --

    def mapping(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict | None:
        if value is MISSING:
            return None
        if not isinstance(value, dict):
            self.fail(
                path, f"expected a mapping with {', '.join(required)}, got {_describe(value)}"
            )
            return None
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                self.fail(
                    join_path(path, str(key)),
                    f"unknown key '{key}' (allowed: {', '.join(allowed)})",
                )
        for key in required:
            if key not in value:
                self.fail(path, f"missing key '{key}'")
        return value

    def sequence(self, value: Any, path: str, what: str, minimum: int = 1) -> list:
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.fail(path, f"expected a list of {what}, got {_describe(value)}")
            return []
        if len(value) < minimum:
            self.fail(path, f"needs at least {minimum} {what}, got {len(value)}")
        return value

    def text(self, value: Any, path: str, max_length: int = MAX_TEXT_LENGTH) -> Text | None:
        if value is MISSING:
            return None
        if isinstance(value, str):
            text = Text(en=value.strip())
        elif isinstance(value, dict):
            if self.mapping(value, path, ("en",), ("ja",)) is None or "en" not in value:
                return None
            en, ja = value["en"], value.get("ja", "")
            for lang, part in (("en", en), ("ja", ja)):
                if not isinstance(part, str):
                    self.fail(join_path(path, lang), f"expected text, got {_describe(part)}")
                    return None
            text = Text(en=en.strip(), ja=ja.strip())
        else:
            self.fail(
                path, f"expected text (a string or {{en: ..., ja: ...}}), got {_describe(value)}"
            )
            return None
        if not text.en:
            self.fail(path, "the English text is empty")
            return None
        if max(len(text.en), len(text.ja)) > max_length:
            self.fail(path, f"longer than {max_length} characters")
            return None
        return text

    def slug(self, value: Any, path: str, max_length: int) -> str | None:
        if value is MISSING:
            return None
        if not isinstance(value, str) or not SLUG.match(value):
            self.fail(
                path,
                f"expected a key of lowercase letters, digits and hyphens, got {_describe(value)}",
            )
            return None
        if len(value) > max_length:
            self.fail(path, f"longer than {max_length} characters")
            return None
        return value

    def unique_key(
        self, item: dict, path: str, max_length: int, seen: dict[str, str], what: str
    ) -> str | None:
        """The `key` of the area or question at `path`, if valid and not already in `seen`."""
        key = self.slug(item.get("key", MISSING), join_path(path, "key"), max_length)
        if key is None:
            return None
        if key in seen:
            self.fail(join_path(path, "key"), f"duplicate {what} key '{key}' (also {seen[key]})")
            return None
        seen[key] = path
        return key

    def number(self, value: Any, path: str) -> Decimal | None:
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {_describe(value)}")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0 or number >= MAX_SCORE:
            self.fail(path, f"expected a number from 0 to {MAX_SCORE}, got {value}")
            return None
        if number.as_tuple().exponent < -4:
            self.fail(path, f"{value} has more than 4 decimal places")
            return None
        return number

    def choice(self, value: Any, path: str, options: tuple[str, ...]) -> str | None:
        if value is MISSING:
            return None
        if value not in options:
            self.fail(path, f"expected one of {', '.join(options)}, got {_describe(value)}")
            return None
        return value

    # -- the rubric --

    def rubric(self, document: Any) -> RubricSpec | None:
        root = self.mapping(
            document, "", ("rubric", "name", "version", "scale", "scoring", "bands", "areas")
        )
        if root is None:
            return None
        slug = self.slug(root["rubric"], "rubric", 64) if "rubric" in root else None
        name = self.text(root["name"], "name", 200) if "name" in root else None
        version = self.version(root["version"]) if "version" in root else None
        scale = self.scale(root["scale"]) if "scale" in root else ()
        scoring = self.scoring(root["scoring"]) if "scoring" in root else None
        bands = self.bands(root["bands"]) if "bands" in root else ()
        # Criteria are counted against the levels written, valid or not, to report each once.
        raw_scale = root.get("scale")
        scale_size = len(raw_scale) if isinstance(raw_scale, list) else 0
        areas = self.areas(root["areas"], scale_size) if "areas" in root else ()
        if scale and areas:
            self.check_score_range(scale[-1].value, areas)
        if self.problems or None in (slug, name, version, scoring):
            return None
        return RubricSpec(
            rubric=slug,
            name=name,
            version=version,
            scale=scale,
            area_aggregation=scoring.area,
            not_applicable_policy=scoring.not_applicable,
            overall_rule=scoring.overall,
            bands=bands,
            areas=areas,
        )

    def check_score_range(self, top: Decimal, areas: tuple[AreaSpec, ...]) -> None:
        """An area's highest possible sum must fit the stored scores."""
        for index, area in enumerate(areas):
            if top * len(area.questions) >= MAX_SCORE:
                self.fail(
                    join_path(join_path("areas", index), "questions"),
                    f"{len(area.questions)} questions × {top} can exceed the largest score "
                    f"stored ({MAX_SCORE}); use a smaller scale",
                )

    def version(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail("version", f'expected a version label such as "2017", got {_describe(value)}')
            return None
        label = str(value).strip()
        if not label or len(label) > 50:
            self.fail("version", "the version label must have 1 to 50 characters")
            return None
        return label

    def scale(self, value: Any) -> tuple[LevelSpec, ...]:
        levels: list[LevelSpec] = []
        for index, item in enumerate(self.sequence(value, "scale", "levels", minimum=2)):
            path = join_path("scale", index)
            if self.mapping(item, path, ("value", "label")) is None:
                continue
            number = self.number(item.get("value", MISSING), join_path(path, "value"))
            label = self.text(item.get("label", MISSING), join_path(path, "label"), 200)
            if number is None or label is None:
                continue
            if levels and number <= levels[-1].value:
                problem = "repeats" if number == levels[-1].value else "is below"
                self.fail(
                    join_path(path, "value"),
                    f"{value[index]['value']} {problem} the previous level's value "
                    f"{levels[-1].value}; levels go from lowest to highest",
                )
                continue
            levels.append(LevelSpec(value=number, label=label))
        return tuple(levels)

    def scoring(self, value: Any) -> ScoringRule | None:
        rule = self.mapping(value, "scoring", ("area", "not_applicable", "overall"))
        if rule is None:
            return None
        area = self.choice(rule.get("area", MISSING), "scoring.area", AREA_AGGREGATIONS)
        na = self.choice(
            rule.get("not_applicable", MISSING), "scoring.not_applicable", NOT_APPLICABLE_POLICIES
        )
        overall = self.choice(rule.get("overall", MISSING), "scoring.overall", OVERALL_RULES)
        if na == "rescale" and area == "mean":
            self.fail(
                "scoring.not_applicable",
                "rescale only applies to area: sum (a mean already ignores N/A answers)",
            )
            return None
        if None in (area, na, overall):
            return None
        return ScoringRule(area=area, not_applicable=na, overall=overall)

    def bands(self, value: Any) -> tuple[BandSpec, ...]:
        items = self.sequence(value, "bands", "bands")
        bands: list[BandSpec] = []
        for index, item in enumerate(items):
            path = join_path("bands", index)
            if self.mapping(item, path, ("label",), ("max",)) is None:
                continue
            label = self.text(item.get("label", MISSING), join_path(path, "label"), 300)
            if index == len(items) - 1:
                if "max" in item:
                    self.fail(join_path(path, "max"), "the last band is open-ended: remove its max")
                    continue
                upper = None
            else:
                # Only the last band is open-ended, so every band before this one has a max.
                upper = self.band_max(item, path, bands[-1].max if bands else None)
                if upper is None:
                    continue
            if label is not None:
                bands.append(BandSpec(max=upper, label=label))
        return tuple(bands)

    def band_max(self, item: dict, path: str, previous: Decimal | None) -> Decimal | None:
        """The upper bound of a band before the last: required, and above the previous one."""
        if "max" not in item:
            self.fail(path, "missing key 'max' (only the last band is open-ended)")
            return None
        upper = self.number(item["max"], join_path(path, "max"))
        if upper is None:
            return None
        if previous is not None and upper <= previous:
            self.fail(
                join_path(path, "max"),
                f"{item['max']} is not above the previous band's max {previous}",
            )
            return None
        return upper

    def areas(self, value: Any, scale_size: int) -> tuple[AreaSpec, ...]:
        areas: list[AreaSpec] = []
        area_keys: dict[str, str] = {}
        question_keys: dict[str, str] = {}  # question keys are unique across the whole rubric
        for index, item in enumerate(self.sequence(value, "areas", "areas")):
            area = self.area(item, join_path("areas", index), scale_size, area_keys, question_keys)
            if area is not None:
                areas.append(area)
        return tuple(areas)

    def area(
        self,
        value: Any,
        path: str,
        scale_size: int,
        area_keys: dict[str, str],
        question_keys: dict[str, str],
    ) -> AreaSpec | None:
        item = self.mapping(value, path, ("key", "title", "questions"))
        if item is None:
            return None
        key = self.unique_key(item, path, 64, area_keys, "area")
        title = self.text(item.get("title", MISSING), join_path(path, "title"), 200)
        questions_path = join_path(path, "questions")
        questions = []
        raw_questions = self.sequence(item.get("questions", MISSING), questions_path, "questions")
        for index, raw in enumerate(raw_questions):
            question = self.question(
                raw, join_path(questions_path, index), scale_size, question_keys
            )
            if question is not None:
                questions.append(question)
        if key is None or title is None:
            return None
        return AreaSpec(key=key, title=title, questions=tuple(questions))

    def question(
        self, value: Any, path: str, scale_size: int, seen: dict[str, str]
    ) -> QuestionSpec | None:
        item = self.mapping(
            value,
            path,
            ("key", "text", "criteria"),
            ("guidance", "not_applicable", "capabilities"),
        )
        if item is None:
            return None
        key = self.unique_key(item, path, 100, seen, "question")
        text = self.text(item.get("text", MISSING), join_path(path, "text"))
        guidance = self.optional_text(item, path, "guidance")
        not_applicable = self.optional_text(item, path, "not_applicable")
        criteria_path = join_path(path, "criteria")
        raw_criteria = self.sequence(item.get("criteria", MISSING), criteria_path, "criteria")
        if not self.criteria_match_scale(raw_criteria, criteria_path, scale_size):
            return None
        criteria = [self.text(c, join_path(criteria_path, i)) for i, c in enumerate(raw_criteria)]
        capabilities = self.capabilities(
            item.get("capabilities", []), join_path(path, "capabilities")
        )
        invalid_optional = ("guidance" in item and not guidance) or (
            "not_applicable" in item and not_applicable is None
        )
        if None in (key, text, capabilities) or None in criteria or invalid_optional:
            return None
        return QuestionSpec(
            key=key,
            text=text,
            criteria=tuple(criteria),
            guidance=guidance,
            not_applicable=not_applicable,
            capabilities=capabilities,
        )

    def optional_text(self, item: dict, path: str, name: str) -> Text | None:
        """The text under an optional key, or None if the key is absent (or the text invalid)."""
        return self.text(item[name], join_path(path, name)) if name in item else None

    def criteria_match_scale(self, criteria: list, path: str, scale_size: int) -> bool:
        """One criterion per level of the scale (unless either is already missing)."""
        if criteria and scale_size and len(criteria) != scale_size:
            self.fail(
                path,
                f"{len(criteria)} criteria given, but the scale has {scale_size} levels "
                "(one criterion per level, in scale order; say when N/A applies under "
                "not_applicable instead)",
            )
            return False
        return True

    def capabilities(self, value: Any, path: str) -> tuple[str, ...] | None:
        """A list of known MLOps capability keys, each once."""
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(path, "expected a list of capability keys, e.g. [model-monitoring]")
            return None
        unknown = [item for item in value if item not in CAPABILITIES]
        if unknown:
            self.fail(
                path,
                f"unknown capabilit{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))} (known: {', '.join(CAPABILITIES)})",
            )
            return None
        if len(set(value)) != len(value):
            self.fail(path, "a capability is listed twice")
            return None
        return tuple(value)
