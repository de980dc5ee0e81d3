from celery import shared_task

from apps.dashboards import services


@shared_task
def warm_overview_cache(rubric_id: int) -> int:
    """Build the rubric's default overview figures into the cache (after scores change)."""
    return services.warm_overview(rubric_id=rubric_id)
