from django.core.management.base import BaseCommand, CommandError

from apps.demo.services import DEMO_PASSWORD, DemoError, seed_demo
from apps.rubrics.models import PublishedVersionError
from apps.rubrics.rubric_file import RubricFileError


class Command(BaseCommand):
    help = "Fill an empty database with a believable demo organisation (teams, products, rounds)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=150)
        parser.add_argument("--rounds", type=int, default=6)
        parser.add_argument("--seed", type=int, default=2021)
        parser.add_argument(
            "--reset", action="store_true", help="delete existing products, teams and rounds first"
        )

    def handle(self, *args, products, rounds, seed, reset, **options):
        try:
            summary = seed_demo(
                products=products,
                rounds=rounds,
                seed=seed,
                reset=reset,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        except (DemoError, RubricFileError, PublishedVersionError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Demo organisation ready in {summary.seconds:.1f} s: {summary.teams} teams, "
            f"{summary.products} products, {summary.rounds} rounds, "
            f"{summary.responses} responses, {summary.answers} answers."
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for username, role in summary.logins:
            self.stdout.write(f"  {username:<12} {role}")
