"""Streaming CSV exports of round results, answers and trends (RFC 4180, UTF-8, optional BOM).

Each export is a generator of encoded chunks read from the database in batches, so memory
stays flat however large the round; the numbers come from the stored score rows. Every export
goes through `stream`, which keeps text cells from being read as formulas (`cell`). On
PostgreSQL the two large ones (`answer_csv`, `result_csv`) let the database write the same
bytes instead (apps/exchange/database_csv.py).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.http import StreamingHttpResponse

from apps.exchange import database_csv
from apps.exchange.database_csv import Constant, IsoTimestamp, copy_csv
from apps.rubrics.models import Area, question_number, question_number_expression
from apps.scoring import cohort
from apps.scoring.aggregates import not_applicable_share
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.surveys.models import Answer, Response, SurveyRound
from apps.surveys.selectors import active_products, describe_laggards, round_laggards

BOM = "\ufeff"
CHUNK = 2000


class _Line:
    """A file-like object whose write() returns the line, for csv.writer (Django docs)."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet takes a cell starting with one of these for a formula (OWASP, "CSV
# injection"): `=HYPERLINK(...)` in an evidence text would run when the file is opened.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Number(str):
    """A number's text in a numeric column (a score, a mean): written as it is, so a negative
    number stays a number. Every other text cell is neutralised."""

    __slots__ = ()


def number(value: Decimal | None) -> Number:
    """A decimal with up to 4 places and no trailing zeros ('' for none)."""
    if value is None:
        return Number("")
    text = format(value.quantize(Decimal("0.0001")).normalize(), "f")
    return Number("0" if text in ("-0", "") else text)


def _formula_like(text: str) -> bool:
    """Whether a text starts with a formula character, after any apostrophes."""
    return text.lstrip("'").startswith(FORMULA_START)


def cell(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula, prefixed with an apostrophe
    (which it shows as text); a text already starting with apostrophes before such a
    character gets one more, so the import's `text_cell` gives back exactly what was there.
    Numbers (int, Number) are left as they are."""
    if isinstance(value, str) and not isinstance(value, Number) and _formula_like(value):
        return "'" + value
    return value


def text_cell(text: str) -> str:
    """A text cell as it was before `cell` neutralised it (one leading apostrophe fewer)."""
    return text[1:] if text.startswith("'") and _formula_like(text) else text


def stream(rows: Iterable[list], *, bom: bool) -> Iterator[bytes]:
    """Encode rows as CSV lines (CRLF, minimal quoting as RFC 4180), UTF-8, with a BOM if asked;
    text cells that a spreadsheet would read as a formula neutralised (`cell`)."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    buffer: list[str] = [BOM] if bom else []
    for row in rows:
        buffer.append(writer.writerow([cell(value) for value in row]))
        if len(buffer) >= 500:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()


def write(chunks: Iterable[bytes], output: Path | None, stdout) -> None:
    """Write an export to a file, or as bytes to the binary stream under a command's stdout
    (so the file is UTF-8 whatever the terminal's locale)."""
    if output:
        with output.open("wb") as target:
            target.writelines(chunks)
        return
    target = stdout._out.buffer
    target.writelines(chunks)
    target.flush()


def download(chunks: Iterable[bytes], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download (written with a BOM, for Excel), for the pages and the API
    alike."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def round_areas(survey_round: SurveyRound) -> list[str]:
    """The keys of the round's areas, in rubric order."""
    return list(
        Area.objects.filter(version_id=survey_round.rubric_version_id)
        .order_by("order")
        .values_list("key", flat=True)
    )


def formatted_by_database() -> bool:
    """Whether the database writes the large exports' CSV itself (PostgreSQL's COPY)."""
    return connection.vendor == "postgresql"


def result_csv(
    survey_round: SurveyRound, products: QuerySet | None = None, *, bom: bool
) -> Iterator[bytes]:
    """The results export (`result_rows`) as CSV bytes."""
    if not formatted_by_database():
        yield from stream(result_rows(survey_round, products), bom=bom)
        return
    areas = round_areas(survey_round)
    yield from stream([_result_header(areas)], bom=bom)
    key, rubric, label = (
        Constant(cell(text))
        for text in (
            survey_round.key,
            survey_round.rubric_version.rubric.slug,
            survey_round.rubric_version.label,
        )
    )
    # each area's score, then its N/A count (NULL, written empty, when not scored)
    scores = (
        database_csv.Number(KeyTextTransform(area, json_field))
        for area in areas
        for json_field in ("score__area_scores", "score__area_not_applicable")
    )
    yield from copy_csv(
        _responses(survey_round, products).values_list(
            key,
            *map(database_csv.cell, ("product__slug", "product__name", "product__team__name")),
            database_csv.cell("status"),
            IsoTimestamp(F("submitted_at")),
            rubric,
            label,
            *scores,
            database_csv.Number(F("score__overall")),
            database_csv.cell("score__band__label_en"),
        )
    )
    yield from copy_csv(
        _not_started(survey_round, products).values_list(
            key,
            *map(database_csv.cell, ("slug", "name", "team__name")),
            Constant("not_started"),
            Constant(""),
            rubric,
            label,
            *(Constant("") for _blank in range(2 * len(areas) + 2)),
        )
    )


def result_rows(survey_round: SurveyRound, products: QuerySet | None = None) -> Iterator[list]:
    """Header, then one row per product of the round: every response, then every product that
    was active when the round opened but has not started."""
    areas = round_areas(survey_round)
    yield _result_header(areas)
    yield from _response_rows(survey_round, areas, products)
    yield from _not_started_rows(survey_round, areas, products)


def _result_header(areas: list[str]) -> list[str]:
    return [
        "round",
        "product",
        "product_name",
        "team",
        "status",
        "submitted_at",
        "rubric",
        "rubric_version",
        # each area's score, then how many of its questions were answered N/A
        *(column for key in areas for column in (f"area_{key}", f"na_{key}")),
        "overall",
        "band",
    ]


def _responses(survey_round: SurveyRound, products: QuerySet | None) -> QuerySet:
    """The round's responses (of `products`, if given), by product."""
    responses = Response.objects.filter(round=survey_round)
    if products is not None:
        responses = responses.filter(product__in=products)
    return responses.order_by("product__slug")


def _not_started(survey_round: SurveyRound, products: QuerySet | None) -> QuerySet:
    """The products active when the round opened (of `products`, if given) that have no
    response in it, by slug: the same products as the laggards and the rates."""
    not_started = (
        active_products(survey_round).exclude(responses__round=survey_round).order_by("slug")
    )
    if products is not None:
        not_started = not_started.filter(pk__in=products)
    return not_started


def _response_rows(
    survey_round: SurveyRound, areas: list[str], products: QuerySet | None
) -> Iterator[list]:
    """A results row per response of the round (its scores, if it has been scored)."""
    scores = {
        row[0]: row[1:]
        for row in ResponseScore.objects.filter(round=survey_round)
        .values_list(
            "response_id", "area_scores", "area_not_applicable", "overall", "band__label_en"
        )
        .iterator(chunk_size=CHUNK)
    }
    version = survey_round.rubric_version
    for pk, slug, name, team, status, submitted_at in (
        _responses(survey_round, products)
        .values_list(
            "pk", "product__slug", "product__name", "product__team__name", "status", "submitted_at"
        )
        .iterator(chunk_size=CHUNK)
    ):
        area_scores, not_applicable, overall, band = scores.get(pk, ({}, {}, None, ""))
        yield [
            survey_round.key,
            slug,
            name,
            team,
            status,
            submitted_at.isoformat() if submitted_at else "",
            version.rubric.slug,
            version.label,
            *(
                cell
                for key in areas
                for cell in (
                    number(_decimal(area_scores.get(key))),
                    not_applicable.get(key, "") if key in area_scores else "",
                )
            ),
            number(overall),
            band or "",
        ]


def _not_started_rows(
    survey_round: SurveyRound, areas: list[str], products: QuerySet | None
) -> Iterator[list]:
    """A results row per product active when the round opened that has no response in it."""
    not_started = _not_started(survey_round, products).values_list("slug", "name", "team__name")
    version = survey_round.rubric_version
    blanks = [""] * (2 * len(areas) + 2)
    for slug, name, team in not_started.iterator(chunk_size=CHUNK):
        yield [
            survey_round.key,
            slug,
            name,
            team,
            "not_started",
            "",
            version.rubric.slug,
            version.label,
            *blanks,
        ]


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# The documented columns, then extras that import_answers reads back (the URL, the
# product's name and team, used when an import creates the product, the N/A reason, and the
# round a carried-over answer came from: always blank here, as a submitted response has no
# unconfirmed answer): export → import is exact.
ANSWER_HEADER = [
    *("round", "product", "area", "question", "question_number", "value", "not_applicable"),
    *("evidence", "evidence_url", "product_name", "team", "not_applicable_reason"),
    "carried_over_from",
]
ANSWER_FIELDS = [
    *("response__product__slug", "question__area__key", "question__key", "question__order"),
    *("value", "not_applicable", "evidence", "evidence_url", "response__product__name"),
    *("response__product__team__slug", "not_applicable_reason", "carried_over_from__key"),
]


def answer_csv(
    survey_round: SurveyRound, products: QuerySet | None = None, *, bom: bool
) -> Iterator[bytes]:
    """The answers export (`answer_rows`) as CSV bytes."""
    if not formatted_by_database():
        yield from stream(answer_rows(survey_round, products), bom=bom)
        return
    yield from stream([ANSWER_HEADER], bom=bom)
    slug, area, question, order, value, na, *texts = ANSWER_FIELDS
    yield from copy_csv(
        _answers(survey_round, products).values_list(
            Constant(cell(survey_round.key)),
            *map(database_csv.cell, (slug, area, question)),
            database_csv.Cell(question_number_expression(area, order)),
            database_csv.Number(F(value)),
            database_csv.boolean(na),
            *map(database_csv.cell, texts),
        )
    )


def answer_rows(survey_round: SurveyRound, products: QuerySet | None = None) -> Iterator[list]:
    """Header, then one row per answer of the round's submitted responses."""
    yield ANSWER_HEADER
    rows = _answers(survey_round, products).values_list(*ANSWER_FIELDS).iterator(chunk_size=CHUNK)
    for slug, area, question, order, value, na, *texts, carried in rows:
        yield [
            *(survey_round.key, slug, area, question, question_number(area, order)),
            *(number(value), str(na).lower(), *texts, carried or ""),
        ]


def _answers(survey_round: SurveyRound, products: QuerySet | None) -> QuerySet:
    """The answers of the round's submitted responses (of `products`, if given), by product,
    area and question."""
    answers = Answer.objects.filter(
        response__round=survey_round, response__status=Response.Status.SUBMITTED
    )
    if products is not None:
        answers = answers.filter(response__product__in=products)
    return answers.order_by("response__product__slug", "question__area__order", "question__order")


def laggard_csv(
    survey_round: SurveyRound, products: QuerySet | None = None, *, bom: bool
) -> Iterator[bytes]:
    """The laggards export (`laggard_rows`) as CSV bytes."""
    return stream(laggard_rows(survey_round, products), bom=bom)


def laggard_rows(survey_round: SurveyRound, products: QuerySet | None = None) -> Iterator[list]:
    """The round's active products not submitted yet: status, answered of total, last
    activity, team and owners (the team's members), as the round page lists them."""
    total = survey_round.rubric_version.questions.count()
    yield [
        "round",
        "product",
        "product_name",
        "team",
        "status",
        "answered",
        "questions",
        "last_activity",
        "owners",
    ]
    laggards = round_laggards(survey_round, products=products).prefetch_related("team__members")
    for start in range(0, laggards.count(), CHUNK):
        for product, status, answered, last_activity in describe_laggards(
            survey_round, laggards[start : start + CHUNK]
        ):
            owners = sorted(m.get_full_name() or m.username for m in product.team.members.all())
            yield [
                survey_round.key,
                product.slug,
                product.name,
                product.team.slug,
                status,
                answered,
                total,
                last_activity.isoformat() if last_activity else "",
                ", ".join(owners),
            ]


def trend_rows(
    rubric_id: int,
    hidden: Collection[tuple[str, str]] = (),
    cohort_from: SurveyRound | None = None,
    *,
    like_for_like: bool = False,
) -> Iterator[list]:
    """Header, then one row per round (oldest first) and population of the rubric: all
    products, and the cohort from the `cohort_from` round (the first start round when None),
    from that round on. The `hidden` points (round key, population: apps.scoring.disclosure)
    have blank n and statistics. After the original columns: the cohort's start round, the
    churn against the previous defining round (`all` rows), the share of N/A answers per
    area, and whether the row is like-for-like (scored on the questions common to every
    version: how many, and which were left out of each version, e.g. "v1: Q7 key, Q21 key |
    v2: ..."; areas without a common question are named and have blank columns)."""
    start = cohort_from or cohort.start_round(rubric_id, None)
    aggregates = list(
        RoundAggregate.objects.filter(
            Q(population=RoundAggregate.Population.ALL) | Q(cohort_from=start),
            rubric_id=rubric_id,
            like_for_like=like_for_like,
        )
        .select_related("round")
        .order_by("round__opens_at", "round__key", "population")
    )
    version_ids = list(dict.fromkeys(a.round.rubric_version_id for a in aggregates))
    keys_by_version = defaultdict(list)
    for version_id, key in (
        Area.objects.filter(version_id__in=version_ids)
        .order_by("order")
        .values_list("version_id", "key")
    ):
        keys_by_version[version_id].append(key)
    # Areas in the order they first appear, oldest version first (a revision may add areas).
    areas = list(dict.fromkeys(key for v in version_ids for key in keys_by_version[v]))
    yield [
        "round",
        "population",
        "n",
        "overall_mean",
        "overall_median",
        "overall_p25",
        "overall_p75",
        *(f"area_{key}_mean" for key in areas),
        "provisional",  # the round is still open: its figures are of the responses so far
        "cohort_from",
        *CHURN_COLUMNS,
        *(f"area_{key}_na_share" for key in areas),
        "like_for_like",
        "questions_compared",
        "left_out",
    ]
    for a in aggregates:
        compared = _compared(a)
        provisional = str(a.round.state == SurveyRound.State.OPEN).lower()
        cohort_from_key = start.key if a.population == RoundAggregate.Population.COHORT else ""
        if (a.round.key, a.population) in hidden:
            blank = ["", "", "", "", "", *("" for _key in areas)]
            churn_blank = ["" for _column in CHURN_COLUMNS]
            yield [
                a.round.key,
                a.population,
                *blank,
                provisional,
                cohort_from_key,
                *churn_blank,
                *("" for _key in areas),
                *compared,
            ]
            continue
        yield [
            a.round.key,
            a.population,
            a.n,
            number(a.mean),
            number(a.median),
            number(a.p25),
            number(a.p75),
            *(number(_decimal(a.area_means.get(key))) for key in areas),
            provisional,
            cohort_from_key,
            *(a.churn.get(field, "") for field in CHURN_FIELDS),
            *(number(not_applicable_share(a.area_not_applicable.get(key))) for key in areas),
            *compared,
        ]


def left_out_text(comparison: dict) -> str:
    """What a like-for-like comparison left out, in one cell: per version its questions
    (number in the questionnaire and key), then the areas without a common question."""
    parts = [
        f"{item['version']}: " + ", ".join(f"Q{q['number']} {q['key']}" for q in item["questions"])
        for item in comparison.get("left_out", [])
        if item["questions"]
    ]
    if comparison.get("dropped_areas"):
        parts.append("areas without a common question: " + ", ".join(comparison["dropped_areas"]))
    return " | ".join(parts)


def _compared(aggregate: RoundAggregate) -> list:
    """The like-for-like columns of a trend row."""
    if not aggregate.like_for_like:
        return ["false", "", ""]
    comparison = aggregate.comparison
    return ["true", len(comparison.get("questions", [])), left_out_text(comparison)]


# The churn columns of the trends export and the stored churn's fields they show.
CHURN_COLUMNS = ("churn_previous", "joined", "stayed", "left_retired", "left_skipped")
CHURN_FIELDS = ("previous", "joined", "stayed", "retired", "skipped")
