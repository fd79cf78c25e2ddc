from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Readers"

    def ready(self):
        # Connects the anymail tracking-signal receiver. Imported here, as
        # Django asks, because the receiver's modules import the models.
        from subscribers.provider_events import receiver  # noqa: F401
