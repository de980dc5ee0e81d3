"""Half-empty pages for the score rows on PostgreSQL, so that rescoring a round (a rule fix
rewrites every row) updates each row in its own page, without touching its four indexes
(a HOT update): one WAL record per row instead of six. SQLite has no such setting."""

from django.db import migrations

TABLE = "scoring_responsescore"


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_roundaggregate_like_for_like")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
