from django.apps import AppConfig


class CorevaluesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "corevalues"
    verbose_name = "Core values"
