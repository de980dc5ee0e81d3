from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.exchange.exports import stream, trend_rows, write
from apps.rubrics.models import Rubric


class Command(BaseCommand):
    help = "Write a rubric's trend (per round and population: all, cohort) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--rubric", required=True, help="rubric slug")
        parser.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (Excel)")
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, rubric, bom, output, **options):
        found = Rubric.objects.filter(slug=rubric).first()
        if found is None:
            raise CommandError(f"No rubric {rubric!r}.")
        write(stream(trend_rows(found.pk), bom=bom), output, self.stdout)
