from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.reminders import selectors, services
from apps.reminders.selectors import Recipient
from apps.surveys.models import SurveyRound


class Command(BaseCommand):
    help = (
        "Send the reminders due today (what the daily beat sends: REMINDER_DAYS before each "
        "open round's deadline, and retries of those not delivered), or with --round KEY "
        "remind every team of that round with products not submitted yet, now. Nobody is "
        "reminded twice of a product on the same day. --dry-run prints who would get what."
    )

    def add_arguments(self, parser):
        parser.add_argument("--round", dest="key", help="remind this open round now, e.g. 2024-04")
        parser.add_argument("--dry-run", action="store_true", help="print, send nothing")

    def handle(self, *args, key, dry_run, **options):
        if key:
            survey_round = SurveyRound.objects.filter(key=key).first()
            if survey_round is None:
                raise CommandError(f"No round {key!r}.")
            if survey_round.state != SurveyRound.State.OPEN:
                raise CommandError(f"Round {key} is {survey_round.state}: only open rounds.")
            plan = [(survey_round, services.chosen_recipients(survey_round))]
        else:
            plan = services.scheduled_plan()
        if dry_run:
            self._print_plan(plan)
            self.stdout.write("Dry run: nothing was sent.")
            return
        if key:
            reports = [services.remind(survey_round=plan[0][0])]
        else:
            reports = services.send_scheduled_reminders()
        for report in reports:
            self.stdout.write(
                f"Round {report.round.key}: {report.delivered} mails delivered, "
                f"{report.failed} not delivered, {report.skipped} people already reminded today."
            )
        if not reports:
            self.stdout.write("No reminders are due today.")
        if any(report.failed for report in reports):
            raise CommandError("Some mails were not delivered (see the log); the next run retries.")

    def _print_plan(self, plan: list[tuple[SurveyRound, list[Recipient]]]) -> None:
        today = services.organisation_today()
        if not plan:
            self.stdout.write("No reminders are due today.")
        for survey_round, people in plan:
            deadline = timezone.localtime(survey_round.closes_at, timezone.get_default_timezone())
            self.stdout.write(
                f"Round {survey_round.key} (deadline {deadline:%Y-%m-%d %H:%M} "
                f"{deadline.tzinfo}, {services.days_left(survey_round, today)} days left): "
                f"{len(people)} {'person' if len(people) == 1 else 'people'}"
            )
            reminded = selectors.reminded_on(survey_round, today)
            for person in people:
                address = f"<{person.address}>" if person.address else "(no e-mail address)"
                named = [
                    product.name
                    + (" (reminded today)" if (person.user.pk, product.pk) in reminded else "")
                    for product in person.products
                ]
                self.stdout.write(
                    f"  {person.user.get_username()} {address} [{person.language}]: "
                    + ", ".join(named)
                )
