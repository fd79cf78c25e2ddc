import os

from django.core.wsgi import get_wsgi_application

from config.env import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

with exit_on_config_error():
    application = get_wsgi_application()
