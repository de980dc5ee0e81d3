from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.rubrics import services
from apps.rubrics.models import PublishedVersionError
from apps.rubrics.rubric_file import RubricFileError, parse_rubric_text, size_problem


class Command(BaseCommand):
    help = "Load a rubric YAML file (published unless --draft). Reloading the same file is a no-op."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--draft", action="store_true", help="keep the version as an editable draft"
        )

    def handle(self, *args, file: Path, draft: bool, **options):
        try:
            too_big = size_problem(file.stat().st_size)  # refused without reading it
            if too_big:
                raise CommandError(f"{file}: {too_big}, nothing loaded")
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{file}: not UTF-8 text ({error.reason} at byte {error.start})"
            ) from None
        try:
            spec = parse_rubric_text(text)
            result = services.load_rubric(spec=spec, publish=not draft)
        except RubricFileError as error:
            problems = "\n".join(f"  {problem}" for problem in error.problems)
            raise CommandError(
                f"{file}: {len(error.problems)} problem(s), nothing loaded:\n{problems}"
            ) from None
        except (PublishedVersionError, services.RubricContentError) as error:
            raise CommandError(f"{file}: {error}") from None
        version = result.version
        self.stdout.write(
            f"{file}: {spec.rubric} {spec.version} {result.outcome} "
            f"({version.state}; {len(spec.areas)} areas, {spec.question_count} questions, "
            f"{len(spec.scale)} scale levels)"
        )
