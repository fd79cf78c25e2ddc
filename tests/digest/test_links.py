"""The digest's signer is Django's: what it signs, Django reads, and it reads
what Django signed, under a rotated-out key too."""

import pytest
from django.core import signing

from newsletter.digest.links import KeyOnceSigner

SALT = "daily-papers.digest"


def test_a_token_signed_once_per_key_reads_back_with_django():
    signer = KeyOnceSigner(key="k" * 50, salt=SALT)
    token = signer.sign("payload")
    assert token == signing.Signer(key="k" * 50, salt=SALT).sign("payload")
    assert signer.unsign(token) == "payload"


def test_a_signature_under_a_previous_key_is_still_accepted(settings):
    settings.SECRET_KEY_FALLBACKS = ["old" * 20]
    token = signing.Signer(key="old" * 20, salt=SALT).sign("payload")
    assert KeyOnceSigner(key="new" * 20, salt=SALT).unsign(token) == "payload"
    other = signing.Signer(key="other" * 20, salt=SALT).sign("payload")
    with pytest.raises(signing.BadSignature):
        KeyOnceSigner(key="new" * 20, salt=SALT).unsign(other)
