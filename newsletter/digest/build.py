"""One reader's digest for an edition, outside the sending pipeline: what
``preview_digest`` prints and the personalised web copy shows. Reads only;
never creates or changes a Delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.mail import EmailMultiAlternatives

from newsletter.digest.assemble import digest_assemble, reader_links, reader_why_text
from newsletter.digest.history import readers_history
from newsletter.digest.pool import EditionPool, pool_get
from newsletter.digest.render import mail_config, paper_card, parts_get, pool_labels
from newsletter.digest.schedule import weekly_first_day
from newsletter.digest.selection import Reader, Selection, digest_select, keywords_parse, selection_frozen
from newsletter.digest.send import NOTHING_NEW
from newsletter.feedback.learning import tastes_for
from newsletter.models import Delivery
from subscribers.models import Subscriber


@dataclass
class Digest:
    pool: EditionPool
    reader: Reader
    selection: Selection
    delivery: Delivery | None  # the Delivery whose frozen papers these are, if any

    @property
    def empty(self) -> bool:
        return self.selection.empty

    @property
    def reason(self) -> str:
        return NOTHING_NEW if self.empty else ""

    def message(self, *, placeholder_links: bool = False) -> EmailMultiAlternatives:
        """The email; with ``placeholder_links`` (previews) no signed link of the reader's."""
        return digest_assemble(
            pool=self.pool, parts=parts_get(pool=self.pool, digest_format=self.reader.digest_format),
            reader=self.reader, selection=self.selection,
            delivery_id=self.delivery.pk if self.delivery else None, placeholder_links=placeholder_links,
        )


def reader_of(subscriber: Subscriber) -> Reader:
    return Reader(
        pk=subscriber.pk,
        email=subscriber.email,
        topic_ids=frozenset(subscriber.topics.values_list("pk", flat=True)),
        keywords=keywords_parse(subscriber.keywords),
        weekly=subscriber.frequency == Subscriber.Frequency.WEEKLY,
        taste=tastes_for(subscriber_ids=[subscriber.pk]).get(subscriber.pk),
        digest_format=subscriber.digest_format,
    )


def digest_for(*, subscriber: Subscriber, day: date) -> Digest:
    """What the reader received for the edition of ``day`` (the papers frozen
    on their Delivery, in order) or, if nothing was sent yet, what they would
    get now. Read-only."""
    reader = reader_of(subscriber)
    delivery = Delivery.objects.filter(subscriber=subscriber, edition__date=day).first()
    if delivery is not None and not delivery.paper_ids:
        delivery = None  # planned or skipped: nothing frozen yet
    first = weekly_first_day(last=day) if reader.weekly else day
    if delivery is not None:
        pool = pool_get(first=first, last=day)
        if any(pid not in pool.by_id for pid in delivery.paper_ids) and first == day:
            # Sent while the reader was weekly: the papers span the week.
            pool = pool_get(first=weekly_first_day(last=day), last=day)
        selection = selection_frozen(
            pool=pool, reader=reader, paper_ids=delivery.paper_ids, for_you_count=delivery.for_you_count
        )
        return Digest(pool=pool, reader=reader, selection=selection, delivery=delivery)
    pool = pool_get(first=first, last=day)
    history = readers_history(subscriber_ids=[subscriber.pk], before=day)[subscriber.pk]
    selection = digest_select(
        pool=pool, reader=reader, received=history.received,
        since=history.last_sent_on if reader.weekly else None,
    )
    return Digest(pool=pool, reader=reader, selection=selection, delivery=None)


def _items(pool: EditionPool, picks) -> list[dict]:
    return [
        {"card": paper_card(pool.papers[p.index]), "why": p.why, "pinned": pool.papers[p.index].pinned}
        for p in picks
    ]


def reader_page(*, subscriber: Subscriber, day: date) -> dict:
    """Context for a reader's web copy of their digest of ``day``."""
    digest = digest_for(subscriber=subscriber, day=day)
    pool, reader = digest.pool, digest.reader
    mail = mail_config()
    links = reader_links(reader=reader, pool=pool, mail=mail)
    return {
        "day": day,
        "note": pool.note,
        "for_you": _items(pool, digest.selection.for_you),
        "trending": _items(pool, digest.selection.trending),
        "why_text": reader_why_text(reader=reader, pool=pool, site_name=mail.site_name),
        "unsubscribe_url": links.unsubscribe_url,
        **pool_labels(pool),
    }
