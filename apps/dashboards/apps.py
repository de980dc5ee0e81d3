"""The dashboards app: after scores change, it asks a worker to warm the overview's cache."""

import logging

from celery import current_app
from django.apps import AppConfig
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.scoring.signals import aggregates_changed

logger = logging.getLogger(__name__)

# Sent by name: the task's module imports the models, and this module is imported before
# the app registry is ready.
WARM_OVERVIEW_TASK = "apps.dashboards.tasks.warm_overview_cache"


class DashboardsConfig(AppConfig):
    name = "apps.dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        aggregates_changed.connect(request_warm_overview, dispatch_uid="dashboards-warm-overview")


def request_warm_overview(sender=None, *, rubric_id: int, **kwargs) -> None:
    """After scores change: warm the overview on a worker. Skipped when tasks run eagerly
    (no worker; the next viewer builds it), and a broker outage only costs that warm-up."""
    if current_app.conf.task_always_eager:
        return
    try:
        current_app.send_task(WARM_OVERVIEW_TASK, args=[rubric_id])
    except KombuOperationalError:
        logger.warning("Broker unreachable: the overview of rubric %s is not warmed", rubric_id)
