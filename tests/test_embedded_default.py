"""README command (1) path: the embedded SQLite default migrates, seeds and enforces invariants."""

import os
import subprocess
import sys

from django.conf import settings

CHECK_TRIGGERS = """
from decimal import Decimal
from django.db import IntegrityError, transaction
from apps.surveys.models import Answer
answer = Answer.objects.filter(value__isnull=False, question__na_allowed=False).first()
for change in ({"value": Decimal("0.7")}, {"value": None, "not_applicable": True}):
    try:
        with transaction.atomic():
            Answer.objects.filter(pk=answer.pk).update(**change)
    except IntegrityError as error:
        print("refused:", error)
print("answers:", Answer.objects.count())
"""


def run(*args, database) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true", DATABASE_URL=f"sqlite:///{database}"
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sqlite_demo_database_seeds_and_refuses_bad_answers(tmp_path):
    database = tmp_path / "demo.sqlite3"
    assert run("migrate", "--noinput", "-v", "0", database=database).returncode == 0
    seeded = run("seed_demo", "--products", "15", "--rounds", "4", database=database)
    assert seeded.returncode == 0, seeded.stderr
    assert "4 rounds" in seeded.stdout and "demo-member" in seeded.stdout
    checked = run("shell", "-v", "0", "-c", CHECK_TRIGGERS, database=database)
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert "refused: value is not on the scale of the question's rubric version" in lines
    assert "refused: this question does not allow N/A" in lines
    assert int(lines[-1].split()[-1]) > 0
