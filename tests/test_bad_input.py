"""Bad input gets a 4xx and a clear message, never a 500: NUL bytes anywhere in a request or an
imported CSV, JSON nested too deep, numbers that are not numbers, rubric files too big or too
deep."""

import json
import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.exchange.imports import ImportRefused, import_answers
from apps.rubrics.rubric_file import MAX_FILE_BYTES, RubricFileError, parse_rubric_text
from apps.rubrics.rubric_file.load import MAX_DEPTH, MAX_VALUES
from apps.rubrics.rubric_file.validate import MAX_TEXT_LENGTH
from apps.surveys.models import Answer, Response
from tests.factories import (
    ProductFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    make_version,
    rubric_document,
)

pytestmark = pytest.mark.django_db
NUL_MESSAGE = "NUL character"
NOT_NUMBERS = ["sNaN", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "1e999999", "1e-999999"]


@pytest.fixture
def member():
    """A member of the team of product `mine`, with an open round `2030-04` to answer."""
    team = TeamFactory(slug="ours")
    ProductFactory(slug="mine", team=team)
    SurveyRoundFactory(key="2030-04")
    user = UserFactory(username="member")
    team.members.add(user)
    return user


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def api(member):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member).key}")
    return client


@pytest.fixture
def draft(api):
    response = api.post("/api/v1/responses/", {"round": "2030-04", "product": "mine"})
    assert response.status_code == 201
    return response.json()["id"]


def refused_with(response, status: int, text: str) -> str:
    body = response.content.decode()
    assert response.status_code == status, body
    assert text in body
    return body


# -- NUL bytes in a request --


@pytest.mark.parametrize(
    "url",
    [
        "/rounds/2030%00-04/",
        "/products/mi%00ne/",
        "/assess/2030-04/mi%00ne/",
        "/api/v1/rounds/2030%00-04/",
        "/rounds/2030-04/results.csv%00",
    ],
)
def test_nul_in_the_path_is_a_400(signed_in, url):
    refused_with(signed_in.get(url), 400, NUL_MESSAGE)


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/?team=ou%00rs",
        "/dashboard/?characteristic=%00",
        "/rounds/2030-04/?team=a%00&sort=overall",
        "/products/?q=fore%00cast",
        "/api/v1/products/?team=ou%00rs",
        "/api/v1/responses/?round=%00",
        "/?next%00=1",
    ],
)
def test_nul_in_the_query_string_is_a_400(signed_in, url):
    refused_with(signed_in.get(url), 400, NUL_MESSAGE)


def test_the_refusal_speaks_the_users_language(signed_in):
    response = signed_in.get("/dashboard/?team=%00", HTTP_ACCEPT_LANGUAGE="ja")
    refused_with(response, 400, "NUL 文字")


def test_nul_in_a_form_field_is_a_400_and_saves_nothing(signed_in):
    response = signed_in.post(
        "/assess/2030-04/mine/answer",
        {"question": "data-schema", "value": "1", "evidence": "see\x00here"},
        HTTP_ACCEPT="application/json",
    )
    refused_with(response, 400, NUL_MESSAGE)
    assert not Answer.objects.exists()


def test_nul_in_a_login_form_is_a_400(client, member):
    response = client.post("/accounts/login/", {"username": "mem\x00ber", "password": "pw"})
    refused_with(response, 400, NUL_MESSAGE)


def test_nul_in_a_multipart_form_field_is_a_400(admin_client):
    survey_round = SurveyRoundFactory(rubric_version=make_version(), state="closed")
    url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
    upload = SimpleUploadedFile("answers.csv", b"round\n")
    response = admin_client.post(url, {"file": upload, "create_products": "o\x00n"})
    refused_with(response, 400, NUL_MESSAGE)


@pytest.mark.parametrize(
    "body",
    [
        '{"question": "data-schema", "value": "1", "evidence": "see\\u0000here"}',
        '{"question": "data-\\u0000schema", "value": "1"}',
        '{"question\\u0000": "data-schema", "value": "1"}',
        '{"question": "data-schema", "value": "1", "evidence": "\\\\\\u0000"}',
    ],
)
def test_nul_in_a_json_body_is_a_400_and_saves_nothing(api, draft, body):
    response = api.post(
        f"/api/v1/responses/{draft}/answers/", body, content_type="application/json"
    )
    assert response.json()["detail"].startswith("The request contains a NUL character")
    refused_with(response, 400, NUL_MESSAGE)
    assert not Answer.objects.exists()


def test_an_escaped_backslash_before_u0000_is_text_not_nul(api, draft):
    body = '{"question": "data-schema", "value": "1", "evidence": "C:\\\\u0000"}'
    response = api.post(
        f"/api/v1/responses/{draft}/answers/", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Answer.objects.get().evidence == "C:\\u0000"


# -- JSON nested too deep --


def test_brackets_inside_json_strings_are_text(api, draft):
    evidence = "[{" * 5_000 + '\\"' + "}]" * 5_000
    body = json.dumps({"question": "data-schema", "value": "1", "evidence": evidence})
    response = api.post(
        f"/api/v1/responses/{draft}/answers/", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Answer.objects.get().evidence == evidence


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/responses/", "round"),
        ("/api/v1/rubric-versions/", "document"),
        ("/api/v1/teams/", "name"),
        ("/api/v1/rounds/", "key"),
    ],
)
@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_json_nested_too_deep_is_a_400_on_any_api_write(member, url, field, depth):
    member.is_superuser = True
    member.save()
    api = APIClient()
    api.force_authenticate(member)
    body = f'{{"{field}": {"[" * depth}1{"]" * depth}}}'
    started = time.perf_counter()
    response = api.post(url, body, content_type="application/json")
    assert time.perf_counter() - started < 1
    refused_with(response, 400, "nested")


def test_json_as_deep_as_a_rubric_document_is_fine(api):
    body = json.dumps({"document": rubric_document(), "publish": False})
    response = api.post("/api/v1/rubric-versions/", body, content_type="application/json")
    assert response.status_code == 403  # a member may not load rubrics: the body was read


# -- numbers that are not numbers --


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_answer_form_refuses_values_that_are_not_numbers(signed_in, value):
    response = signed_in.post(
        "/assess/2030-04/mine/answer",
        {"question": "data-schema", "value": value},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "value"
    assert not Answer.objects.exists()


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_answer_form_without_javascript_says_so_on_the_page(signed_in, value):
    response = signed_in.post(
        "/assess/2030-04/mine/answer", {"question": "data-schema", "value": value}, follow=True
    )
    assert response.status_code == 200
    assert "is not on the scale" in response.content.decode()
    assert not Answer.objects.exists()


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_api_answer_refuses_values_that_are_not_numbers(api, draft, value):
    response = api.post(
        f"/api/v1/responses/{draft}/answers/",
        {"question": "data-schema", "value": value},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "value" in response.json()
    assert not Answer.objects.exists()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999999"])
def test_api_answer_refuses_json_numbers_that_are_not_numbers(api, draft, literal):
    body = f'{{"question": "data-schema", "value": {literal}}}'
    response = api.post(
        f"/api/v1/responses/{draft}/answers/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert not Answer.objects.exists()


# -- a NUL byte in an imported CSV --


def test_nul_in_an_imported_csv_cell_is_a_problem_with_its_line_and_column():
    survey_round = SurveyRoundFactory(key="2021-10", rubric_version=make_version(), state="closed")
    ProductFactory(slug="ranker")
    text = (
        "round,product,area,question,value,not_applicable,evidence\n"
        "2021-10,ranker,data,data-schema,1,false,in\x00CI\n"
        "2021-10,ranker,data,data-features,,true,Raw images\n"
        "2021-10,ranker,monitoring,monitoring-staleness,0.5,fal\x00se,\n"
    )
    with pytest.raises(ImportRefused) as caught:
        import_answers(survey_round=survey_round, data=text.encode())
    problems = [str(problem) for problem in caught.value.problems]
    assert "line 2, evidence: 'in\\x00CI' contains a NUL character (\\x00)" in problems
    assert "line 4, not_applicable: 'fal\\x00se' contains a NUL character (\\x00)" in problems
    assert not any("not every question" in problem for problem in problems)
    assert not Response.objects.exists()


def test_admin_import_page_lists_a_nul_in_the_file_as_a_problem(admin_client):
    survey_round = SurveyRoundFactory(key="2021-10", rubric_version=make_version(), state="closed")
    ProductFactory(slug="ranker")
    text = (
        "round,product,area,question,value,not_applicable,evidence\n"
        "2021-10,ranker,data,data-schema,1,false,in\x00CI\n"
    )
    url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
    upload = SimpleUploadedFile("answers.csv", text.encode())
    response = admin_client.post(url, {"file": upload})
    assert response.status_code == 200
    assert "line 2, evidence: &#x27;in\\x00CI&#x27; contains a NUL character" in (
        response.content.decode()
    )
    assert not Response.objects.exists()


# -- rubric files: size, text length, nesting --


def _nested_yaml(depth: int) -> str:
    return "rubric: " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 5_000])
def test_rubric_nested_too_deep_is_refused_quickly(depth):
    started = time.perf_counter()
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(_nested_yaml(depth))
    assert time.perf_counter() - started < 1
    assert caught.value.problems == [
        f"line 1, column {MAX_DEPTH + 8}: nested more than {MAX_DEPTH} levels deep"
    ]


def test_rubric_nested_in_block_style_is_refused_with_its_line():
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(500)) + "  " * 500 + "x\n"
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    assert caught.value.problems[0].startswith(f"line {MAX_DEPTH + 1}, column ")


def test_rubric_file_over_the_size_cap_is_refused_before_parsing():
    text = "rubric: tiny\nname: " + "x" * (20 * 1024 * 1024) + "\n"
    started = time.perf_counter()
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    assert time.perf_counter() - started < 1
    assert caught.value.problems == [
        f"the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB ({len(text):,} bytes)"
    ]


def test_rubric_with_too_many_values_is_refused_where_it_passes_the_cap():
    text = "rubric: tiny\nareas:\n" + "  - x\n" * 170_000  # 1 MB, 170,000 list items
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    # the root, its two keys and values, then the list items: stopped at the cap, not the end
    assert caught.value.problems == [
        f"line {MAX_VALUES - 2}: more than {MAX_VALUES:,} values; is this a rubric?"
    ]


def test_rubric_with_an_integer_too_long_to_read_is_refused():
    text = "rubric: tiny\nversion: " + "1" * 5_000 + "\n"
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    assert caught.value.problems[0].startswith("not valid YAML: Exceeds the limit")


def test_load_rubric_refuses_a_big_file_without_reading_it(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w") as file:
        file.truncate(20 * 1024 * 1024)  # 20 MB of NUL bytes, sparse: never read
    started = time.perf_counter()
    with pytest.raises(CommandError, match="larger than 1 MB"):
        call_command("load_rubric", str(path), stdout=StringIO())
    assert time.perf_counter() - started < 1


def test_load_rubric_refuses_deep_nesting_with_a_clean_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(_nested_yaml(400))
    with pytest.raises(CommandError, match=f"nested more than {MAX_DEPTH} levels deep"):
        call_command("load_rubric", str(path), stdout=StringIO())


@pytest.mark.parametrize(
    ("where", "document"),
    [
        ("guidance", lambda text: {"guidance": text}),
        ("text", lambda text: {"text": {"en": "Short", "ja": text}}),
        ("not_applicable", lambda text: {"not_applicable": text}),
    ],
)
def test_rubric_texts_longer_than_the_cap_are_refused(where, document):
    areas = rubric_document()["areas"]
    areas[0]["questions"][0].update(document("x" * (MAX_TEXT_LENGTH + 1)))
    text = json.dumps(rubric_document(areas=areas))  # JSON is YAML
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    assert caught.value.problems == [
        f"line 1, areas[0].questions[0].{where}: longer than {MAX_TEXT_LENGTH} characters"
    ]


def test_api_rubric_upload_refuses_long_texts(member):
    member.is_superuser = True
    member.save()
    api = APIClient()
    api.force_authenticate(member)
    areas = rubric_document()["areas"]
    areas[0]["questions"][0]["guidance"] = "x" * (MAX_TEXT_LENGTH + 1)
    response = api.post(
        "/api/v1/rubric-versions/",
        {"document": rubric_document(areas=areas), "publish": False},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["problems"] == [
        f"areas[0].questions[0].guidance: longer than {MAX_TEXT_LENGTH} characters"
    ]


def test_api_rubric_upload_refuses_a_document_over_the_size_cap(member):
    member.is_superuser = True
    member.save()
    api = APIClient()
    api.force_authenticate(member)
    areas = rubric_document()["areas"]
    for question in areas[0]["questions"]:
        question["guidance"] = "x" * MAX_TEXT_LENGTH
    areas *= 80  # 160 guidance texts of 10,000 characters: 1.6 MB
    body = json.dumps({"document": rubric_document(areas=areas)})
    response = api.post("/api/v1/rubric-versions/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["document"][0].startswith("the document is larger than 1 MB")
