"""A round records its rubric (copied from its version) so the database holds "at most one
open round per rubric"; round events log every state and deadline change."""

from importlib import import_module

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

triggers = import_module("apps.surveys.migrations.0002_answer_integrity_triggers")


def drop_sqlite_triggers(apps, schema_editor):
    """SQLite rebuilds the rounds table to change it, and the answer triggers that read it
    refuse the rename: drop them for the rebuild and create them again after."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in triggers.SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in triggers.SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def copy_rubric(apps, schema_editor):
    SurveyRound = apps.get_model("surveys", "SurveyRound")
    for survey_round in SurveyRound.objects.select_related("rubric_version"):
        survey_round.rubric_id = survey_round.rubric_version.rubric_id
        survey_round.save(update_fields=["rubric"])
    open_rubrics = list(
        SurveyRound.objects.filter(state="open")
        .values("rubric_id")
        .annotate(n=models.Count("pk"))
        .filter(n__gt=1)
        .values_list("rubric_id", flat=True)
    )
    if open_rubrics:
        keys = SurveyRound.objects.filter(state="open", rubric_id__in=open_rubrics)
        raise RuntimeError(
            "Several rounds of one rubric are open ("
            + ", ".join(keys.values_list("key", flat=True))
            + "). Close all but one first, e.g. in a database shell: UPDATE surveys_surveyround"
            " SET state = 'closed' WHERE key = '…'; then migrate again and recompute their"
            " scores with manage.py compute_scores --all."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("rubrics", "0002_question_capabilities"),
        ("surveys", "0003_reopen_permission"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, create_sqlite_triggers),
        migrations.AddField(
            model_name="surveyround",
            name="rubric",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="rounds",
                to="rubrics.rubric",
            ),
        ),
        migrations.RunPython(copy_rubric, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="surveyround",
            name="rubric",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="rounds",
                to="rubrics.rubric",
            ),
        ),
        migrations.AddConstraint(
            model_name="surveyround",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "open")),
                fields=("rubric",),
                name="surveyround_one_open_per_rubric",
                violation_error_message="Another round of this rubric is open.",
            ),
        ),
        migrations.RunPython(create_sqlite_triggers, drop_sqlite_triggers),
        migrations.CreateModel(
            name="RoundEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("action", models.CharField(choices=[("opened", "Opened"), ("closed", "Closed"), ("reopened", "Reopened"), ("extended", "Deadline changed")], max_length=10, verbose_name="action")),
                ("from_state", models.CharField(max_length=10)),
                ("to_state", models.CharField(max_length=10)),
                ("closes_at", models.DateTimeField(verbose_name="deadline after")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="when")),
                ("round", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="events", to="surveys.surveyround")),
                ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "round event",
                "verbose_name_plural": "round events",
                "ordering": ["-at", "-pk"],
            },
        ),
    ]
