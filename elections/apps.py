from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ElectionsConfig(AppConfig):
    name = "elections"
    verbose_name = gettext_lazy("Elections")

    def ready(self) -> None:
        from . import permanence

        permanence.connect()
