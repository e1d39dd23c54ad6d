from django.apps import AppConfig


class RecognitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recognitions"
    verbose_name = "Recognitions"
