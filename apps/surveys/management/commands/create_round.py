from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.surveys import rounds
from apps.surveys.models import SurveyRound


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Invalid date {text!r}: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Create a survey round on a published rubric version."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version` names the rubric version here, replacing Django's --version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("key", help="round key, e.g. 2021-10")
        parser.add_argument("--rubric", required=True, help="rubric slug")
        parser.add_argument("--version", dest="label", required=True, help="rubric version label")
        parser.add_argument("--title", default="")
        parser.add_argument("--opens", help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--closes", help="YYYY-MM-DD, inclusive (default: 30 days after opening)"
        )
        parser.add_argument(
            "--state", default=SurveyRound.State.PLANNED, choices=SurveyRound.State.values
        )

    def handle(self, *args, key, rubric, label, title, opens, closes, state, **options):
        opens_on = _date(opens) if opens else timezone.localdate()
        closes_on = _date(closes) if closes else opens_on + timedelta(days=30)
        zone = timezone.get_current_timezone()
        opens_at = datetime.combine(opens_on, time.min, tzinfo=zone)
        # The closing date is the last day to answer: the round closes at the end of that day.
        closes_at = datetime.combine(closes_on + timedelta(days=1), time.min, tzinfo=zone)
        try:
            survey_round = rounds.create_round(
                key=key,
                rubric_slug=rubric,
                version_label=label,
                title=title,
                opens_at=opens_at,
                closes_at=closes_at,
                state=state,
            )
        except rounds.RoundError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created round {survey_round.key} ({survey_round.title}) on "
            f"{survey_round.rubric_version}, {survey_round.state}, "
            f"{opens_on:%Y-%m-%d} to {closes_on:%Y-%m-%d}."
        )
