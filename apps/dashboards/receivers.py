"""Dashboards follow scoring: new aggregates warm the overview's cached charts."""

from apps.dashboards.charts import request_warm_overview
from apps.scoring.signals import aggregates_changed


def warm_overview(sender, *, rubric_id: int, **kwargs) -> None:
    request_warm_overview(rubric_id=rubric_id)


def connect() -> None:
    aggregates_changed.connect(warm_overview, dispatch_uid="dashboards-warm-overview")
