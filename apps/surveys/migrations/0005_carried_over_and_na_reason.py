"""An answer copied by prefill remembers the round it came from until a team member confirms
it (`carried_over_from`); an N/A answer carries its reason (`not_applicable_reason`), and the
database refuses an N/A without one."""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

triggers = import_module("apps.surveys.migrations.0002_answer_integrity_triggers")

# Answers marked N/A before a reason was asked for: the constraint needs one, and saying so
# is more honest than inventing a reason.
EARLIER_REASON = "(Answered N/A before a reason was required.)"


def drop_sqlite_triggers(apps, schema_editor):
    """SQLite rebuilds the answer table to add the reason and the constraint, and the
    answer triggers refuse the rename: drop them for the rebuild and create them after."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in triggers.SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in triggers.SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def give_earlier_na_a_reason(apps, schema_editor):
    Answer = apps.get_model("surveys", "Answer")
    Answer.objects.filter(not_applicable=True, not_applicable_reason="").update(
        not_applicable_reason=EARLIER_REASON
    )


class Migration(migrations.Migration):
    dependencies = [
        ("rubrics", "0002_question_capabilities"),
        ("surveys", "0004_round_rubric_and_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, create_sqlite_triggers),
        migrations.AddField(
            model_name="answer",
            name="carried_over_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="surveys.surveyround",
                verbose_name="carried over from",
            ),
        ),
        migrations.AddField(
            model_name="answer",
            name="not_applicable_reason",
            field=models.TextField(blank=True, verbose_name="reason for N/A"),
        ),
        migrations.AddField(
            model_name="historicalanswer",
            name="carried_over_from",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.surveyround",
                verbose_name="carried over from",
            ),
        ),
        migrations.AddField(
            model_name="historicalanswer",
            name="not_applicable_reason",
            field=models.TextField(blank=True, verbose_name="reason for N/A"),
        ),
        migrations.RunPython(give_earlier_na_a_reason, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="answer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("not_applicable", False),
                    models.Q(("not_applicable_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="answer_na_has_reason",
                violation_error_message="An N/A answer needs a reason.",
            ),
        ),
        migrations.RunPython(create_sqlite_triggers, drop_sqlite_triggers),
    ]
