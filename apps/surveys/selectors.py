"""Read queries for survey pages."""

from django.db.models import Count, Q, QuerySet

from apps.surveys.models import Response, SurveyRound


def rounds_with_progress() -> QuerySet[SurveyRound]:
    """Every round, newest first, with its rubric and counts of draft and submitted responses."""
    return (
        SurveyRound.objects.select_related("rubric_version__rubric")
        .annotate(
            n_submitted=Count("responses", filter=Q(responses__status=Response.Status.SUBMITTED)),
            n_draft=Count("responses", filter=Q(responses__status=Response.Status.DRAFT)),
        )
        .order_by("-opens_at", "-key")
    )
