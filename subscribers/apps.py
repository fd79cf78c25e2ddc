from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Readers"

    def ready(self):
        # Connects the anymail tracking-signal receiver and registers the deploy
        # check. Imported here, as Django asks, because they import the models.
        from subscribers.provider_events import checks, receiver  # noqa: F401
