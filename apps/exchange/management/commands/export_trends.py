from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.exchange.exports import stream, trend_rows
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
        chunks = stream(trend_rows(found.pk), bom=bom)
        if output:
            with output.open("wb") as target:
                target.writelines(chunks)
        else:
            # The bytes go to the binary stream under the command's stdout (UTF-8 whatever
            # the terminal's locale), e.g. sys.stdout.buffer.
            target = self.stdout._out.buffer
            target.writelines(chunks)
            target.flush()
