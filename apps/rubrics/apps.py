from django.apps import AppConfig


class RubricsConfig(AppConfig):
    name = "apps.rubrics"
    verbose_name = "Rubrics"
