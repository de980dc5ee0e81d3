from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "apps.dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from apps.dashboards import receivers  # models are ready only now

        receivers.connect()
