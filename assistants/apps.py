from django.apps import AppConfig


class AssistantsConfig(AppConfig):
    name = "assistants"
    verbose_name = "Organizations and assistants"
    default_auto_field = "django.db.models.BigAutoField"
