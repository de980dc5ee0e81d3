from celery import shared_task

from apps.dashboards import charts


@shared_task
def warm_overview_cache(rubric_id: int) -> int:
    """Build the rubric's default overview figures into the cache (after scores change)."""
    return charts.warm_overview(rubric_id=rubric_id)
