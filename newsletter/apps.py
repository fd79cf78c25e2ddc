from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        from config.lib import lookups  # noqa: F401 - registers the any_of lookup
