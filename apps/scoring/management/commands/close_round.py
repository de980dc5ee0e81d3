from django.core.management.base import BaseCommand, CommandError

from apps.scoring.closing import close_impact, close_with_impact
from apps.surveys.models import SurveyRound
from apps.surveys.rounds import RoundError


class Command(BaseCommand):
    help = (
        "Show what closing a round changes (responses, the continuous cohort); with --yes, "
        "close it and queue the recompute of its scores."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="round key, e.g. 2024-04")
        parser.add_argument("--yes", action="store_true", help="close it (after reading)")
        parser.add_argument("--reason", default="", help="why, for the round's log")

    def handle(self, *args, key, yes, reason, **options):
        survey_round = SurveyRound.objects.filter(key=key).first()
        if survey_round is None:
            raise CommandError(f"No round {key!r}.")
        if survey_round.state != SurveyRound.State.OPEN:
            self.stdout.write(f"Round {key} is {survey_round.state}: nothing to close.")
            return
        impact = close_impact(survey_round)
        progress = impact.progress
        self.stdout.write(
            f"Round {key}: {progress.submitted} submitted ({impact.scored} scored), "
            f"{progress.draft} draft, {progress.not_started} not started "
            f"of {progress.active} active products."
        )
        self.stdout.write(
            f"Continuous cohort: {impact.cohort_before} → {impact.cohort_after} products."
        )
        for warning in impact.warnings:
            self.stdout.write(f"Warning: {warning}")
        if not yes:
            raise CommandError("Nothing changed: run again with --yes to close the round.")
        try:
            close_with_impact(
                survey_round=survey_round, confirmed=True, reason=reason or "close_round --yes"
            )
        except RoundError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Closed {key}; its scores are being recomputed.")
