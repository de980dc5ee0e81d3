"""factory_boy factories and a small rubric for tests."""

import copy
from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.models import Team
from apps.products.models import Product
from apps.rubrics.models import RubricVersion
from apps.rubrics.rubric_file import parse_rubric_document
from apps.rubrics.services import load_rubric
from apps.surveys.models import Response, SurveyRound

SMALL_RUBRIC = {
    "rubric": "tiny",
    "name": {"en": "Tiny rubric", "ja": "小さなルーブリック"},
    "version": "1",
    "scale": [
        {"value": 0, "label": {"en": "Not done", "ja": "未実施"}},
        {"value": 0.5, "label": {"en": "Manual", "ja": "手動"}},
        {"value": 1, "label": {"en": "Automated", "ja": "自動"}},
    ],
    "scoring": {"area": "sum", "not_applicable": "rescale", "overall": "min"},
    "bands": [
        {"max": 0, "label": "Research project"},
        {"max": 1, "label": "Basic"},
        {"label": {"en": "Strong", "ja": "十分"}},
    ],
    "areas": [
        {
            "key": "data",
            "title": {"en": "Data", "ja": "データ"},
            "questions": [
                {
                    "key": "data-schema",
                    "text": {"en": "Is there a schema?", "ja": "スキーマはあるか"},
                    "guidance": "A written schema counts.",
                    "criteria": ["No schema", "Schema checked by hand", "Schema checked in CI"],
                },
                {
                    "key": "data-features",
                    "text": "Is every feature useful?",
                    "criteria": ["Never checked", "Checked by hand", "Checked automatically"],
                    "not_applicable": {"en": "Raw images in, no features", "ja": "特徴量なし"},
                },
            ],
        },
        {
            "key": "monitoring",
            "title": "Monitoring",
            "questions": [
                {
                    "key": "monitoring-staleness",
                    "text": "Is model staleness watched?",
                    "criteria": ["No", "Looked at by hand", "Alerted"],
                },
            ],
        },
    ],
}


def rubric_document(**changes) -> dict:
    """A deep copy of the small rubric with top-level keys replaced."""
    document = copy.deepcopy(SMALL_RUBRIC)
    document.update(changes)
    return document


def make_version(publish: bool = True, **changes) -> RubricVersion:
    """Load the small rubric (with changes) and return its version."""
    spec = parse_rubric_document(rubric_document(**changes))
    return load_rubric(spec=spec, publish=publish).version


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.Sequence(lambda n: f"Team {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    team = factory.SubFactory(TeamFactory)
    active_from = date(2020, 1, 1)


class SurveyRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyRound

    key = factory.Sequence(lambda n: f"2030-{n:02d}")
    title = factory.LazyAttribute(lambda o: f"Round {o.key}")
    rubric_version = factory.LazyFunction(make_version)
    opens_at = factory.LazyFunction(timezone.now)
    closes_at = factory.LazyAttribute(lambda o: o.opens_at + timedelta(days=30))
    state = SurveyRound.State.OPEN


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    round = factory.SubFactory(SurveyRoundFactory)
    product = factory.SubFactory(ProductFactory)


def answer_all(response, values: dict, submitted: bool = True):
    """Answer a response's questions: {question key: value or "na"}; submit it if asked."""
    from decimal import Decimal

    from apps.rubrics.models import Question
    from apps.surveys.models import Answer

    questions = {q.key: q for q in Question.objects.filter(version=response.round.rubric_version)}
    Answer.objects.bulk_create(
        Answer(
            response=response,
            question=questions[key],
            value=None if value == "na" else Decimal(str(value)),
            not_applicable=value == "na",
            not_applicable_reason="Does not apply to this product." if value == "na" else "",
        )
        for key, value in values.items()
    )
    if submitted:
        response.status = Response.Status.SUBMITTED
        response.submitted_at = timezone.now()
        response.save()
    return response
