from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Readers"

    def ready(self):
        # Connects the anymail tracking-signal receiver.
        from subscribers.provider_events import receiver  # noqa: F401
