"""The specs a valid rubric file describes (a frozen RubricSpec tree) and RubricFileError."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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
