from django.apps import AppConfig


class VoiceSessionsConfig(AppConfig):
    # "sessions" would clash with django.contrib.sessions, which allauth needs.
    name = "sessions"
    label = "voice_sessions"
    verbose_name = "Voice sessions"
    default_auto_field = "django.db.models.BigAutoField"
