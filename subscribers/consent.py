"""The consent wording readers see, versioned.

The exact text shown on the signup form and the confirmation page is stored
with every ConsentRecord. Change the wording only together with the version,
so every record says which text the reader agreed to.
"""

from __future__ import annotations

from django.conf import settings

CONSENT_VERSION = "2026-11-26.1"

CONSENT_WORDING = (
    "I agree to receive the {site} digest of trending AI research papers by email, "
    "at the frequency and time I choose. {site} keeps my email address, my choices and "
    "this record of my consent until I delete them. Every email has a one-click "
    "unsubscribe link, and my preferences page lets me download or delete my data "
    "at any time."
)


def consent_wording() -> str:
    """The wording as shown to readers (with this site's name)."""
    return CONSENT_WORDING.format(site=settings.SITE_NAME)
