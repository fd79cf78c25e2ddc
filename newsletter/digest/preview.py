"""What an editor sees before the day goes out: any reader's digest (or the
digest an ad-hoc choice of topics and keywords would get), rendered by the
same ``digest_select`` and ``digest_assemble`` the sender uses, and a test
copy of it sent to the editor.

Previews read only: no Delivery row is created or changed. A test send is
exempt from Delivery records too, is marked as a test (subject prefix,
header, anymail tag) and still honours the suppression list. Neither carries
a reader's signed links: their places hold inert placeholders
(``assemble.preview_links``), so a preview never opens a reader's
preferences, data or unsubscribe.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from dataclasses import dataclass

from anymail.exceptions import AnymailError
from django.core.mail import EmailMultiAlternatives, get_connection

from config.lib.audit import editorial_log
from config.lib.emails import message_build
from config.mail import bulk_message_options
from newsletter.digest.assemble import digest_assemble, digest_values, preview_links
from newsletter.digest.build import digest_for
from newsletter.digest.pool import pool_get
from newsletter.digest.render import parts_get
from newsletter.digest.selection import Reader, digest_select, keywords_parse
from newsletter.models import Edition, Topic
from subscribers.addresses import email_key
from subscribers.models import Subscriber
from subscribers.suppression import is_suppressed

TEST_SUBJECT_PREFIX = "[TEST] "
TEST_HEADER = "X-Daily-Papers-Test"
TEST_TAG = "test"
# An ad-hoc selection belongs to nobody: this id, which no subscriber has.
AD_HOC_READER_ID = 0
# Headers of the reader's email a test copy leaves out: the editor's mail
# client would offer a one-click unsubscribe that acts for the reader.
READER_ONLY_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post")


class PreviewError(ValueError):
    """A preview or test send that cannot be made, in words for the editor."""


@dataclass(frozen=True)
class Preview:
    """One rendered digest: ``message`` is the object the sender would hand
    to the email backend (None when the reader would get no email)."""

    edition: Edition
    label: str  # who or what it is the digest of
    subscriber: Subscriber | None
    topic_ids: tuple[int, ...]
    keywords: str
    message: EmailMultiAlternatives | None
    preheader: str = ""
    reason: str = ""  # why there is no email
    warning: str = ""  # why this reader would not be mailed today

    @property
    def subject(self) -> str:
        return self.message.subject if self.message else ""

    @property
    def html(self) -> str:
        return self.message.alternatives[0][0] if self.message else ""

    @property
    def text(self) -> str:
        return self.message.body if self.message else ""


def _preheader(*, digest_pool, reader: Reader, selection) -> str:
    parts = parts_get(pool=digest_pool, digest_format=reader.digest_format)
    links = preview_links(pool=digest_pool, mail=parts.mail)
    values = digest_values(pool=digest_pool, reader=reader, selection=selection, links=links, mail=parts.mail)
    return values["preheader"]


def reader_blockers(subscriber: Subscriber) -> list[str]:
    """Why the sender would not mail this reader, in words ("paused", ...); empty: it would."""
    blockers = []
    if subscriber.status != Subscriber.Status.ACTIVE:
        blockers.append(subscriber.get_status_display().lower())
    if subscriber.paused:
        blockers.append("paused")
    if is_suppressed(subscriber.email):
        blockers.append("on the suppression list")
    return blockers


def _reader_warning(subscriber: Subscriber) -> str:
    blockers = reader_blockers(subscriber)
    if not blockers:
        return ""
    return f"{subscriber.email} is {', '.join(blockers)}: the sender would not mail them."


def preview_for_reader(*, edition: Edition, subscriber: Subscriber) -> Preview:
    """The digest ``subscriber`` gets for ``edition``: what was sent if their
    Delivery froze it, else what the sender would assemble now. Read-only."""
    digest = digest_for(subscriber=subscriber, day=edition.date)
    base = {"edition": edition, "label": subscriber.email, "subscriber": subscriber,
            "topic_ids": tuple(sorted(digest.reader.topic_ids)), "keywords": subscriber.keywords,
            "warning": _reader_warning(subscriber)}
    if not digest.pool.papers:
        return Preview(**base, message=None, reason="this edition has no visible papers")
    if digest.empty:
        return Preview(**base, message=None, reason=digest.reason)
    return Preview(
        **base, message=digest.message(placeholder_links=True),
        preheader=_preheader(digest_pool=digest.pool, reader=digest.reader, selection=digest.selection),
    )


def preview_for_topics(*, edition: Edition, topic_ids: Iterable[int], keywords: str, email: str) -> Preview:
    """The digest a new daily reader following ``topic_ids`` and ``keywords``
    would get for ``edition`` (no history: everything is new to them),
    addressed to ``email``. Unknown or retired topic ids are an error. Read-only."""
    wanted = {int(t) for t in topic_ids}
    known = set(Topic.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))
    if wanted - known:
        raise PreviewError(f"no active topic has the id {', '.join(map(str, sorted(wanted - known)))}")
    reader = Reader(pk=AD_HOC_READER_ID, email=email, topic_ids=frozenset(known),
                    keywords=keywords_parse(keywords))
    chosen = Topic.objects.filter(pk__in=known).order_by("position", "name")
    names = ", ".join(chosen.values_list("name", flat=True))
    label = " + ".join(part for part in [names, ", ".join(reader.keywords)] if part) or "every topic"
    base = {"edition": edition, "label": label, "subscriber": None, "topic_ids": tuple(sorted(known)),
            "keywords": ", ".join(reader.keywords)}
    pool = pool_get(first=edition.date, last=edition.date)
    if not pool.papers:
        return Preview(**base, message=None, reason="this edition has no visible papers")
    selection = digest_select(pool=pool, reader=reader, received=set(), since=None)
    if selection.empty:
        return Preview(**base, message=None, reason="no paper of this edition matches this selection")
    message = digest_assemble(pool=pool, parts=parts_get(pool=pool, digest_format=reader.digest_format),
                              reader=reader, selection=selection,
                              placeholder_links=True)
    return Preview(**base, message=message,
                   preheader=_preheader(digest_pool=pool, reader=reader, selection=selection))


def preview_reader_find(*, query: str, limit: int = 10) -> tuple[Subscriber | None, list[Subscriber]]:
    """The reader whose address is ``query`` (any case) or the only one whose
    address contains it; else up to ``limit`` readers whose address contains
    it, for the editor to choose from."""
    query = query.strip()
    if not query:
        raise PreviewError("type a reader's address (or part of it)")
    query = email_key(query)
    exact = Subscriber.objects.filter(email__iexact=query).first()
    if exact is not None:
        return exact, []
    matches = list(Subscriber.objects.filter(email__icontains=query).order_by("email")[:limit])
    if len(matches) == 1:
        return matches[0], []
    return None, matches


def preview_test_copy(*, preview: Preview, to: str) -> EmailMultiAlternatives:
    """The test copy of a preview: the same subject behind "[TEST]", the same
    text and HTML parts, addressed to ``to``, tagged and flagged as a test,
    with no metadata that would tie provider events to the reader."""
    original = preview.message
    headers = {k: v for k, v in original.extra_headers.items() if k not in READER_ONLY_HEADERS}
    headers[TEST_HEADER] = "1"
    (html, _mimetype), = original.alternatives
    return message_build(
        subject=TEST_SUBJECT_PREFIX + original.subject, text=original.body, html=html, to=to,
        from_email=original.from_email, headers=headers, tags=[TEST_TAG],
        metadata={"test": "1", "edition": preview.edition.date.isoformat()},
        # The same stream as the digests (e.g. Postmark's broadcast stream).
        options=bulk_message_options().items(),
    )


def digest_test_send(*, preview: Preview, editor, connection=None) -> str:
    """Send ``preview`` to the editor's own address as a test, through the
    configured email backend, and record it in the admin log. Creates no
    Delivery. Refuses (PreviewError, nothing sent) when there is no email to
    send, the editor has no address, or the address is suppressed. Returns
    the address it went to. Sends mail once per call."""
    if preview.message is None:
        raise PreviewError(f"there is nothing to send: {preview.reason}")
    to = (getattr(editor, "email", "") or "").strip()
    if not to:
        raise PreviewError("your account has no email address; add one to your user in the admin first")
    if is_suppressed(to):
        raise PreviewError(
            f"{to} is on the suppression list (a bounce, complaint or unsubscribe), so no test is sent there"
        )
    message = preview_test_copy(preview=preview, to=to)
    try:
        sent = (connection or get_connection()).send_messages([message])
    except (AnymailError, OSError, smtplib.SMTPException) as exc:
        raise PreviewError(f"the email backend refused the test ({exc.__class__.__name__}: {exc})") from exc
    if not sent:
        raise PreviewError("the email backend did not send the test")
    # The log names a reader by id: it outlives the reader's address (erasure).
    who = f"reader #{preview.subscriber.pk}" if preview.subscriber else preview.label
    editorial_log(by=editor, objects=[preview.edition], message=f"Sent a test of the digest of {who} to {to}")
    return to
