from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.exchange.exports import answer_csv, result_csv, write
from apps.surveys.models import SurveyRound


class Command(BaseCommand):
    help = "Write a round's results (one row per product) or answers as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--round", dest="round_key", required=True)
        parser.add_argument("--format", choices=["results", "answers"], required=True)
        parser.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (Excel)")
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, round_key, format, bom, output, **options):
        survey_round = (
            SurveyRound.objects.select_related("rubric_version__rubric")
            .filter(key=round_key)
            .first()
        )
        if survey_round is None:
            raise CommandError(f"No round {round_key!r}.")
        export = result_csv if format == "results" else answer_csv
        write(export(survey_round, bom=bom), output, self.stdout)
