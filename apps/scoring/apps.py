from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "apps.scoring"
    verbose_name = "Scores"

    def ready(self) -> None:
        from apps.scoring import receivers  # models are ready only now

        receivers.connect()
