"""CSV import of past rounds: exact round trip, every kind of bad file refused with its line."""

import csv
import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.exchange.exports import answer_rows, stream
from apps.exchange.imports import ImportRefused, import_answers
from apps.products.models import Product
from apps.scoring.models import ResponseScore
from apps.surveys.models import Answer, Response
from tests.factories import ProductFactory, SurveyRoundFactory, make_version

pytestmark = pytest.mark.django_db
HEADER = "round,product,area,question,value,not_applicable,not_applicable_reason,evidence\n"
GOOD = (
    HEADER
    + '2021-10,ranker,data,data-schema,1,false,,"In CI, see ""schema.yml"""\n'
    + "2021-10,ranker,data,data-features,,true,No hand-made features,Raw images\n"
    + "2021-10,ranker,monitoring,monitoring-staleness,0.5,false,,\n"
)


@pytest.fixture
def survey_round():
    return SurveyRoundFactory(key="2021-10", rubric_version=make_version(), state="closed")


@pytest.fixture
def ranker():
    return ProductFactory(slug="ranker")


def refused(survey_round, text, **options) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ImportRefused) as caught:
        import_answers(survey_round=survey_round, data=data, **options)
    assert not Answer.objects.exists() and not Response.objects.exists()
    return [str(problem) for problem in caught.value.problems]


def test_good_file_imports_submitted_responses_and_scores_them(
    survey_round, ranker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = import_answers(survey_round=survey_round, data=GOOD.encode())
    assert (result.responses, result.answers) == (1, 3)
    response = Response.objects.get()
    assert response.status == "submitted" and response.submitted_at is not None
    schema = response.answers.get(question__key="data-schema")
    assert schema.evidence == 'In CI, see "schema.yml"'
    assert response.answers.get(question__key="data-features").not_applicable
    assert str(ResponseScore.objects.get(response=response).overall) == "0.5000"


def test_a_file_with_question_numbers_imports_and_a_wrong_number_is_named(survey_round, ranker):
    numbered = (
        "round,product,area,question,question_number,value,not_applicable,evidence,"
        "not_applicable_reason\n"
        "2021-10,ranker,data,data-schema,DATA-1,1,false,CI,\n"
        "2021-10,ranker,data,data-features,DATA-3,,true,,Raw images only\n"
        "2021-10,ranker,monitoring,monitoring-staleness,,0.5,false,,\n"
    )
    assert refused(survey_round, numbered) == [
        "line 3, question_number: 'DATA-3' data-features is DATA-2"
    ]
    result = import_answers(
        survey_round=survey_round, data=numbered.replace("DATA-3", "DATA-2").encode()
    )
    assert (result.responses, result.answers) == (1, 3)


def test_reimporting_the_same_file_is_a_no_op(survey_round, ranker):
    import_answers(survey_round=survey_round, data=GOOD.encode())
    again = import_answers(survey_round=survey_round, data=GOOD.encode())
    assert (again.responses, again.unchanged) == (0, ["ranker"])
    assert Response.objects.count() == 1 and Answer.objects.count() == 3


def test_reimporting_different_answers_is_refused(survey_round, ranker):
    import_answers(survey_round=survey_round, data=GOOD.encode())
    changed = GOOD.replace("staleness,0.5", "staleness,1")
    with pytest.raises(ImportRefused, match="already has different answers"):
        import_answers(survey_round=survey_round, data=changed.encode())
    assert Answer.objects.get(question__key="monitoring-staleness").value == 0.5


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("ranker,data,data-schema", "nobody,data,data-schema"),
            "line 2, product: 'nobody' unknown product",
        ),
        (
            ("data-schema,1", "data-nope,1"),
            "line 2, question: 'data-nope' not a question of tiny 1",
        ),
        (
            ("data-schema,1", "data-schema,0.7"),
            "line 2, value: '0.7' 0.7 is not on the scale (0, 0.5, 1).",
        ),
        (("data-schema,1", "data-schema,high"), "line 2, value: 'high' expected a number"),
        (
            ("staleness,0.5,false", "staleness,,true"),
            "line 4, not_applicable: 'true' monitoring-staleness cannot be answered N/A.",
        ),
        (
            ("features,,true", "features,1,true"),
            "line 3, value: '1' An answer is either a value or N/A, not both.",
        ),
        (
            ("features,,true", "features,,maybe"),
            "line 3, not_applicable: 'maybe' expected true or false",
        ),
        (
            ("2021-10,ranker,monitoring", "2022-04,ranker,monitoring"),
            "line 4, round: '2022-04' this file is imported into 2021-10",
        ),
        (
            ("ranker,data,data-features", "ranker,monitoring,data-features"),
            "line 3, area: 'monitoring' data-features belongs to area data",
        ),
    ],
)
def test_each_bad_row_is_named_with_line_value_and_reason(survey_round, ranker, change, expected):
    first, *others = refused(survey_round, GOOD.replace(*change))
    assert first.startswith(expected)
    # A row moved to another product or question leaves its product incomplete, and says so.
    assert all("not every question is answered" in other for other in others)


def test_duplicate_answer_names_the_first_line(survey_round, ranker):
    text = GOOD + "2021-10,ranker,monitoring,monitoring-staleness,1,false,,\n"
    assert "line 5, question: 'monitoring-staleness' duplicate of line 4" in refused(
        survey_round, text
    )


def test_missing_column_and_unknown_column(survey_round, ranker):
    problems = refused(survey_round, GOOD.replace(",evidence\n", ",evidnce\n", 1))
    assert "line 1, evidence: missing column" in problems
    assert any(p.startswith("line 1, evidnce: unknown column") for p in problems)


def test_bad_encoding_empty_file_and_header_only(survey_round, ranker):
    assert refused(survey_round, GOOD.replace("Raw images", "caf\xe9").encode("latin-1")) == [
        "line 3: not UTF-8 text (byte 0xe9); save as UTF-8"
    ]
    assert refused(survey_round, b"") == ["line 1: the file is empty"]
    assert refused(survey_round, HEADER) == ["line 1: the file has a header but no answers"]


def test_incomplete_product_is_reported(survey_round, ranker):
    text = HEADER + "2021-10,ranker,data,data-schema,1,false,,\n"
    assert refused(survey_round, text) == [
        "line 2, product: 'ranker' not every question is answered: data-features, "
        "monitoring-staleness"
    ]


def test_every_problem_is_listed_at_once(survey_round, ranker):
    text = GOOD.replace("data-schema,1", "data-schema,9").replace("features,,true", "features,,x")
    assert len(refused(survey_round, text)) == 2


def test_unknown_products_are_created_only_when_asked(survey_round):
    lines = GOOD.splitlines()
    text = "\n".join(
        [lines[0] + ",product_name,team", *(line + ",検索ランキング,search" for line in lines[1:])]
    )
    assert refused(survey_round, text)[0].startswith("line 2, product: 'ranker' unknown product")
    result = import_answers(survey_round=survey_round, data=text.encode(), create_products=True)
    assert result.products_created == ["ranker"]
    product = Product.objects.get(slug="ranker")
    assert (product.name, product.team.slug) == ("検索ランキング", "search")


def test_round_trip_export_then_import_into_an_empty_database_gives_identical_scores(
    django_capture_on_commit_callbacks, tmp_path
):
    """Export a seeded round, wipe everything, import it back: same answers, same scores."""
    from apps.demo.services import seed_demo
    from apps.rubrics.models import RubricVersion
    from apps.scoring import scores
    from apps.surveys.models import SurveyRound

    seed_demo(products=25, rounds=2, seed=9)
    survey_round = SurveyRound.objects.get(key="2021-10")
    scores.score_round(round_id=survey_round.pk)
    # Texts a spreadsheet would read as formulas: the export neutralises them, the import
    # gives them back as they were.
    submitted = Answer.objects.filter(response__round=survey_round, response__status="submitted")
    evidence = [
        '=HYPERLINK("http://x")',
        "+1",
        "@SUM(A1)",
        "-x",
        "\t=1",
        "'=quoted by hand",
        "'plain",
    ]
    for answer, text in zip(submitted.order_by("pk"), evidence, strict=False):
        Answer.objects.filter(pk=answer.pk).update(evidence=text)
    renamed = submitted.order_by("pk").last().response.product
    Product.objects.filter(pk=renamed.pk).update(name="=cmd|' /C calc'!A0")
    data = b"".join(stream(answer_rows(survey_round), bom=True))
    assert b"'=HYPERLINK(" in data and b"'@SUM(A1)" in data and b"''=quoted by hand" in data
    before_names = sorted(
        Product.objects.filter(responses__in=submitted.values("response")).values_list(
            "slug", "name"
        )
    )
    before_scores = sorted(
        ResponseScore.objects.filter(round=survey_round).values_list(
            "product__slug", "overall", "area_scores", "area_not_applicable"
        )
    )
    before_answers = sorted(
        Answer.objects.filter(
            response__round=survey_round, response__status="submitted"
        ).values_list(
            "response__product__slug",
            "question__key",
            "value",
            "not_applicable",
            "evidence",
            "evidence_url",
            "not_applicable_reason",
            "carried_over_from",
        )
    )
    assert any(row[3] and row[6] for row in before_answers)  # N/A answers, with reasons
    # An empty database with just the rubric and the round.
    version = survey_round.rubric_version
    from apps.demo.services import _wipe

    _wipe()
    assert not Product.objects.exists()
    survey_round = SurveyRound.objects.create(
        key="2021-10",
        title="t",
        rubric_version=RubricVersion.objects.get(pk=version.pk),
        opens_at="2021-10-01T00:00Z",
        closes_at="2021-11-15T00:00Z",
        state="closed",
    )
    path = tmp_path / "answers.csv"
    path.write_bytes(data)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_answers", "--round", "2021-10", "--create-products", str(path), stdout=out
        )
    assert "created" in out.getvalue()
    after_answers = sorted(
        Answer.objects.values_list(
            "response__product__slug",
            "question__key",
            "value",
            "not_applicable",
            "evidence",
            "evidence_url",
            "not_applicable_reason",
            "carried_over_from",
        )
    )
    assert after_answers == before_answers
    assert {row[4] for row in after_answers} >= set(evidence)
    assert sorted(Product.objects.values_list("slug", "name")) == before_names
    assert ("=cmd|' /C calc'!A0",) in Product.objects.values_list("name")
    after_scores = sorted(
        ResponseScore.objects.values_list(
            "product__slug", "overall", "area_scores", "area_not_applicable"
        )
    )
    assert after_scores == before_scores and len(after_scores) > 10
    assert any(sum(row[3].values()) for row in after_scores)  # N/A counts stored and kept


def test_import_takes_off_one_apostrophe_before_a_formula_character(survey_round, ranker):
    text = (
        HEADER
        + "2021-10,ranker,data,data-schema,1,false,,'=1+1\n"
        + "2021-10,ranker,data,data-features,,true,No hand-made features,''@SUM(A1)\n"
        + "2021-10,ranker,monitoring,monitoring-staleness,0.5,false,,'plain\n"
    )
    import_answers(survey_round=survey_round, data=text.encode())
    assert dict(Answer.objects.values_list("question__key", "evidence")) == {
        "data-schema": "=1+1",
        "data-features": "'@SUM(A1)",
        "monitoring-staleness": "'plain",
    }


def test_numeric_columns_are_read_as_they_are(survey_round, ranker):
    # The export never puts an apostrophe before a number, so none is taken off one.
    text = GOOD.replace(",1,false,", ",'-1,false,", 1)
    assert refused(survey_round, text) == [
        'line 2, value: "\'-1" expected a number (or not_applicable)'
    ]


def test_command_reports_problems_and_exits_non_zero(survey_round, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD.replace("data-schema,1", "data-schema,3"), "utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_answers", "--round", "2021-10", str(path))
    message = str(caught.value)
    assert "problem(s), nothing imported" in message and "'3' 3 is not on the scale" in message
    with pytest.raises(CommandError, match="No round 'nope'"):
        call_command("import_answers", "--round", "nope", str(path))


def test_admin_upload_page_lists_problems_and_imports(admin_client, survey_round, ranker):
    url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
    assert admin_client.get(url).status_code == 200
    bad = io.BytesIO(GOOD.replace("data-schema,1", "data-schema,3").encode())
    bad.name = "bad.csv"
    page = admin_client.post(url, {"file": bad})
    assert "not on the scale" in page.content.decode() and not Answer.objects.exists()
    good = io.BytesIO(GOOD.encode())
    good.name = "good.csv"
    assert admin_client.post(url, {"file": good}).status_code == 302
    assert Answer.objects.count() == 3


def test_export_streams_a_large_round_in_many_chunks(survey_round):
    from tests.factories import ResponseFactory, answer_all

    for _ in range(180):  # 540 rows: more than one chunk
        answer_all(
            ResponseFactory(round=survey_round, product=ProductFactory()),
            {"data-schema": 1, "data-features": 0, "monitoring-staleness": 0.5},
        )
    chunks = list(stream(answer_rows(survey_round), bom=False))
    assert len(chunks) > 1
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert len(rows) == 1 + 540


def test_every_imported_answer_gets_its_history_row(survey_round, ranker):
    from tests.factories import UserFactory

    operator = UserFactory(username="operator")
    import_answers(survey_round=survey_round, data=GOOD.encode(), user=operator)
    answers = list(Answer.objects.all())
    history = list(Answer.history.all())
    assert len(answers) == 3 and len(history) == 3
    assert {h.id for h in history} == {a.pk for a in answers}
    assert {(h.history_type, h.history_user_id) for h in history} == {("+", operator.pk)}
    assert Response.history.filter(status="submitted", history_user=operator).count() == 1


def test_import_queues_the_rounds_scoring_in_the_same_transaction(survey_round, ranker):
    from apps.scoring.models import ScoringJob

    import_answers(survey_round=survey_round, data=GOOD.encode())
    job = ScoringJob.objects.get()
    assert (job.kind, job.round_id) == ("round", survey_round.pk)


def test_not_applicable_needs_a_reason_in_the_file_too(survey_round, ranker):
    text = GOOD.replace("true,No hand-made features,", "true,  ,")
    assert refused(survey_round, text) == [
        "line 3, not_applicable_reason: Say why data-features does not apply to this product."
    ]


def test_a_reason_is_only_for_not_applicable(survey_round, ranker):
    text = GOOD.replace("0.5,false,,", "0.5,false,Batch only,")
    assert refused(survey_round, text) == [
        "line 4, not_applicable_reason: 'Batch only' a reason is only for an N/A answer"
    ]


def test_a_carried_over_round_cannot_be_imported(survey_round, ranker):
    lines = GOOD.splitlines()
    text = "\n".join(
        [lines[0] + ",carried_over_from", lines[1] + ",2020-04", *(f"{x}," for x in lines[2:])]
    )
    problems = refused(survey_round, text)
    assert len(problems) == 1 and problems[0].startswith("line 2, carried_over_from: '2020-04'")


def test_the_reason_is_imported_and_part_of_the_same_answers(survey_round, ranker):
    import_answers(survey_round=survey_round, data=GOOD.encode())
    features = Answer.objects.get(question__key="data-features")
    assert features.not_applicable_reason == "No hand-made features"
    changed = GOOD.replace("No hand-made features", "Raw images only")
    with pytest.raises(ImportRefused, match="already has different answers"):
        import_answers(survey_round=survey_round, data=changed.encode())
