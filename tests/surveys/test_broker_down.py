"""Saving and submitting never depend on the Celery broker: with it down, answers save, the
response is submitted, and its scoring job waits (queued) for the broker or the sweep."""

import pytest

from apps.scoring.models import ScoringJob
from apps.surveys.models import Response
from apps.surveys.services import save_answer, start_response, submit_response
from config.celery import app as celery_app
from tests.factories import ProductFactory, SurveyRoundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    keys = (
        "broker_url",
        "task_always_eager",
        "broker_connection_max_retries",
        "task_publish_retry_policy",
    )
    saved = {key: celery_app.conf[key] for key in keys}
    # Nothing listens on port 1: every publish fails quickly.
    celery_app.conf.update(
        broker_url="redis://127.0.0.1:1/0",
        task_always_eager=False,
        broker_connection_max_retries=1,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
    )
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield
    celery_app.conf.update(**saved)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_answers_save_and_submit_works_with_the_broker_down(
    broker_down, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    response = start_response(survey_round=SurveyRoundFactory(), product=ProductFactory())
    for key, value, na in (
        ("data-schema", Decimal(1), False),
        ("data-features", None, True),
        ("monitoring-staleness", Decimal("0.5"), False),
    ):
        save_answer(
            response=response,
            question_key=key,
            value=value,
            not_applicable=na,
            not_applicable_reason="Batch only." if na else "",
        )
    with django_capture_on_commit_callbacks(execute=True):
        submit_response(response=response, user=None)
    assert Response.objects.get(pk=response.pk).status == "submitted"
    job = ScoringJob.objects.get()
    assert (job.kind, job.state) == ("response", "queued")  # the sweep will hand it over later
