"""The daily beat entry's task, run by a real Celery worker on the real Redis broker,
delivers the due reminders to a real SMTP server."""

import os
import signal
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.reminders import tasks
from apps.reminders.models import ReminderMail
from config.celery import app as celery_app
from tests.reminders.test_services import closing_in
from tests.scoring.test_worker import reset_connections, wait_for

BROKER = "redis://127.0.0.1:6379/9"  # not the scoring worker tests' database
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgresql(
        reason="a worker process shares the test database only on a database server; the "
        "embedded SQLite default runs tasks eagerly, in-process"
    ),
]


@pytest.fixture
def worker():
    """A worker on the test database and the test's SMTP server, and tasks sent to it."""
    redis.Redis.from_url(BROKER).flushdb()
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER, task_always_eager=False)
    reset_connections()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "EMAIL_URL": f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}",
        "SITE_URL": settings.SITE_URL,
        "REMINDER_DAYS": "7",
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"),
            *("--hostname", "reminders@test", "--loglevel", "info"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: celery_app.control.ping(["reminders@test"], timeout=0.5), 60, 0.5)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        celery_app.conf.update(**saved)
        reset_connections()


def test_the_daily_beat_task_delivers_the_due_reminders_on_a_real_worker(smtp_server, org, worker):
    entry = settings.CELERY_BEAT_SCHEDULE["send-scheduled-reminders"]
    assert entry["task"] == tasks.send_scheduled_reminders.name
    closing_in(org.round, 7)

    celery_app.send_task(entry["task"])  # as beat sends it

    assert wait_for(lambda: len(smtp_server.received) == 2, timeout=60)
    assert wait_for(lambda: ReminderMail.objects.exclude(status="sending").count() == 3)
    assert sorted(r for mail in smtp_server.received for r in mail.recipients) == [
        "alice@example.com",
        "bob@example.com",
    ]
    alice = smtp_server.to("alice@example.com")[0]
    assert "https://maturity.example.com/assess/2030-04/bidder/" in alice.body
    assert set(ReminderMail.objects.values_list("recipient__username", "kind", "status")) == {
        ("alice", "scheduled", "sent"),
        ("bob", "scheduled", "sent"),
        ("carol", "scheduled", "failed"),
    }
