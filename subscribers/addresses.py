"""One spelling per mailbox.

``x@bücher.example`` and ``x@xn--bcher-kva.example`` are the same mailbox:
mail to the first goes to the second (Django encodes the domain with IDNA
when it sends). Every way in (the signup and resend forms, the services, the
CSV import, the admin's reader form) stores the address with its domain in
that ASCII form and in lower case, and every check that says "the same
address" (uniqueness, suppression hashes, rate-limit keys, token
fingerprints) compares ``email_key``. The local part keeps the reader's
spelling; it is compared without case, as before.
"""

from __future__ import annotations

import contextlib

from django import forms
from django.core.exceptions import ValidationError
from django.utils.encoding import punycode

MAX_LENGTH = 254


def email_normalised(email: str) -> str:
    """The address with surrounding space removed and its domain in IDNA
    ASCII form, lower case. ValueError if the domain has no IDNA form (an
    empty or over-long label) or the result is longer than 254 characters.
    Does not check that the rest is an address: validate before or after."""
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    if not domain.isascii():
        try:
            domain = punycode(domain)
        except UnicodeError:
            raise ValueError("the domain of this address cannot be written in ASCII (IDNA)") from None
    normalised = f"{local}@{domain.lower()}"
    if len(normalised) > MAX_LENGTH:
        raise ValueError(f"an email address must be at most {MAX_LENGTH} characters (its domain in ASCII)")
    return normalised


def email_key(email: str) -> str:
    """What identifies a mailbox: the normalised address in lower case. An
    address whose domain has no IDNA form keys as it is written."""
    try:
        return email_normalised(email).lower()
    except ValueError:
        return (email or "").strip().lower()


def address_spellings(email: str) -> set[str]:
    """The ways an address may have been written down: as given, normalised,
    and with its domain in Unicode (compare them without case)."""
    spellings = {(email or "").strip(), email_key(email)}
    local, _, domain = email_key(email).rpartition("@")
    if "xn--" in domain:
        with contextlib.suppress(UnicodeError):
            spellings.add(f"{local}@{domain.encode('ascii').decode('idna')}")
    return {s for s in spellings if s}


class NormalisedEmailField(forms.EmailField):
    """A form's email field that cleans to ``email_normalised``."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return email_normalised(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
