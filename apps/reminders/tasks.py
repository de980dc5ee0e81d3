from celery import shared_task
from django.contrib.auth import get_user_model

from apps.reminders import services
from apps.surveys.models import SurveyRound


@shared_task
def send_scheduled_reminders() -> None:
    """Daily (Celery beat): the reminders due by REMINDER_DAYS, and the retries."""
    services.send_scheduled_reminders()


@shared_task
def send_invitations(round_id: int, user_id: int | None = None) -> None:
    """Invite the teams of a round that has just opened."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    services.invite(survey_round=SurveyRound.objects.get(pk=round_id), triggered_by=user)


@shared_task
def send_reminders(round_id: int, user_id: int, teams: list[int], products: list[int]) -> None:
    """Remind the chosen teams and products of a round now (the round page's Remind)."""
    services.remind(
        survey_round=SurveyRound.objects.get(pk=round_id),
        triggered_by=get_user_model().objects.filter(pk=user_id).first(),
        teams=teams,
        products=products,
    )
