"""An index of the area tallies that holds their counts (PostgreSQL only; on SQLite the table
stays empty): the scoring statement reads a round's tallies from the index alone (an
index-only scan, about half the time of fetching every row from the table), wherever the
visibility map, which autovacuum keeps, says a page holds no recent change. The primary key
stays: the answers' triggers upsert on it.

Writing an answer now also writes this index's entry of its tally (the update of a tally's
counts could skip the indexes before, when its page had room): no measurable cost to a save
(see README, Benchmarks)."""

from django.db import migrations

INDEX = "scoring_areatally_counts"
CREATE = f"""
CREATE INDEX {INDEX} ON scoring_areatally (response_id, area_id)
INCLUDE (answered, not_applicable, total, common_answered, common_not_applicable, common_total)
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0009_compared_questions")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
