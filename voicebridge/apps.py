from django.apps import AppConfig


class VoiceBridgeConfig(AppConfig):
    name = "voicebridge"
    default_auto_field = "django.db.models.BigAutoField"
