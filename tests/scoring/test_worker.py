"""Real Celery workers on the real Redis broker score submitted responses, and a job whose
worker is killed mid-run leaves nothing half-written and is finished by the sweep."""

import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.scoring import jobs, scores
from apps.scoring.models import ResponseScore, ScoringJob
from apps.surveys.models import Response, SurveyRound
from config.celery import app as celery_app
from tests.factories import ProductFactory, ResponseFactory, SurveyRoundFactory, answer_all

BROKER = "redis://127.0.0.1:6379/13"
# serialized_rollback: the flush after each test also empties migration data (characteristics).
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgresql(
        reason="a worker process shares the test database only on a database server; the "
        "embedded SQLite default runs tasks eagerly, in-process"
    ),
]


def wait_for(condition, timeout=60.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def process_env() -> dict[str, str]:
    """A worker's or beat's environment: the test database and the test broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CELERY_BROKER_URL": BROKER,
    }


def start_beat(workers: list[subprocess.Popen], schedule: str) -> subprocess.Popen:
    """Start Celery beat with the project's schedule; stopped when the test ends."""
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule", schedule],
        cwd=settings.BASE_DIR,
        env=process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers.append(beat)
    return beat


def start_worker(name: str, workers: list[subprocess.Popen]) -> subprocess.Popen:
    """Start a worker on the test database; `workers` are stopped when the test ends."""
    env = process_env()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            f"{name}@test",
            "--loglevel",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers.append(worker)
    assert wait_for(lambda: celery_app.control.ping([f"{name}@test"], timeout=0.5), 60, 0.5), (
        "the worker did not start"
    )
    return worker


def reset_connections() -> None:
    """Drop the app's broker connections so the next task uses the current broker_url."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Send tasks to the real Redis broker (the test settings run them eagerly otherwise)."""
    redis.Redis.from_url(BROKER).flushdb()
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER, task_always_eager=False)
    reset_connections()
    workers: list[subprocess.Popen] = []
    yield workers
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    celery_app.conf.update(
        broker_url=saved["broker_url"], task_always_eager=saved["task_always_eager"]
    )
    reset_connections()


def test_submit_is_scored_by_a_real_worker(broker):
    from apps.surveys.services import submit_response

    start_worker("scorer", broker)
    survey_round = SurveyRoundFactory(state="open")
    response = answer_all(
        ResponseFactory(round=survey_round, product=ProductFactory()),
        {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5},
        submitted=False,
    )
    submit_response(response=response, user=None)  # commits, then enqueues to Redis
    assert wait_for(lambda: ResponseScore.objects.filter(response=response).exists())
    score = ResponseScore.objects.get(response=response)
    assert str(score.overall) == "0.5000" and score.area_scores["data"] == "2.0000"
    assert wait_for(lambda: ScoringJob.objects.get().state == "done")
    # The new aggregates' overview is then built on the worker, into the shared Redis cache,
    # in both languages: the next viewer does not wait for it.
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import translation

    from apps.dashboards.charts import overview_cache_key
    from apps.scoring import cohort

    rubric = survey_round.rubric_version.rubric
    starts = cohort.start_rounds(rubric.pk)  # the default view: the cohort from the first
    for language in ("en", "ja"):
        with translation.override(language):
            key = overview_cache_key(
                rubric,
                target=settings.DASHBOARD_TARGET,
                cohort_from=starts[0].key if starts else "",
            )
        assert wait_for(lambda key=key: cache.get(key) is not None, timeout=30), language


def complete_rounds() -> dict[int, int]:
    """Per round: the number of submitted responses (all of them complete in the demo)."""
    return {
        r.pk: Response.objects.filter(round=r, status="submitted").count()
        for r in SurveyRound.objects.all()
    }


def stored_scores() -> list[tuple]:
    return list(
        ResponseScore.objects.order_by("response_id").values_list(
            "response_id", "overall", "area_scores", "band_id", "binding_area_id"
        )
    )


def test_a_killed_workers_job_is_finished_by_beat_within_two_minutes(broker, tmp_path):
    """SIGKILL mid-recompute: no round is left half-written; the job's heartbeat stops, the
    sweep that beat runs every 30 s restarts it, another worker finishes it within two
    minutes of the kill, with the same rows as a recompute run here."""
    from apps.demo.services import seed_demo

    seed_demo(products=600, rounds=4, seed=5)
    expected = complete_rounds()
    worker = start_worker("doomed", broker)
    job = ScoringJob.objects.create(kind="all")
    jobs.enqueue(job.pk)
    assert wait_for(lambda: ScoringJob.objects.get(pk=job.pk).done >= 1, timeout=60, interval=0.005)
    os.killpg(worker.pid, signal.SIGKILL)
    killed_at = timezone.now()
    worker.wait(timeout=10)
    job.refresh_from_db()
    assert job.state == "running" and job.done < job.total, "the job ended before the kill"
    for round_id, submitted in expected.items():
        stored = ResponseScore.objects.filter(round_id=round_id).count()
        assert stored in (0, submitted), f"round {round_id} is half-written: {stored}/{submitted}"

    # Redis would redeliver the unacked task after its visibility timeout (an hour); drop it
    # so that only the periodic sweep, which reads the job's state in the database, can help.
    redis.Redis.from_url(BROKER).flushdb()
    start_worker("rescuer", broker)
    start_beat(broker, str(tmp_path / "beat-schedule"))
    assert wait_for(lambda: ScoringJob.objects.get(pk=job.pk).state == "done", timeout=150)
    job.refresh_from_db()
    assert (job.finished_at - killed_at).total_seconds() < 120
    assert job.attempts == 2 and job.done == job.total == len(expected)
    for round_id, submitted in expected.items():
        assert ResponseScore.objects.filter(round_id=round_id).count() == submitted
    finished = stored_scores()
    assert scores.score_all()["rounds"] == len(expected)  # compute_scores --all --sync
    assert stored_scores() == finished
