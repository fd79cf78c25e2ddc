from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        # Registering a lookup is a side effect of importing the module; Django
        # runs ready() once the app registry is loaded, the place for it.
        from config.lib import lookups  # noqa: F401 - registers the any_of lookup
