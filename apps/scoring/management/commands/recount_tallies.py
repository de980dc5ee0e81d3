from django.core.management.base import BaseCommand, CommandError

from apps.scoring.tallies import recount_tallies


class Command(BaseCommand):
    help = (
        "Check the per-response area tallies the scores are computed from against the"
        " answers (PostgreSQL), and count again those that differ."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="only report; exit with an error if any tally differs from the answers",
        )

    def handle(self, *args, check, **options):
        differing = recount_tallies(fix=not check)
        if differing is None:
            self.stdout.write("This database keeps no area tallies: scores read the answers.")
        elif not differing:
            self.stdout.write("Every area tally matches the answers.")
        elif check:
            raise CommandError(
                f"{differing} area tallies differ from the answers:"
                " run `manage.py recount_tallies`, then `manage.py compute_scores --all`."
            )
        else:
            self.stdout.write(
                f"Counted {differing} area tallies again from the answers;"
                " run `manage.py compute_scores --all` to score with them."
            )
