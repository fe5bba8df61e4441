from django.apps import AppConfig


class ElectionsConfig(AppConfig):
    name = "elections"
    verbose_name = "Elections"

    def ready(self) -> None:
        from . import permanence

        permanence.connect()
