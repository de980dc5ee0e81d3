from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.rubrics.models import RubricVersion
from apps.rubrics.rubric_file import dump_rubric
from apps.rubrics.selectors import spec_from_version


class Command(BaseCommand):
    help = "Write a rubric version in the rubric file format (the format load_rubric reads)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version` names the rubric version here, replacing Django's --version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--version", dest="label", required=True, help="version label")
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, slug: str, label: str, output: Path | None, **options):
        version = RubricVersion.objects.filter(rubric__slug=slug, label=label).first()
        if version is None:
            known = list(
                RubricVersion.objects.filter(rubric__slug=slug).values_list("label", flat=True)
            )
            hint = f" Known versions: {', '.join(known)}." if known else " No such rubric."
            raise CommandError(f"No version {label!r} of rubric {slug!r}.{hint}")
        text = dump_rubric(spec_from_version(version))
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
