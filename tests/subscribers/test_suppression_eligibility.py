"""A reader suppressed through a provider event is out of every send path:
the suppression list names them and their status is no longer active.

The digest run itself is built separately; once it exists, the end-to-end
check belongs next to it (see docs/providers.md)."""

import pytest

from subscribers.models import Subscriber, Suppression
from subscribers.suppression import is_suppressed, suppressed_among, suppression_add, suppression_lift
from tests import provider_payloads as p
from tests.event_helpers import process_pending
from tests.factories import reader_make

pytestmark = pytest.mark.django_db


def test_complaining_reader_is_suppressed_and_inactive(client):
    ada, grace = reader_make("ada@example.com"), reader_make("grace@example.com")

    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_spam_complaint("ada@example.com"))
    process_pending()

    assert suppressed_among([ada.email, grace.email]) == {ada.email}
    assert set(Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)) == {grace}


def test_suppression_outlives_the_reader(client):
    ada = reader_make("ada@example.com")
    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_bounce("ada@example.com"))
    process_pending()

    ada.delete()

    assert is_suppressed("ADA@example.com")
    assert suppressed_among(["ada@example.com"]) == {"ada@example.com"}


def test_lifting_allows_mail_again_but_leaves_the_reader_status(client):
    ada = reader_make("ada@example.com")
    p.post_json(client, "/anymail/postmark/tracking/", p.postmark_bounce("ada@example.com"))
    process_pending()

    suppression_lift(suppression=Suppression.objects.get(), reason="typo fixed at the provider", by="editor")

    assert suppressed_among([ada.email]) == set()
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.BOUNCED  # they confirm again to become active


@pytest.mark.parametrize("reason", ["", "   \n\t"])
def test_lifting_without_a_reason_is_refused_in_words_and_changes_nothing(reason):
    suppression = suppression_add(email="ada@example.com", reason=Suppression.Reason.BOUNCED)

    with pytest.raises(ValueError, match=r"^a reason is required to lift a suppression$"):
        suppression_lift(suppression=suppression, reason=reason, by="editor")

    suppression.refresh_from_db()
    assert (suppression.lifted_at, suppression.lifted_reason, suppression.lifted_by) == (None, "", "")
    assert is_suppressed("ada@example.com")
