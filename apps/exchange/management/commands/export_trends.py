from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.exchange.exports import stream, trend_rows, write
from apps.rubrics.models import Rubric
from apps.scoring import cohort


class Command(BaseCommand):
    help = (
        "Write a rubric's trend (per round and population: all, the cohort from a start round)"
        " as CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rubric", required=True, help="rubric slug")
        parser.add_argument(
            "--cohort-from",
            default="",
            metavar="KEY",
            help="the round the cohort starts from (default: the first round)",
        )
        parser.add_argument(
            "--like-for-like",
            action="store_true",
            help="score every round on the questions common to all versions of the rubric",
        )
        parser.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (Excel)")
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, rubric, cohort_from, like_for_like, bom, output, **options):
        found = Rubric.objects.filter(slug=rubric).first()
        if found is None:
            raise CommandError(f"No rubric {rubric!r}.")
        start = cohort.start_round(found.pk, cohort_from)
        if cohort_from and start is None:
            keys = ", ".join(r.key for r in cohort.start_rounds(found.pk)) or "none yet"
            raise CommandError(
                f"No cohort of {rubric!r} starts from {cohort_from!r}; start rounds: {keys}."
            )
        rows = trend_rows(found.pk, cohort_from=start, like_for_like=like_for_like)
        write(stream(rows, bom=bom), output, self.stdout)
