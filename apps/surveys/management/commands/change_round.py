from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.surveys import rounds
from apps.surveys.models import SurveyRound

TRANSITIONS = ("open", "reopen", "deadline")


def _end_of(text: str) -> datetime:
    """The end of the named day (the last day to answer), in the organisation's time zone."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Invalid date {text!r}: use YYYY-MM-DD.") from None
    return datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
    )


class Command(BaseCommand):
    help = (
        "Open a planned round, reopen a closed one (with a reason), or move a round's "
        "deadline; closing is close_round (it shows the impact first)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=TRANSITIONS)
        parser.add_argument("key", help="round key, e.g. 2024-04")
        parser.add_argument("--closes", help="new last day to answer, YYYY-MM-DD")
        parser.add_argument("--reason", default="", help="why, for the round's log")

    def handle(self, *args, action, key, closes, reason, **options):
        survey_round = SurveyRound.objects.filter(key=key).first()
        if survey_round is None:
            raise CommandError(f"No round {key!r}.")
        deadline = _end_of(closes) if closes else None
        try:
            if action == "open":
                survey_round = rounds.open_round(survey_round=survey_round, reason=reason)
            elif action == "reopen":
                survey_round = rounds.reopen_round(
                    survey_round=survey_round, reason=reason, closes_at=deadline
                )
            else:
                if deadline is None:
                    raise CommandError("Say the new deadline with --closes YYYY-MM-DD.")
                survey_round = rounds.extend_deadline(
                    survey_round=survey_round, closes_at=deadline, reason=reason
                )
        except rounds.RoundError as error:
            raise CommandError(str(error)) from None
        closes_at = timezone.localtime(survey_round.closes_at)
        self.stdout.write(
            f"Round {key} is {survey_round.state}, answers until {closes_at:%Y-%m-%d %H:%M}."
        )
