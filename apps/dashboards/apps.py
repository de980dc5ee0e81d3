from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "apps.dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from apps.scoring.signals import aggregates_changed

        aggregates_changed.connect(_warm, dispatch_uid="dashboards-warm-overview")


def _warm(sender, rubric_id: int, **kwargs) -> None:
    from apps.dashboards.charts import request_warm_overview

    request_warm_overview(rubric_id=rubric_id)
