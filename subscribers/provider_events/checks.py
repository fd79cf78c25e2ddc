"""``manage.py check --deploy``: a routed webhook nothing authenticates.

Start-up already refuses this with DEBUG off (``config.mail.webhook_settings``);
the check reports it wherever DEBUG is on, e.g. a staging copy."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning

from config.mail import webhooks_unauthenticated


@register(Tags.security, deploy=True)
def webhooks_authenticated_check(app_configs, **kwargs):
    return [
        CheckWarning(
            f"The {name} tracking webhook is routed and nothing authenticates it: anyone can post "
            f"bounces and complaints to /anymail/{name}/tracking/ and suppress any reader.",
            hint="Set ANYMAIL_WEBHOOK_SECRET (user:password, put in the provider's webhook URL), or route "
                 "only the provider you use (EMAIL_PROVIDER, WEBHOOK_PROVIDERS).",
            id="subscribers.W001",
        )
        for name in webhooks_unauthenticated(providers=settings.WEBHOOK_PROVIDERS, anymail=settings.ANYMAIL)
    ]
