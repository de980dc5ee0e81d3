"""The cohort from any start round: a cohort member records the first round of its unbroken
run (`since`), a cohort aggregate its start round (`cohort_from`); aggregates gain the N/A
counts per area and the churn against the previous defining round.

The existing members and cohort aggregates are those of the first defining round; every
rubric's cohort state is reset, so the next refresh (a scoring job, `compute_scores --all`)
recomputes the runs and stores the aggregates of the other start rounds."""

import django.db.models.deletion
from django.db import migrations, models


def from_first_defining_round(apps, schema_editor):
    CohortState = apps.get_model("scoring", "CohortState")
    CohortMember = apps.get_model("scoring", "CohortMember")
    RoundAggregate = apps.get_model("scoring", "RoundAggregate")
    first = {
        state.rubric_id: state.defining_round_ids[0]
        for state in CohortState.objects.all()
        if state.defining_round_ids
    }
    for rubric_id, round_id in first.items():
        CohortMember.objects.filter(rubric_id=rubric_id).update(since_id=round_id)
        RoundAggregate.objects.filter(rubric_id=rubric_id, population="cohort").update(
            cohort_from_id=round_id
        )
    CohortMember.objects.filter(since__isnull=True).delete()
    RoundAggregate.objects.filter(population="cohort", cohort_from__isnull=True).delete()
    CohortState.objects.update(defining_round_ids=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0002_question_means"),
        ("surveys", "0004_round_rubric_and_events"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="roundaggregate", name="roundaggregate_one_per_population"
        ),
        migrations.RemoveConstraint(model_name="roundaggregate", name="roundaggregate_population"),
        migrations.AddField(
            model_name="cohortmember",
            name="since",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.surveyround",
            ),
        ),
        migrations.AddField(
            model_name="roundaggregate",
            name="cohort_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.surveyround",
            ),
        ),
        migrations.AddField(
            model_name="roundaggregate",
            name="area_not_applicable",
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name="roundaggregate",
            name="churn",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(from_first_defining_round, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="cohortmember",
            name="since",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.surveyround",
            ),
        ),
        migrations.AddConstraint(
            model_name="roundaggregate",
            constraint=models.UniqueConstraint(
                condition=models.Q(("population", "all")),
                fields=("round",),
                name="roundaggregate_one_all_per_round",
            ),
        ),
        migrations.AddConstraint(
            model_name="roundaggregate",
            constraint=models.UniqueConstraint(
                condition=models.Q(("population", "cohort")),
                fields=("round", "cohort_from"),
                name="roundaggregate_one_cohort_per_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="roundaggregate",
            constraint=models.CheckConstraint(
                condition=models.Q(("cohort_from__isnull", True), ("population", "all"))
                | models.Q(("cohort_from__isnull", False), ("population", "cohort")),
                name="roundaggregate_population",
            ),
        ),
    ]
