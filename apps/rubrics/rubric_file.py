"""The rubric file format (YAML): parse and validate it into a RubricSpec, and write one back.

A rubric file is reviewed like code, so every problem is reported with its line and its path
in the document (``line 42, areas[1].questions[3].criteria: …``), all at once, and nothing is
written unless the whole file is valid. See README "Rubric files" for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from apps.rubrics.capabilities import CAPABILITIES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
AREA_AGGREGATIONS = ("sum", "mean")
NOT_APPLICABLE_POLICIES = ("exclude", "rescale")
OVERALL_RULES = ("min", "mean")
MAX_SCORE = Decimal("100000")  # the database keeps 9 digits with 4 decimal places
MISSING = object()  # a required key that is absent: already reported by _Checker.mapping


class RubricFileError(Exception):
    """A rubric file that cannot be loaded; `problems` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Text:
    en: str
    ja: str = ""


@dataclass(frozen=True)
class LevelSpec:
    value: Decimal
    label: Text


@dataclass(frozen=True)
class BandSpec:
    max: Decimal | None
    label: Text


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    text: Text
    criteria: tuple[Text, ...]
    guidance: Text | None = None
    not_applicable: Text | None = None
    capabilities: tuple[str, ...] = ()  # MLOps capabilities the question exercises


@dataclass(frozen=True)
class AreaSpec:
    key: str
    title: Text
    questions: tuple[QuestionSpec, ...]


@dataclass(frozen=True)
class RubricSpec:
    rubric: str
    name: Text
    version: str
    scale: tuple[LevelSpec, ...]
    area_aggregation: str
    not_applicable_policy: str
    overall_rule: str
    bands: tuple[BandSpec, ...]
    areas: tuple[AreaSpec, ...]

    @property
    def question_count(self) -> int:
        return sum(len(area.questions) for area in self.areas)


# --- reading YAML with line numbers and duplicate-key detection -----------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that reports duplicate or non-text mapping keys instead of keeping the last
    one, and refuses aliases (a rubric is plain text, and aliases can expand without end)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.problems: list[str] = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise RubricFileError(
                [f"line {mark.line + 1}: aliases (*name) are not supported; write the text out"]
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(f"line {line}: a key must be plain text")
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                self.problems.append(
                    f"line {line}: duplicate key '{key}' (first given on line {seen[key]})"
                )
            seen[key] = line
        if any(not isinstance(k, yaml.ScalarNode) for k, _v in node.value):
            return {}
        return super().construct_mapping(node, deep=deep)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _line_map(node: yaml.Node, path: str = "", lines: dict[str, int] | None = None):
    """Map each document path (``areas[0].key``) to the line where its value starts."""
    lines = {} if lines is None else lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_map(value_node, _join(path, str(key_node.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, _join(path, index), lines)
    return lines


def parse_rubric_text(text: str) -> RubricSpec:
    """Parse and validate the text of a rubric file; raise RubricFileError listing every problem."""
    if not text.strip():
        raise RubricFileError(["the file is empty"])
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise RubricFileError(["the file is empty"])
        document = loader.construct_document(node)
        if loader.problems:
            raise RubricFileError(loader.problems)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RubricFileError([f"{where}not valid YAML: {error.problem or error}"]) from None
    except yaml.YAMLError as error:
        raise RubricFileError([f"not valid YAML: {error}"]) from None
    finally:
        loader.dispose()
    return parse_rubric_document(document, lines=_line_map(node))


def parse_rubric_document(document: Any, lines: dict[str, int] | None = None) -> RubricSpec:
    """Validate an already-loaded rubric document (a dict); raise RubricFileError if invalid."""
    checker = _Checker(lines or {})
    spec = checker.rubric(document)
    if checker.problems or spec is None:
        raise RubricFileError(checker.problems)
    return spec


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


class _Checker:
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
                    _join(path, str(key)), f"unknown key '{key}' (allowed: {', '.join(allowed)})"
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

    def text(self, value: Any, path: str, max_length: int | None = None) -> Text | None:
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
                    self.fail(_join(path, lang), f"expected text, got {_describe(part)}")
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
        if max_length is not None and max(len(text.en), len(text.ja)) > max_length:
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
        slug = self.slug(root.get("rubric", MISSING), "rubric", 64) if "rubric" in root else None
        name = self.text(root.get("name", MISSING), "name", 200) if "name" in root else None
        version = self.version(root["version"]) if "version" in root else None
        scale = self.scale(root.get("scale", MISSING)) if "scale" in root else ()
        scoring = self.scoring(root.get("scoring", MISSING)) if "scoring" in root else None
        bands = self.bands(root.get("bands", MISSING)) if "bands" in root else ()
        # Criteria are counted against the levels written, valid or not, to report each once.
        raw_scale = root.get("scale")
        scale_size = len(raw_scale) if isinstance(raw_scale, list) else 0
        areas = self.areas(root.get("areas", MISSING), scale_size) if "areas" in root else ()
        if scale and areas:
            self.check_score_range(scale[-1].value, areas)
        if self.problems or None in (slug, name, version, scoring):
            return None
        return RubricSpec(
            rubric=slug,
            name=name,
            version=version,
            scale=scale,
            area_aggregation=scoring[0],
            not_applicable_policy=scoring[1],
            overall_rule=scoring[2],
            bands=bands,
            areas=areas,
        )

    def check_score_range(self, top: Decimal, areas: tuple[AreaSpec, ...]) -> None:
        """An area's highest possible sum must fit the stored scores."""
        for index, area in enumerate(areas):
            if top * len(area.questions) >= MAX_SCORE:
                self.fail(
                    _join(_join("areas", index), "questions"),
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
            path = _join("scale", index)
            if self.mapping(item, path, ("value", "label")) is None:
                continue
            number = self.number(item.get("value", MISSING), _join(path, "value"))
            label = self.text(item.get("label", MISSING), _join(path, "label"), 200)
            if number is None or label is None:
                continue
            if levels and number <= levels[-1].value:
                problem = "repeats" if number == levels[-1].value else "is below"
                self.fail(
                    _join(path, "value"),
                    f"{value[index]['value']} {problem} the previous level's value "
                    f"{levels[-1].value}; levels go from lowest to highest",
                )
                continue
            levels.append(LevelSpec(value=number, label=label))
        return tuple(levels)

    def scoring(self, value: Any) -> tuple[str, str, str] | None:
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
        return area, na, overall

    def bands(self, value: Any) -> tuple[BandSpec, ...]:
        items = self.sequence(value, "bands", "bands")
        bands: list[BandSpec] = []
        for index, item in enumerate(items):
            path = _join("bands", index)
            last = index == len(items) - 1
            if self.mapping(item, path, ("label",), ("max",)) is None:
                continue
            label = self.text(item.get("label", MISSING), _join(path, "label"), 300)
            upper = None
            if last and "max" in item:
                self.fail(_join(path, "max"), "the last band is open-ended: remove its max")
                continue
            if not last:
                if "max" not in item:
                    self.fail(path, "missing key 'max' (only the last band is open-ended)")
                    continue
                upper = self.number(item["max"], _join(path, "max"))
                if upper is None:
                    continue
                previous = [band.max for band in bands if band.max is not None]
                if previous and upper <= previous[-1]:
                    self.fail(
                        _join(path, "max"),
                        f"{item['max']} is not above the previous band's max {previous[-1]}",
                    )
                    continue
            if label is not None:
                bands.append(BandSpec(max=upper, label=label))
        return tuple(bands)

    def areas(self, value: Any, scale_size: int) -> tuple[AreaSpec, ...]:
        areas: list[AreaSpec] = []
        area_keys: dict[str, str] = {}
        question_keys: dict[str, str] = {}
        for index, item in enumerate(self.sequence(value, "areas", "areas")):
            path = _join("areas", index)
            if self.mapping(item, path, ("key", "title", "questions")) is None:
                continue
            key = self.slug(item.get("key", MISSING), _join(path, "key"), 64)
            if key is not None and key in area_keys:
                self.fail(_join(path, "key"), f"duplicate area key '{key}' (also {area_keys[key]})")
                key = None
            elif key is not None:
                area_keys[key] = path
            title = self.text(item.get("title", MISSING), _join(path, "title"), 200)
            questions = []
            raw_questions = self.sequence(
                item.get("questions", MISSING), _join(path, "questions"), "questions"
            )
            for q_index, raw in enumerate(raw_questions):
                q_path = _join(_join(path, "questions"), q_index)
                question = self.question(raw, q_path, scale_size, question_keys)
                if question is not None:
                    questions.append(question)
            if key is not None and title is not None:
                areas.append(AreaSpec(key=key, title=title, questions=tuple(questions)))
        return tuple(areas)

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
        key = self.slug(item.get("key", MISSING), _join(path, "key"), 100)
        if key is not None and key in seen:
            self.fail(_join(path, "key"), f"duplicate question key '{key}' (also {seen[key]})")
            key = None
        elif key is not None:
            seen[key] = path
        text = self.text(item.get("text", MISSING), _join(path, "text"))
        guidance = (
            self.text(item["guidance"], _join(path, "guidance")) if "guidance" in item else None
        )
        not_applicable = None
        if "not_applicable" in item:
            not_applicable = self.text(item["not_applicable"], _join(path, "not_applicable"))
        criteria_path = _join(path, "criteria")
        raw_criteria = self.sequence(item.get("criteria", MISSING), criteria_path, "criteria")
        if raw_criteria and scale_size and len(raw_criteria) != scale_size:
            self.fail(
                criteria_path,
                f"{len(raw_criteria)} criteria given, but the scale has {scale_size} levels "
                "(one criterion per level, in scale order; say when N/A applies under "
                "not_applicable instead)",
            )
            return None
        criteria = [self.text(c, _join(criteria_path, i)) for i, c in enumerate(raw_criteria)]
        invalid_na = "not_applicable" in item and not_applicable is None
        capabilities = self.capabilities(item.get("capabilities", []), _join(path, "capabilities"))
        if key is None or text is None or None in criteria or invalid_na or capabilities is None:
            return None
        if "guidance" in item and not guidance:
            return None
        return QuestionSpec(
            key=key,
            text=text,
            criteria=tuple(criteria),
            guidance=guidance,
            not_applicable=not_applicable,
            capabilities=capabilities,
        )

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


# --- writing ------------------------------------------------------------------------------


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
