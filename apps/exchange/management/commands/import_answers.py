from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.exchange.imports import ImportRefused, import_answers
from apps.surveys.models import SurveyRound


class Command(BaseCommand):
    help = "Import a round's answers from CSV (the answers export format), all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("--round", dest="round_key", required=True)
        parser.add_argument(
            "--create-products",
            action="store_true",
            help="create unknown products (named by product_name, in team, when given)",
        )
        parser.add_argument("file", type=Path)

    def handle(self, *args, round_key, create_products, file, **options):
        survey_round = (
            SurveyRound.objects.select_related("rubric_version").filter(key=round_key).first()
        )
        if survey_round is None:
            raise CommandError(f"No round {round_key!r}: create it first with create_round.")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            result = import_answers(
                survey_round=survey_round, data=data, create_products=create_products
            )
        except ImportRefused as error:
            lines = "\n".join(f"  {problem}" for problem in error.problems)
            raise CommandError(
                f"{file}: {len(error.problems)} problem(s), nothing imported:\n{lines}"
            ) from None
        self.stdout.write(
            f"Imported {result.responses} submitted responses ({result.answers} answers) into "
            f"{survey_round.key}; created {len(result.products_created)} products; "
            f"{len(result.unchanged)} already present and unchanged."
        )
