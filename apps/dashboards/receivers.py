"""Dashboards follow scoring: new aggregates warm the overview's cached charts on a worker
(connected in DashboardsConfig.ready)."""

import logging

from celery import current_app
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.scoring.signals import aggregates_changed

logger = logging.getLogger(__name__)

# Sent by name, so this module needs no import of the task's (tests check the name).
WARM_OVERVIEW_TASK = "apps.dashboards.tasks.warm_overview_cache"


def request_warm_overview(sender=None, *, rubric_id: int, **kwargs) -> None:
    """After scores change: warm the overview on a worker. Skipped when tasks run eagerly
    (no worker; the next viewer builds it), and a broker outage only costs that warm-up."""
    if current_app.conf.task_always_eager:
        return
    try:
        current_app.send_task(WARM_OVERVIEW_TASK, args=[rubric_id])
    except KombuOperationalError:
        logger.warning("Broker unreachable: the overview of rubric %s is not warmed", rubric_id)


def connect() -> None:
    aggregates_changed.connect(request_warm_overview, dispatch_uid="dashboards-warm-overview")
