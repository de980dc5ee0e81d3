"""Read queries for scoring: a version's rule and shape, answer tallies, stored scores."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, TypeVar

from django.db import connection
from django.db.models import Count, OuterRef, Subquery

from apps.rubrics.models import Area, Band, RubricVersion, ScaleLevel
from apps.scoring.models import ResponseScore
from apps.scoring.rules import AreaTally, Rule, quantize


@dataclass(frozen=True)
class VersionShape:
    """What scoring needs to know about a rubric version (version_shape)."""

    version_id: int
    rule: Rule
    area_ids: dict[str, int]  # key → id, in area order
    questions_per_area: dict[str, int]  # key → number of questions
    band_ids: tuple[int, ...]  # band index → id
    bands: tuple[Band, ...]
    top_value: Decimal = Decimal(1)  # the scale's highest level

    @property
    def area_keys_by_id(self) -> dict[int, str]:
        return {area_id: key for key, area_id in self.area_ids.items()}


def version_shape(version: RubricVersion | int) -> VersionShape:
    """The rule, areas (with question counts) and bands of a version, in three queries (two
    given the version itself), or one (none) for a published version read before: it cannot
    change (see rubrics.models), so its shape is remembered."""
    return of_version(_PUBLISHED_SHAPES, version, _version_shape)


_PUBLISHED_SHAPES: dict[tuple, VersionShape] = {}
T = TypeVar("T")


def of_version(
    store: dict[tuple, T], version: RubricVersion | int, read: Callable[[RubricVersion], T]
) -> T:
    """`read(version)`, remembered in `store` if the version is published (see remembered),
    read every time if it is a draft; given an id, the version is read first (one query)."""
    if not isinstance(version, RubricVersion):
        version = RubricVersion.objects.get(pk=version)
    if version.state != RubricVersion.State.PUBLISHED or version.published_at is None:
        return read(version)
    return remembered(store, ((version.pk, version.published_at),), lambda: read(version))


def remembered(store: dict[tuple, T], stamp: tuple, read: Callable[[], T]) -> T:
    """What `read` gives of published versions, read once per process: a published version
    cannot change (rubrics.models refuses it). `stamp` names them by id and publication time,
    which tells a version from one that reused its id (SQLite may). A copy: callers may change
    theirs. At most 64 are kept (a rubric has a handful of versions)."""
    known = store.get(stamp)
    if known is None:
        if len(store) >= 64:
            store.clear()
        known = store[stamp] = read()
    return copy.deepcopy(known)


def _version_shape(version: RubricVersion) -> VersionShape:
    """version_shape, read: the scale's top level comes with the areas."""
    top = (
        ScaleLevel.objects.filter(version_id=OuterRef("version_id"))
        .order_by("-order")
        .values("value")[:1]
    )
    areas = list(
        Area.objects.filter(version_id=version.pk)
        .annotate(n_questions=Count("questions"), top=Subquery(top))
        .order_by("order")
    )
    if areas:
        top_value = areas[0].top
    else:  # no area to bring it: asked on its own
        top_value = (
            ScaleLevel.objects.filter(version_id=version.pk)
            .order_by("-order")
            .values_list("value", flat=True)
            .first()
        )
    bands = tuple(Band.objects.filter(version_id=version.pk).order_by("order"))
    return VersionShape(
        version_id=version.pk,
        rule=Rule(
            area_aggregation=version.area_aggregation,
            not_applicable=version.not_applicable_policy,
            overall=version.overall_rule,
            band_maxima=tuple(band.upper_bound for band in bands),
        ),
        area_ids={area.key: area.pk for area in areas},
        questions_per_area={area.key: area.n_questions for area in areas},
        band_ids=tuple(band.pk for band in bands),
        bands=bands,
        top_value=top_value or Decimal(1),
    )


# The same GROUP BY as a hand-written query would do: the scoring floor, read with a plain
# cursor (no ORM row overhead). PostgreSQL sums the numeric values exactly; SQLite would sum
# decimals as floats, so there they are summed as integer ten-thousandths.
TEN_THOUSAND = Decimal(10000)
TALLY_SQL = """
SELECT a.response_id, q.area_id, COUNT(a.value), COUNT(*) FILTER (WHERE a.not_applicable),
       {total}
  FROM surveys_answer a
  JOIN surveys_response r ON r.id = a.response_id
  JOIN rubrics_question q ON q.id = a.question_id
 WHERE r.status = 'submitted' AND {where}
 GROUP BY a.response_id, q.area_id
"""
EXACT_SUM = "SUM(a.value)"
INTEGER_SUM = "SUM(CAST(ROUND(a.value * 10000) AS INTEGER))"


class RoundTallies(NamedTuple):
    """A round's tallies, compactly: its responses repeat the same few tallies per area."""

    distinct: list[AreaTally]  # each distinct tally once; index i < len(areas): area i's empty one
    areas: list[int]  # the area (its position in the rubric) of each distinct tally
    responses: dict[int, list[int]]  # response → index into `distinct` per area, in area order


def compact_tallies(
    shape: VersionShape, *, round_id: int | None = None, response_id: int | None = None
) -> RoundTallies:
    """Per submitted response and area: answered count, N/A count and sum of the values."""
    where, params = ("r.round_id = %s", [round_id]) if round_id else ("r.id = %s", [response_id])
    exact = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            TALLY_SQL.format(where=where, total=EXACT_SUM if exact else INTEGER_SUM), params
        )
        rows = cursor.fetchall()
    position = {area_id: i for i, area_id in enumerate(shape.area_ids.values())}
    distinct = [AreaTally(n) for n in shape.questions_per_area.values()]
    areas = list(range(len(distinct)))
    index: dict[tuple, tuple[int, int]] = {}  # SQL row without the response → (area, tally)
    responses: dict[int, list[int]] = {}
    empty = list(range(len(distinct)))
    for row in rows:
        tally = row[1:]
        if tally not in index:
            area_id, answered, not_applicable, total = tally
            total = Decimal(total or 0) if exact else Decimal(total or 0) / TEN_THOUSAND
            index[tally] = position[area_id], len(distinct)
            areas.append(position[area_id])
            distinct.append(
                AreaTally(distinct[position[area_id]].questions, answered, not_applicable, total)
            )
        area, found = index[tally]
        if row[0] not in responses:
            responses[row[0]] = empty.copy()
        responses[row[0]][area] = found
    return RoundTallies(distinct, areas, responses)


def answer_tallies(
    shape: VersionShape, *, round_id: int | None = None, response_id: int | None = None
) -> dict[int, dict[str, AreaTally]]:
    """Per submitted response: its tally in each area, in the rubric's area order."""
    distinct, _areas, responses = compact_tallies(shape, round_id=round_id, response_id=response_id)
    keys = list(shape.area_ids)
    return {
        response: {key: distinct[i] for key, i in zip(keys, slots, strict=True)}
        for response, slots in responses.items()
    }


def submitted_responses(round_id: int) -> list[tuple[int, int]]:
    """(response, product) of the round's submitted responses."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, product_id FROM surveys_response"
            " WHERE round_id = %s AND status = 'submitted' ORDER BY id",
            [round_id],
        )
        return cursor.fetchall()


class Outcome(NamedTuple):
    """A response's score as stored, compared with a fresh computation to write only changes."""

    area_json: str  # area key → decimal string or null, as PostgreSQL prints the jsonb
    overall: Decimal | None
    band_id: int | None
    binding_area_id: int | None
    not_applicable_json: str  # area key → N/A count, as PostgreSQL prints the jsonb


def stored_outcomes(round_id: int, shape: VersionShape) -> dict[int, tuple]:
    """The round's stored scores as response → (product, outcome), comparable with freshly
    computed rows. A row stored under another version or rule compares unequal."""
    rule = shape.rule
    current = (shape.version_id, rule.area_aggregation, rule.not_applicable, rule.overall)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT response_id, product_id, CAST(area_scores AS TEXT), overall, band_id,"
            " binding_area_id, CAST(area_not_applicable AS TEXT), rubric_version_id,"
            " area_aggregation, not_applicable_policy, overall_rule"
            " FROM scoring_responsescore WHERE round_id = %s",
            [round_id],
        )
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        rows = [_as_on_postgresql(row) for row in rows]
    return {row[0]: (row[1] if row[7:] == current else None, Outcome(*row[2:7])) for row in rows}


def jsonb_text(area_values: dict[str, object]) -> str:
    """An area-keyed object as PostgreSQL prints a jsonb: keys shortest first, then bytewise."""
    keys = sorted(area_values, key=lambda key: (len(key.encode()), key.encode()))
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(area_values[k])}" for k in keys) + "}"


def _as_on_postgresql(row: tuple) -> tuple:
    """A stored score row read from SQLite, with the values PostgreSQL would give: SQLite
    keeps the JSON text as written (keys in area order) and returns decimals as floats, so
    the row is compared by value, not by its text."""
    overall = row[3]
    if overall is not None:
        overall = quantize(Decimal(repr(overall)))
    not_applicable = jsonb_text(json.loads(row[6]))
    return (*row[:2], jsonb_text(json.loads(row[2])), overall, *row[4:6], not_applicable, *row[7:])


def areas_with_maxima(version: RubricVersion | int) -> list[Area]:
    """The version's areas in order, each with `maximum`, its highest possible score under
    the rule (the number after the slash in "4.08 / 7"), in one query (two given an id), or
    none for a published version read before (remembered, as version_shape): with a sum,
    questions × the top level (a rescaled sum reaches it too); with a mean, the top level."""
    return of_version(_PUBLISHED_AREAS, version, _areas_with_maxima)


_PUBLISHED_AREAS: dict[tuple, list[Area]] = {}


def _areas_with_maxima(version: RubricVersion) -> list[Area]:
    """areas_with_maxima, read."""
    top = (
        ScaleLevel.objects.filter(version_id=OuterRef("version_id"))
        .order_by("-value")
        .values("value")[:1]
    )
    areas = list(
        Area.objects.filter(version_id=version.pk)
        .annotate(n_questions=Count("questions"), top=Subquery(top))
        .order_by("order")
    )
    for area in areas:
        highest = area.top if area.top is not None else Decimal(1)
        area.maximum = highest if version.area_aggregation == "mean" else highest * area.n_questions
    return areas


def area_maxima(version: RubricVersion | int) -> dict[str, Decimal]:
    """Each area's highest possible score (`areas_with_maxima`) by key."""
    return {area.key: area.maximum for area in areas_with_maxima(version)}


def response_score(response) -> ResponseScore | None:
    """A response's stored score, with its band and binding area (None if not scored)."""
    if response is None or response.pk is None:
        return None
    return (
        ResponseScore.objects.filter(response=response)
        .select_related("band", "binding_area")
        .first()
    )


def past_scores(user, limit: int = 50):
    """The user's teams' scored responses in closed rounds, newest first."""
    return (
        ResponseScore.objects.filter(product__team__members=user, round__state="closed")
        .select_related("round", "product", "band")
        .order_by("-round__opens_at", "product__name")[:limit]
    )
