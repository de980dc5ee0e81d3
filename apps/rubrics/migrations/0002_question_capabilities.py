from django.db import migrations, models


def capabilities_field() -> models.JSONField:
    field = models.JSONField(
        blank=True, default=list, help_text="MLOps capabilities the question exercises"
    )
    field.set_attributes_from_name("capabilities")
    return field


def add_column(apps, schema_editor):
    """On SQLite, Django would rebuild the table to add a column with a default, and the
    answer triggers (surveys 0002) that read rubrics_question refuse the rename: add the
    column in place instead. Elsewhere, the usual AddField."""
    question = apps.get_model("rubrics", "Question")
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "ALTER TABLE rubrics_question ADD COLUMN capabilities text NOT NULL DEFAULT '[]'"
            " CHECK (JSON_VALID(capabilities))"
        )
    else:
        schema_editor.add_field(question, capabilities_field())


def remove_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE rubrics_question DROP COLUMN capabilities")


class Migration(migrations.Migration):
    dependencies = [
        ("rubrics", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="question", name="capabilities", field=capabilities_field()
                ),
            ],
            database_operations=[migrations.RunPython(add_column, remove_column)],
        ),
    ]
