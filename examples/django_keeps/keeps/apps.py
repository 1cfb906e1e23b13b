from django.apps import AppConfig


class KeepsConfig(AppConfig):
    name = "keeps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        if getattr(settings, "KEEPS_START_WORKER", False):
            from . import services

            services.start_worker()
