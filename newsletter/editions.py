"""Where an edition stands through its day: ingested, curated, sending, sent.

The state is read from the facts, never stored: the papers featured on the
date, the editor's pins, hides and note, and the edition's Delivery rows,
which the sending side writes as each reader's hour comes. A stored status
would need every send path to keep it right, and would be wrong after any
crash between a send and its update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db.models import Count, Max, Min, Q

from newsletter.models import Delivery, Edition, Paper
from newsletter.selectors import visible_q

S = Delivery.Status
# Statuses a delivery ends in; pending and sending rows are still to go.
FINISHED = (S.SENT, S.FAILED, S.SKIPPED)


class State(StrEnum):
    NO_PAPERS = "no papers"
    INGESTED = "ingested"
    CURATED = "curated"
    SENDING = "sending"
    SENT = "sent"


# The day of an edition, in order (an edition without papers has none yet).
STEPS = (State.INGESTED, State.CURATED, State.SENDING, State.SENT)


@dataclass(frozen=True)
class EditionProgress:
    papers: int = 0  # visible
    pinned: int = 0
    hidden: int = 0
    note: bool = False
    deliveries: dict[str, int] = field(default_factory=dict)  # per status
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None

    @property
    def planned(self) -> int:
        return sum(self.deliveries.values())

    @property
    def finished(self) -> int:
        return sum(self.deliveries.get(status, 0) for status in FINISHED)

    @property
    def curated(self) -> bool:
        """The editor left a mark: a pin, a hidden paper or a note."""
        return bool(self.pinned or self.hidden or self.note)

    @property
    def state(self) -> State:
        if self.planned:
            return State.SENDING if self.finished < self.planned else State.SENT
        if not self.papers:
            return State.NO_PAPERS
        return State.CURATED if self.curated else State.INGESTED

    @property
    def percent(self) -> int:
        """Share of the planned digests that are done, rounded down: 100 only
        when every one is."""
        return self.finished * 100 // self.planned if self.planned else 0

    @property
    def label(self) -> str:
        if self.state == State.SENDING:
            return f"Sending {self.percent}%"
        return "No papers yet" if self.state == State.NO_PAPERS else self.state.capitalize()

    @property
    def papers_summary(self) -> str:
        if not self.papers:
            return "no visible papers on this date"
        parts = [f"{self.papers:,} paper{'s' if self.papers != 1 else ''}"]
        if not self.curated:
            later = self.state in (State.SENDING, State.SENT)
            return f"{parts[0]}, {'no pins, hides or note' if later else 'not curated yet'}"
        parts += [f"{n:,} {what}" for n, what in ((self.pinned, "pinned"), (self.hidden, "hidden")) if n]
        if self.note:
            parts.append("note written")
        return " · ".join(parts)

    @property
    def deliveries_summary(self) -> str:
        """"2 of 4 digests done: 1 sent, 1 skipped; 2 waiting", or "" before any."""
        if not self.planned:
            return ""
        done = ", ".join(
            f"{self.deliveries[status]:,} {status.label.lower()}"
            for status in FINISHED if self.deliveries.get(status)
        )
        if self.state == State.SENT:
            return f"{self.planned:,} digest{'s' if self.planned != 1 else ''}: {done}"
        waiting = self.planned - self.finished
        done = done or "none yet"
        return f"{self.finished:,} of {self.planned:,} digests done: {done}; {waiting:,} waiting"

    def steps(self) -> list[tuple[State, str]]:
        """Each of STEPS with "done", "current", "skipped" (an edition sent
        without the editor's mark) or "todo"."""
        here = STEPS.index(self.state) if self.state in STEPS else -1
        marks = []
        for index, step in enumerate(STEPS):
            if index == here:
                mark = "current"
            elif index > here:
                mark = "todo"
            else:
                mark = "skipped" if step == State.CURATED and not self.curated else "done"
            marks.append((step, mark))
        return marks


def editions_progress(*, editions: Sequence[Edition], times: bool = False) -> dict[int, EditionProgress]:
    """The progress of each edition, by id, in two queries whatever their
    number: papers per date, and deliveries per edition and status (read from
    the (edition, status) index). ``times`` also reads when the first and
    last digest left, which visits every sent row: for one edition's page,
    not for a list. Read-only."""
    editions = list(editions)
    if not editions:
        return {}
    papers = {
        row["featured_on"]: row
        for row in Paper.objects.filter(featured_on__in={e.date for e in editions})
        .values("featured_on")
        .annotate(
            visible=Count("pk", filter=visible_q()),
            pinned=Count("pk", filter=visible_q() & Q(pinned=True)),
            hidden=Count("pk", filter=Q(hidden=True)),
        )
        .order_by()
    }
    extra = {"first": Min("sent_at"), "last": Max("sent_at")} if times else {}
    rows = (
        Delivery.objects.filter(edition__in=[e.pk for e in editions])
        .values("edition", "status")
        .annotate(n=Count("*"), **extra)
        .order_by()
    )
    deliveries: dict[int, dict[str, int]] = {}
    sent_times: dict[int, tuple] = {}
    for row in rows:
        deliveries.setdefault(row["edition"], {})[row["status"]] = row["n"]
        if times and row["status"] == S.SENT:
            sent_times[row["edition"]] = (row["first"], row["last"])
    result = {}
    for edition in editions:
        counts = papers.get(edition.date, {})
        first, last = sent_times.get(edition.pk, (None, None))
        result[edition.pk] = EditionProgress(
            papers=counts.get("visible", 0),
            pinned=counts.get("pinned", 0),
            hidden=counts.get("hidden", 0),
            note=bool(edition.note.strip()),
            deliveries=deliveries.get(edition.pk, {}),
            first_sent_at=first,
            last_sent_at=last,
        )
    return result


def edition_progress(*, edition: Edition) -> EditionProgress:
    """One edition's progress, with the times its first and last digest left."""
    return editions_progress(editions=[edition], times=True)[edition.pk]
