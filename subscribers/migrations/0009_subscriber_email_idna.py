"""Stored addresses in their normalised spelling (domain in IDNA ASCII form,
lower case; ``subscribers.addresses.email_normalised``), so that
``x@bücher.example`` and ``x@xn--bcher-kva.example`` are one reader.

Readers whose spellings now name one mailbox are merged; nothing a reader
did is lost:

- The older reader row (earliest ``created_at``, then lowest id) is kept,
  with its id, so its links keep working; the newer rows are folded into it
  and deleted.
- The reader's choices and status (topics, keywords, frequency, day, hour,
  time zone, pause, status and its dates) are those of the row changed
  last: the latest wish wins, as everywhere else.
- Every consent record moves to the kept row.
- Every delivery moves to the kept row. Where both rows had a delivery of
  the same edition (the mailbox got two digests), the one that was sent is
  kept (the kept row's when both or neither were); the papers of the other
  that it lacks are added after its own (so "never the same paper twice"
  knows the mailbox saw them), its provider events point to the kept one,
  and a line in the kept delivery's ``error`` says what was folded in.
- Paper votes move; for a paper both voted on, the later vote wins (as when
  a reader votes twice). The learned taste is kept from the kept row, or
  moved when it had none; provider events follow the reader.
- Suppression rows and provider events hashed from an old spelling are
  re-hashed from the new one; where that leaves two active suppressions of
  one address, the older stays and the other is lifted, saying so.

Suppressions of addresses no reader row holds any more (erased readers)
cannot be re-hashed: the address is gone. An address whose domain has no
IDNA form is left as it was and counted. The migration prints what it did
(reader ids, never addresses); it cannot be reversed.
"""

import hashlib

from django.db import migrations
from django.db.models.functions import Lower
from django.utils import timezone

import subscribers.models
from subscribers.addresses import email_key, email_normalised
from subscribers.models import email_hash

CHOICE_FIELDS = (
    "status", "keywords", "frequency", "weekday", "timezone", "send_hour", "paused", "confirmed_at",
    "unsubscribed_at", "confirmation_requested_at", "confirmation_sent_at", "pending_choices",
    "welcome_sent_at",
)


def _hash_before(email):
    """The suppression hash as it was made before this migration."""
    return hashlib.sha256(b"daily-papers-suppression:" + email.strip().lower().encode()).hexdigest()


def _deliveries_merge(apps, *, kept, other, out):
    Delivery = apps.get_model("newsletter", "Delivery")
    ProviderEvent = apps.get_model("subscribers", "ProviderEvent")
    mine = {d.edition_id: d for d in Delivery.objects.filter(subscriber_id=kept.pk)}
    for theirs in Delivery.objects.filter(subscriber_id=other.pk).order_by("pk"):
        own = mine.get(theirs.edition_id)
        if own is None:
            theirs.subscriber_id = kept.pk
            theirs.save(update_fields=["subscriber"])
            continue
        first, second = (theirs, own) if theirs.status == "sent" and own.status != "sent" else (own, theirs)
        extra = [pid for pid in second.paper_ids if pid not in first.paper_ids]
        first.paper_ids = [*first.paper_ids, *extra]
        sent = f", sent {second.sent_at.isoformat()}" if second.sent_at else ""
        note = (f"merged: delivery #{second.pk} of reader #{second.subscriber_id} for this edition "
                f"({second.status}{sent}; papers {', '.join(second.paper_ids) or 'none'})")
        first.error = f"{first.error}\n{note}".strip()
        ProviderEvent.objects.filter(delivery_id=second.pk).update(delivery_id=first.pk)
        second.delete()
        first.subscriber_id = kept.pk
        first.save(update_fields=["subscriber", "paper_ids", "error"])
        out.append(f"reader #{kept.pk}: two deliveries of one edition folded into #{first.pk}")


def _votes_merge(apps, *, kept, other):
    PaperVote = apps.get_model("newsletter", "PaperVote")
    mine = {v.paper_id: v for v in PaperVote.objects.filter(subscriber_id=kept.pk)}
    for theirs in PaperVote.objects.filter(subscriber_id=other.pk):
        own = mine.get(theirs.paper_id)
        if own is not None and own.updated_at >= theirs.updated_at:
            theirs.delete()
            continue
        if own is not None:
            own.delete()
        PaperVote.objects.filter(pk=theirs.pk).update(subscriber_id=kept.pk)


def _reader_merge(apps, *, kept, other, out):
    """Fold ``other`` into ``kept`` (see the module's docstring) and delete it."""
    ConsentRecord = apps.get_model("subscribers", "ConsentRecord")
    ProviderEvent = apps.get_model("subscribers", "ProviderEvent")
    ReaderTaste = apps.get_model("newsletter", "ReaderTaste")
    if other.updated_at > kept.updated_at:
        for name in CHOICE_FIELDS:
            setattr(kept, name, getattr(other, name))
        kept.save(update_fields=list(CHOICE_FIELDS))
        kept.topics.set(other.topics.all())
    ConsentRecord.objects.filter(subscriber_id=other.pk).update(subscriber_id=kept.pk)
    _deliveries_merge(apps, kept=kept, other=other, out=out)
    _votes_merge(apps, kept=kept, other=other)
    if not ReaderTaste.objects.filter(subscriber_id=kept.pk).exists():
        ReaderTaste.objects.filter(subscriber_id=other.pk).update(subscriber_id=kept.pk)
    ProviderEvent.objects.filter(subscriber_id=other.pk).update(subscriber_id=kept.pk)
    out.append(f"reader #{other.pk} merged into reader #{kept.pk} (one mailbox)")
    other.delete()


def _rehash(apps, *, before, after):
    """Suppressions and provider events hashed from an old spelling."""
    if before == after:
        return
    Suppression = apps.get_model("subscribers", "Suppression")
    ProviderEvent = apps.get_model("subscribers", "ProviderEvent")
    ProviderEvent.objects.filter(recipient_hash=before).update(recipient_hash=after)
    for row in Suppression.objects.filter(email_hash=before).order_by("created_at", "pk"):
        active = Suppression.objects.filter(email_hash=after, lifted_at__isnull=True).first()
        if row.lifted_at is None and active is not None:
            older, newer = (row, active) if row.created_at <= active.created_at else (active, row)
            newer.lifted_at = timezone.now()
            newer.lifted_reason = f"the same address as suppression #{older.pk} (another spelling of its domain)"
            newer.lifted_by = "data migration"
            newer.save(update_fields=["lifted_at", "lifted_reason", "lifted_by"])
        row.email_hash = after
        row.save(update_fields=["email_hash"])


def addresses_normalise(apps, schema_editor=None, out=None):
    Subscriber = apps.get_model("subscribers", "Subscriber")
    report = [] if out is None else out
    changed, unreadable = {}, 0
    for pk, email in Subscriber.objects.values_list("pk", "email").iterator(chunk_size=2000):
        try:
            normalised = email_normalised(email)
        except ValueError:
            unreadable += 1
            continue
        if normalised != email:
            changed[pk] = email
    groups = {}
    for pk, email in changed.items():
        groups.setdefault(email_key(email), set()).add(pk)
    for key, pks in groups.items():
        same = Subscriber.objects.alias(email_lower=Lower("email")).filter(email_lower=key).values_list("pk", flat=True)
        readers = sorted(Subscriber.objects.filter(pk__in=pks | set(same)), key=lambda r: (r.created_at, r.pk))
        kept, others = readers[0], readers[1:]
        spellings = {r.email for r in readers}
        for other in others:
            _reader_merge(apps, kept=kept, other=other, out=report)
        kept.email = email_normalised(kept.email)
        kept.save(update_fields=["email"])
        for spelling in spellings:
            _rehash(apps, before=_hash_before(spelling), after=email_hash(spelling))
    if changed:
        report.insert(0, f"{len(changed)} reader address(es) rewritten with the domain in IDNA form, lower case")
    if unreadable:
        report.append(f"{unreadable} address(es) left as they were: the domain has no IDNA form")
    if out is None:
        for line in report:
            print(f"\n  {line}", end="")


class Migration(migrations.Migration):

    dependencies = [
        ("subscribers", "0008_subscriber_preferences_link_owed"),
        ("newsletter", "0010_reader_feedback_and_topic_corrections"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscriber",
            name="email",
            field=subscribers.models.AddressField(max_length=254),
        ),
        migrations.RunPython(addresses_normalise, migrations.RunPython.noop, elidable=True),
    ]
