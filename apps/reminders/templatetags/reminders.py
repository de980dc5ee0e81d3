"""The reminders' part of the round page (which sits above reminders and reads it here):
{% reminders_section round laggards %} shows the Remind form to administrators who may change
rounds and the reminder log to viewers and administrators."""

from django import template

from apps.accounts.roles import can_remind, sees_everything
from apps.reminders import selectors
from apps.reminders.models import ReminderMail

register = template.Library()

LOG_LENGTH = 50


@register.inclusion_tag("reminders/round_section.html", takes_context=True)
def reminders_section(context, survey_round, laggards) -> dict:
    """The Remind form (teams, and the products listed above) and the latest mails."""
    user = context["request"].user
    if not sees_everything(user):
        return {"shown": False}
    remindable = survey_round.state == survey_round.State.OPEN and can_remind(user)
    mails = list(selectors.round_mails(survey_round)[: LOG_LENGTH + 1])
    if len(mails) <= LOG_LENGTH:  # all of them: no need to count in the database
        total = len(mails)
        failed = sum(1 for mail in mails if mail.status == ReminderMail.Status.FAILED)
    else:
        total, failed = selectors.count_mails(survey_round)
    return {
        "shown": True,
        "round": survey_round,
        "remindable": remindable,
        "teams": selectors.remindable_teams(survey_round) if remindable else [],
        "products": list(laggards) if remindable else [],
        "mails": mails[:LOG_LENGTH],
        "failed": failed,
        "total": total,
        "log_length": LOG_LENGTH,
        "csrf_token": context.get("csrf_token"),
    }
