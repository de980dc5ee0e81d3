"""Import a past round's answers from CSV (the answers export format), all or nothing.

Every row is checked before anything is written; any problem (unknown product or question,
value off the scale, N/A where not allowed or without a reason, a duplicate, a missing
column, bad encoding, a NUL character, an empty file, an incomplete product) is reported with
its line, value and reason, and nothing is written. Imported responses are submitted
responses of the round. A product that already has the same answers in the round is
skipped, so importing a file twice changes nothing; a product with different answers there
is refused. Text cells the export kept from being read as formulas (an apostrophe before a
leading `=`, `+`, `-`, `@`, tab or carriage return) are read back as they were, so export
then import is exact.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.text import slugify

from apps.accounts.models import Team
from apps.exchange.exports import text_cell
from apps.products.models import Product
from apps.rubrics.models import Question, ScaleLevel
from apps.surveys.models import Answer, Response, SurveyRound
from apps.surveys.services import (
    AnswerError,
    ImportedAnswer,
    check_answer,
    import_submitted_responses,
)

REQUIRED = ("round", "product", "area", "question", "value", "not_applicable", "evidence")
OPTIONAL = (
    *("evidence_url", "product_name", "team", "not_applicable_reason", "carried_over_from"),
    "question_number",  # the number: a check
)
NUMERIC = ("value",)  # written as they are by the export; the other columns are text
TRUE, FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}
IMPORTED_TEAM = ("imported", "Imported products")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        shown = f" {self.value!r}" if self.value else ""
        return f"{where}:{shown} {self.reason}"


class ImportRefused(Exception):
    """The file was not imported; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass
class ImportResult:
    responses: int = 0
    answers: int = 0
    products_created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    question: Question
    value: Decimal | None
    not_applicable: bool
    evidence: str
    evidence_url: str
    not_applicable_reason: str = ""


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRefused(
            [
                Problem(
                    line, "", "", f"not UTF-8 text (byte 0x{data[error.start]:02x}); save as UTF-8"
                )
            ]
        ) from None


def _records(text: str):
    """(first line number, row dict) per CSV record, after checking the header."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    problems = [Problem(1, name, "", "missing column") for name in missing]
    problems += [
        Problem(1, name, "", f"unknown column (expected {', '.join(REQUIRED + OPTIONAL)})")
        for name in unknown
    ]
    if len(set(header)) != len(header):
        problems.append(Problem(1, "", "", "a column name is repeated"))
    if problems:
        raise ImportRefused(problems)
    line = 2
    try:
        for record in reader:
            yield line, record
            line = reader.line_num + 1
    except csv.Error as error:
        raise ImportRefused([Problem(reader.line_num, "", "", f"not valid CSV: {error}")]) from None


@dataclass
class _Parsed:
    """What the file says, row by row, and every problem found so far."""

    rows: dict[str, dict[str, _Row]] = field(default_factory=lambda: defaultdict(dict))
    new_products: dict[str, dict[str, str]] = field(default_factory=dict)
    # question keys per product, bad rows included (a product is complete if it tried all)
    attempted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    problems: list[Problem] = field(default_factory=list)


def import_answers(
    *, survey_round: SurveyRound, data: bytes, create_products: bool = False, user=None
) -> ImportResult:
    """Validate the whole file, then write it in one transaction (or nothing at all)."""
    text = _decode(data)
    if not text.strip():
        raise ImportRefused([Problem(1, "", "", "the file is empty")])
    version = survey_round.rubric_version
    questions = {q.key: q for q in Question.objects.filter(version=version).select_related("area")}
    products = {p.slug: p for p in Product.objects.all()}
    parsed = _parse(text, survey_round, questions, products, create_products)
    _check_complete(parsed, questions)
    unchanged = _check_existing(parsed, survey_round, products)
    if parsed.problems:
        raise ImportRefused(sorted(parsed.problems, key=lambda p: p.line))
    return _write(survey_round, parsed.rows, products, parsed.new_products, unchanged, user)


def _parse(text, survey_round, questions, products, create_products: bool) -> _Parsed:
    """Every row checked on its own: columns, round, question, value, product."""
    scale = set(
        ScaleLevel.objects.filter(version=survey_round.rubric_version).values_list(
            "value", flat=True
        )
    )
    parsed = _Parsed()
    problems = parsed.problems
    for line, record in _records(text):
        if None in record or any(value is None for value in record.values()):
            problems.append(Problem(line, "", "", "wrong number of fields on this row"))
            continue
        record = _text_restored(record)
        slug = record["product"].strip()
        parsed.attempted[slug].add(record["question"].strip())
        if _nul_problems(line, record, problems):
            continue
        row = _check_row(line, record, survey_round, questions, scale, problems)
        if slug not in products and slug not in parsed.new_products:
            if not create_products:
                problems.append(
                    Problem(line, "product", slug, "unknown product (use --create-products)")
                )
                continue
            if not slug or slugify(slug) != slug:
                problems.append(Problem(line, "product", slug, "not a valid product slug"))
                continue
            parsed.new_products[slug] = {
                "name": record.get("product_name", "").strip() or slug,
                "team": record.get("team", "").strip(),
            }
        if row is None:
            continue
        answered = parsed.rows[slug]
        if row.question.key in answered:
            first = answered[row.question.key].line
            problems.append(
                Problem(line, "question", row.question.key, f"duplicate of line {first}")
            )
            continue
        answered[row.question.key] = row
    if not parsed.rows and not problems:
        problems.append(Problem(1, "", "", "the file has a header but no answers"))
    return parsed


def _text_restored(record: dict[str, str]) -> dict[str, str]:
    """The row's text cells without the apostrophe the export put before a formula character
    (`=HYPERLINK(...)` is written `'=HYPERLINK(...)`), so export then import is exact."""
    return {name: value if name in NUMERIC else text_cell(value) for name, value in record.items()}


def _nul_problems(line: int, record: dict[str, str], problems: list[Problem]) -> bool:
    """Report each cell holding a NUL character (no database text can store one)."""
    found = [
        Problem(line, column, value, "contains a NUL character (\\x00)")
        for column, value in record.items()
        if "\x00" in value
    ]
    problems.extend(found)
    return bool(found)


def _check_complete(parsed: _Parsed, questions: dict[str, Question]) -> None:
    """Each product answers every question of the version (a submitted response)."""
    for slug, answered in parsed.rows.items():
        missing = [key for key in questions if key not in parsed.attempted[slug]]
        if missing:
            last = max(row.line for row in answered.values())
            parsed.problems.append(
                Problem(
                    last, "product", slug, f"not every question is answered: {', '.join(missing)}"
                )
            )


def _check_existing(parsed: _Parsed, survey_round: SurveyRound, products) -> list[str]:
    """Products already answered in the round: the same answers are skipped (the slugs
    returned), different ones are a problem."""
    rows = parsed.rows
    existing = _existing_answers(survey_round, [s for s in rows if s in products])
    unchanged = []
    for slug, answered in rows.items():
        if slug not in existing:
            continue
        if existing[slug] == {k: _comparable(r) for k, r in answered.items()}:
            unchanged.append(slug)
        else:
            first = min(row.line for row in answered.values())
            parsed.problems.append(
                Problem(first, "product", slug, "already has different answers in this round")
            )
    return unchanged


def _check_row(line, record, survey_round, questions, scale, problems) -> _Row | None:
    count = len(problems)
    if record["round"].strip() != survey_round.key:
        problems.append(
            Problem(
                line, "round", record["round"], f"this file is imported into {survey_round.key}"
            )
        )
    key = record["question"].strip()
    question = questions.get(key)
    if question is None:
        problems.append(
            Problem(line, "question", key, f"not a question of {survey_round.rubric_version}")
        )
    elif record["area"].strip() != question.area.key:
        problems.append(
            Problem(line, "area", record["area"], f"{key} belongs to area {question.area.key}")
        )
    elif (number := record.get("question_number", "").strip()) and number != question.number:
        # Written by the export for people; a file edited by hand must still agree with it.
        problems.append(Problem(line, "question_number", number, f"{key} is {question.number}"))
    flag = record["not_applicable"].strip().lower()
    if flag not in TRUE | FALSE:
        problems.append(Problem(line, "not_applicable", flag, "expected true or false"))
    not_applicable = flag in TRUE
    raw = record["value"].strip()
    value = None
    if raw or flag in FALSE:
        try:
            value = Decimal(raw)
        except InvalidOperation:
            problems.append(Problem(line, "value", raw, "expected a number (or not_applicable)"))
    url = record.get("evidence_url", "").strip()
    reason = record.get("not_applicable_reason", "").strip()
    carried = record.get("carried_over_from", "").strip()
    if carried:  # imported responses are submitted: every answer in them is confirmed
        problems.append(
            Problem(
                line,
                "carried_over_from",
                carried,
                "an imported answer is submitted, so it cannot be an unconfirmed carried-over "
                "answer: leave this column blank",
            )
        )
    if reason and flag in FALSE:
        problems.append(
            Problem(line, "not_applicable_reason", reason, "a reason is only for an N/A answer")
        )
    if len(problems) > count or question is None:
        return None
    try:
        check_answer(
            question=question,
            levels=scale,
            value=value,
            not_applicable=not_applicable,
            not_applicable_reason=reason,
            evidence_url=url,
        )
    except AnswerError as error:  # the same rules as an answer saved on the page
        shown = {"value": raw, "not_applicable": flag, "evidence_url": url}.get(error.field, "")
        problems.append(Problem(line, error.field, shown, str(error)))
        return None
    return _Row(line, question, value, not_applicable, record["evidence"], url, reason)


def _comparable(row: _Row) -> tuple:
    value = None if row.value is None else row.value.normalize()
    return value, row.not_applicable, row.evidence, row.evidence_url, row.not_applicable_reason


def _existing_answers(survey_round: SurveyRound, slugs: list[str]) -> dict[str, dict]:
    """Answers already in the round for these products: {slug: {question: comparable}}."""
    existing: dict[str, dict] = {}
    responses = Response.objects.filter(round=survey_round, product__slug__in=slugs)
    for slug in responses.values_list("product__slug", flat=True):
        existing[slug] = {}
    for slug, key, value, na, evidence, url, reason in Answer.objects.filter(
        response__in=responses
    ).values_list(
        "response__product__slug",
        "question__key",
        "value",
        "not_applicable",
        "evidence",
        "evidence_url",
        "not_applicable_reason",
    ):
        normal = None if value is None else value.normalize()
        existing[slug][key] = (normal, na, evidence, url, reason)
    return existing


def _write(survey_round, rows, products, new_products, unchanged, user) -> ImportResult:
    """Create the new products, then store the responses through the surveys service (which
    gives every answer its history row and queues the round's scoring), all in one
    transaction."""
    result = ImportResult(unchanged=sorted(unchanged))
    with transaction.atomic():
        for slug, details in sorted(new_products.items()):
            products[slug] = Product.objects.create(
                slug=slug,
                name=details["name"][:200],
                team=_team(details["team"]),
                active_from=survey_round.opens_at.date(),
            )
            result.products_created.append(slug)
        answers = {
            products[slug]: [
                ImportedAnswer(
                    row.question,
                    row.value,
                    row.not_applicable,
                    row.evidence,
                    row.evidence_url,
                    row.not_applicable_reason,
                )
                for row in rows[slug].values()
            ]
            for slug in sorted(rows)
            if slug not in unchanged
        }
        responses = import_submitted_responses(
            survey_round=survey_round, answers=answers, user=user
        )
        result.responses = len(responses)
        result.answers = sum(len(answered) for answered in answers.values())
    return result


def _team(name: str) -> Team:
    """The team named (by slug or name) in the file, created if new; a default one if blank."""
    slug, title = (slugify(name)[:64], name[:200]) if name else IMPORTED_TEAM
    team = Team.objects.filter(slug=name).first() or Team.objects.filter(name=name).first()
    return team or Team.objects.get_or_create(slug=slug, defaults={"name": title})[0]
