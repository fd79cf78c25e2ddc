"""What a reader chooses: topics, keywords, frequency, weekday, time zone,
send hour and the digest's format, and the rules those choices follow.

The rules live here, below both the forms (which show them to readers) and
the services (which check them again for callers without a form), so each
rule has one definition.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from newsletter.models import Topic
from subscribers.models import Subscriber

WEEKDAYS = list(enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]))


@functools.cache
def timezone_names() -> frozenset[str]:
    """Every time zone a reader may choose."""
    names = set(zoneinfo.available_timezones())
    names.add("UTC")
    return frozenset(names)


@dataclass(frozen=True)
class Choices:
    """A reader's delivery choices, as stored in ``pending_choices``.
    ``build`` re-checks what the forms check, for callers without a form
    (imports, the shell): a ValueError, never a half-written reader."""

    topics: list[str]  # topic slugs
    keywords: str
    frequency: str
    weekday: int
    timezone: str
    send_hour: int
    # Last, with a default: choices stored before it existed still load.
    digest_format: str = Subscriber.DigestFormat.FULL

    @classmethod
    def build(cls, *, topics: Iterable[Topic | str], keywords: str = "",
              frequency: str = Subscriber.Frequency.DAILY, weekday: int = 0, timezone: str = "UTC",
              send_hour: int = 7, digest_format: str = Subscriber.DigestFormat.FULL) -> Choices:
        slugs = [t.slug if isinstance(t, Topic) else str(t) for t in topics]
        if frequency not in Subscriber.Frequency.values:
            raise ValueError(f"unknown frequency {frequency!r}")
        if digest_format not in Subscriber.DigestFormat.values:
            raise ValueError(f"unknown digest format {digest_format!r}")
        if not (0 <= int(send_hour) <= 23 and 0 <= int(weekday) <= 6):
            raise ValueError("send_hour must be 0-23 and weekday 0-6")
        if timezone not in timezone_names():
            raise ValueError(f"unknown time zone {timezone!r}")
        return cls(slugs, keywords.strip(), frequency, int(weekday), timezone, int(send_hour), digest_format)

    def apply(self, subscriber: Subscriber) -> None:
        """Write the scalar choices onto ``subscriber`` (saved by the caller)."""
        subscriber.keywords = self.keywords
        subscriber.frequency = self.frequency
        subscriber.weekday = self.weekday
        subscriber.timezone = self.timezone
        subscriber.send_hour = self.send_hour
        subscriber.digest_format = self.digest_format

    def apply_topics(
        self, subscriber: Subscriber, *, rows: Iterable[Topic] | None = None, new: bool = False
    ) -> None:
        """Set the topics of a saved reader; topics retired since are dropped.
        ``rows``: the Topic rows of these choices when the caller has them
        (the signup form just read them); ``new``: the reader has no topics
        yet, so they are inserted without first reading what is there."""
        if rows is None:
            rows = list(Topic.objects.filter(slug__in=self.topics, active=True))
        rows = [topic for topic in rows if topic.active]
        if new:
            through = Subscriber.topics.through
            through.objects.bulk_create([through(subscriber_id=subscriber.pk, topic_id=t.pk) for t in rows])
        else:
            subscriber.topics.set(rows)
