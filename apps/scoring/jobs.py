"""Scoring jobs: a request to (re)compute scores, recorded in the database and run by a
worker. A job's state lives in its row, so a job lost with a killed worker or a broker outage
is restarted by the periodic sweep; running any job twice gives the same rows."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.scoring import scores
from apps.scoring.models import ScoringJob

logger = logging.getLogger(__name__)

# A running job's row gets a heartbeat every HEARTBEAT; with none for STALE_RUNNING its
# worker is gone and the sweep (Celery beat, every 30 s) restarts the job.
HEARTBEAT = timedelta(seconds=settings.SCORING_HEARTBEAT_SECONDS)
STALE_RUNNING = timedelta(seconds=settings.SCORING_STALE_SECONDS)
STALE_QUEUED = timedelta(minutes=2)  # still queued after this long: the enqueue was lost
MAX_ATTEMPTS = 5


def request_scoring(
    *,
    kind: str,
    round_id: int | None = None,
    response_id: int | None = None,
    requested_by=None,
) -> ScoringJob:
    """Record a scoring job and enqueue it once the caller's transaction commits."""
    job = ScoringJob.objects.create(
        kind=kind, round_id=round_id, response_id=response_id, requested_by=requested_by
    )
    transaction.on_commit(lambda: enqueue(job.pk), robust=True)
    return job


def enqueue(job_id: int) -> None:
    """Hand a job to Celery; if the broker is down the job stays queued for the sweep."""
    from apps.scoring.tasks import run_scoring_job  # noqa: PLC0415 (tasks imports us)

    ScoringJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    if current_app.conf.task_always_eager:
        # No broker: the job runs here and now; a failure is recorded on the job itself.
        try:
            run_scoring_job.delay(job_id)
        except Exception:
            logger.exception("Scoring job %s failed", job_id)
        return
    try:
        run_scoring_job.delay(job_id)
    except (KombuOperationalError, ConnectionError, OSError):
        logger.warning("Could not enqueue scoring job %s; the sweep will retry", job_id)


def run_job(*, job_id: int) -> ScoringJob:
    """Run a job to completion (again, if it ran before: every job is idempotent).

    A copy delivered while another worker is visibly working on the job (fresh heartbeat)
    is dropped; a job that keeps failing stops after MAX_ATTEMPTS.
    """
    with transaction.atomic():
        job = ScoringJob.objects.select_for_update().get(pk=job_id)
        now = timezone.now()
        busy = job.state == ScoringJob.State.RUNNING and job.heartbeat_at > now - STALE_RUNNING
        if job.state in (ScoringJob.State.DONE, ScoringJob.State.FAILED) or busy:
            return job
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = ScoringJob.State.FAILED, now
            job.error = f"gave up after {job.attempts} attempts"
            job.save()
            return job
        job.state, job.attempts, job.error = ScoringJob.State.RUNNING, job.attempts + 1, ""
        job.started_at = job.heartbeat_at = now
        job.done, job.total = 0, 1 if job.kind != ScoringJob.Kind.ALL else job.total
        job.save()

    def progress(done: int, total: int) -> None:
        ScoringJob.objects.filter(pk=job_id).update(
            done=done, total=total, heartbeat_at=timezone.now()
        )

    try:
        # One response scores in milliseconds: no heartbeat thread (nor its connection).
        beating = _heartbeat(job_id) if job.kind != ScoringJob.Kind.RESPONSE else nullcontext()
        with beating:
            if job.kind == ScoringJob.Kind.RESPONSE:
                summary = scores.score_response(response_id=job.response_id)
            elif job.kind == ScoringJob.Kind.ROUND:
                summary = scores.score_round(round_id=job.round_id)
            else:
                summary = scores.score_all(progress=progress)
    except Exception as error:
        ScoringJob.objects.filter(pk=job_id).update(
            state=ScoringJob.State.FAILED, error=repr(error), finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    job.state, job.summary, job.finished_at = ScoringJob.State.DONE, summary, timezone.now()
    job.done = job.total = max(job.total, 1)
    job.save()
    return job


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Keep the running job's heartbeat fresh from a thread of its own, so a job of any
    length looks alive while its worker is, and stale within STALE_RUNNING once it is
    killed. Not inside a caller's transaction (tests, an eager task within a request): the
    caller holds the row, and the job is not visible to a sweep anyway."""
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT.total_seconds()):
            try:
                ScoringJob.objects.filter(pk=job_id, state=ScoringJob.State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
            except Exception:  # a lost connection, a locked database: try again next beat
                logger.warning("Heartbeat of scoring job %s failed", job_id, exc_info=True)
            finally:
                connections.close_all()  # this thread's own connection, fresh each beat

    thread = threading.Thread(target=beat, name=f"scoring-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _stale(now, running_for: timedelta, queued_for: timedelta) -> Q:
    queued_long_ago = Q(enqueued_at__lte=now - queued_for) | Q(
        enqueued_at__isnull=True, created_at__lte=now - queued_for
    )
    return Q(state=ScoringJob.State.RUNNING, heartbeat_at__lte=now - running_for) | (
        Q(state=ScoringJob.State.QUEUED) & queued_long_ago
    )


def restart_stale_jobs(
    *, running_for: timedelta = STALE_RUNNING, queued_for: timedelta = STALE_QUEUED
) -> list[int]:
    """Re-enqueue jobs whose worker died (no heartbeat) or whose enqueue was lost.

    Each job is claimed with a conditional update, so a job that started or finished since
    it was read is left alone, and two sweeps never enqueue the same job twice.
    """
    now = timezone.now()
    stale = _stale(now, running_for, queued_for)
    restarted = []
    for job_id in ScoringJob.objects.filter(stale).values_list("pk", flat=True):
        claimed = ScoringJob.objects.filter(stale, pk=job_id).update(
            state=ScoringJob.State.QUEUED, enqueued_at=timezone.now()
        )
        if claimed:
            restarted.append(job_id)
            enqueue(job_id)
    return restarted
