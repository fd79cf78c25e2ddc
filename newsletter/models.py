from __future__ import annotations

import re

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from newsletter.ingest.records import surrogates_replaced

# ASCII only: \d would also accept other scripts' digits ("٢٥٠٧.٠٦٦٠٧"), and
# \Z, unlike $, does not match before a final line break.
_ARXIV_ID = r"\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_RE = re.compile(rf"^(?P<id>{_ARXIV_ID})(?:v(?P<v>[1-9]\d{{0,3}}))?\Z", re.ASCII)
# The same, for URL patterns (no groups; ARXIV_ID_RE checks what it matched).
ARXIV_ID_PATTERN = rf"(?:{_ARXIV_ID})(?:v[1-9]\d{{0,3}})?"


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """``"2507.06607v2"`` -> ``("2507.06607", 2)``; raises ValueError if it is no arXiv id."""
    match = ARXIV_ID_RE.match((raw or "").strip())
    if not match:
        raise ValueError(f"not an arXiv id: {raw!r}")
    version = match.group("v")
    return match.group("id"), int(version) if version else None


def web_link(url: str | None) -> str:
    """``url`` if it is an http(s) address, else "": only web links ever
    become links (never javascript:, data: or anything a browser would run).
    Ingestion already drops other schemes; this also covers values typed in
    the admin or stored before."""
    value = (url or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else ""


class Topic(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, help_text="What the topic covers, shown to readers.")
    keywords = models.TextField(
        blank=True,
        help_text="Words and phrases that signal the topic, one per line or comma-separated.",
    )
    active = models.BooleanField(default=True, help_text="Retired topics are neither offered nor tagged.")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in re.split(r"[,\n]", self.keywords) if k.strip()]


class PaperLinks:
    """A paper's pages, from its ``arxiv_id``: shared by the model and the
    digest's plain copy of a paper (``digest.pool.PoolPaper``)."""

    __slots__ = ()

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.arxiv_id}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


class PaperManager(models.Manager):
    def get_queryset(self):
        # The search vector is the database's business: never read it back.
        return super().get_queryset().defer("search_vector")


class Paper(PaperLinks, models.Model):
    class Source(models.TextChoices):
        HF = "hf", "Hugging Face"
        ARXIV = "arxiv", "arXiv"
        FILE = "file", "File"

    arxiv_id = models.CharField("arXiv id", max_length=32, unique=True, help_text="Without version.")
    version = models.PositiveSmallIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True, help_text="Author names, in order.")
    published_on = models.DateField("arXiv date", null=True, blank=True)
    featured_on = models.DateField("featured on", null=True, blank=True, db_index=True)
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    github_repo = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    project_page = models.URLField(max_length=500, blank=True)
    thumbnail = models.URLField(max_length=500, blank=True)
    source_position = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text="Place in the source's own (trending) list of the paper's day, 1 first.",
    )
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    arxiv_categories = models.JSONField(default=list, blank=True)
    primary_category = models.CharField(max_length=32, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FILE)
    sources = models.JSONField(default=list, blank=True, help_text="Every source that reported it.")
    topics = models.ManyToManyField(Topic, through="PaperTopic", related_name="papers", blank=True)
    # Topics an editor took off; automatic tagging never puts them back.
    excluded_topics = models.ManyToManyField(Topic, related_name="+", blank=True)
    # Editor-owned fields: ingestion never overwrites them once set.
    title_edited = models.BooleanField(default=False)
    abstract_edited = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    # Weighted title > keywords, authors > AI summary > abstract; on
    # PostgreSQL a trigger keeps it current (migration 0009), elsewhere unused.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaperManager()

    class Meta:
        ordering = ["-featured_on", "-pinned", "-upvotes", "arxiv_id"]
        indexes = [
            models.Index(fields=["featured_on", "hidden"], name="paper_edition_idx"),
            # Created on PostgreSQL only (see migration 0009).
            GinIndex(fields=["search_vector"], name="paper_search_idx"),
        ]

    def __str__(self):
        return f"{self.arxiv_id} {self.title[:80]}"

    def save(self, *args, **kwargs):
        # Ingestion cleans what it stores, but an editor can type a lone
        # surrogate as a JSON escape in the admin ("\ud800" among the
        # authors): no page and no database text can encode it, so it is
        # replaced wherever a paper is saved.
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(value, str):
                setattr(self, field.attname, surrogates_replaced(value))
            elif isinstance(value, list):
                setattr(self, field.attname,
                        [surrogates_replaced(v) if isinstance(v, str) else v for v in value])
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("paper", args=[self.arxiv_id])

    @property
    def github_link(self) -> str:
        return web_link(self.github_repo)

    @property
    def project_link(self) -> str:
        return web_link(self.project_page)

    @property
    def thumbnail_link(self) -> str:
        return web_link(self.thumbnail)

    def excerpt(self, limit: int = 300, *, abstract_limit: int | None = None) -> str:
        """The AI summary, else the abstract, cut at a word boundary to
        ``limit`` characters (``abstract_limit`` when it is the abstract: a
        summary is already short, an abstract is the paper's whole pitch)."""
        # An abstract the editor rewrote wins over the source's AI summary.
        from_summary = bool(self.ai_summary) and not self.abstract_edited
        summary = self.ai_summary if from_summary else self.abstract
        if not from_summary and abstract_limit is not None:
            limit = abstract_limit
        text = " ".join(summary.split())
        if len(text) <= limit:
            return text
        cut = text[:limit].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + "…"


class PaperTopic(models.Model):
    class Origin(models.TextChoices):
        AUTO = "auto", "Automatic"
        EDITOR = "editor", "Editor"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE)
    # Indexed with the paper below: a topic's papers come from the index alone.
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_index=False)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.AUTO)
    score = models.FloatField(default=0.0, help_text="Tagger confidence; 1.0 for editor choices.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "topic"], name="uniq_paper_topic"),
        ]
        indexes = [models.Index(fields=["topic", "paper"], name="papertopic_topic_paper_idx")]

    def __str__(self):
        return f"{self.paper.arxiv_id} · {self.topic.slug} ({self.origin})"


class Edition(models.Model):
    """A day's papers with the editor's note. Where it stands (ingested,
    curated, sending, sent) is read from its papers and deliveries
    (``newsletter.editions``), not stored."""

    date = models.DateField(unique=True)
    note = models.TextField("editor's note", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self):
        return f"Edition of {self.date:%Y-%m-%d}"


class Delivery(models.Model):
    """One reader's digest of one edition. The unique constraint and the
    conditional claim (PENDING -> SENDING) make sending at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        # No answer to the send (ambiguous, interrupted): the provider is asked
        # whether it has the message before anything else happens.
        UNCERTAIN = "uncertain", "Uncertain (asking the provider)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    class Reconciled(models.TextChoices):
        """How an uncertain send was settled."""

        LOOKUP = "lookup", "found at the provider"
        EVENT = "event", "named by a provider event"
        RESEND = "resend", "not at the provider: sent again"

    # No single-column indexes on these three: the composite indexes below
    # start with each of them, and every index is written again each time a
    # row changes status (an insert and two updates per digest sent).
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True, help_text="Why it was skipped or failed.")
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    paper_ids = models.JSONField(default=list, blank=True, help_text="arXiv ids sent, in order.")
    for_you_count = models.PositiveSmallIntegerField(
        default=0, help_text="How many of the paper ids are 'For you'; the rest were 'Also trending'."
    )
    due_at = models.DateTimeField(default=timezone.now, help_text="When the reader's hour came.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a transient failure: not retried before this."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    reconciled = models.CharField(
        max_length=10, choices=Reconciled.choices, blank=True,
        help_text="How a send that got no answer was settled with the provider.",
    )
    reconcile_note = models.CharField(
        max_length=300, blank=True, help_text="What was uncertain, and what settled it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "edition"], name="uniq_delivery_per_edition"),
        ]
        indexes = [
            models.Index(fields=["edition", "status"], name="delivery_edition_status_idx"),
            models.Index(fields=["status", "claimed_at"], name="delivery_status_claimed_idx"),
            # The admin: reason filter and address/message-id search; the
            # dashboard: sends per day. Partial, so they skip the rows that
            # never match.
            models.Index(fields=["reason"], condition=~models.Q(reason=""), name="delivery_reason_idx"),
            models.Index(fields=["sent_at"], condition=models.Q(status="sent"), name="delivery_sent_at_idx"),
            # The admin's "reconciled" filter and the dashboard's settled sends per day.
            models.Index(
                fields=["sent_at"], condition=~models.Q(reconciled=""), name="delivery_reconciled_idx"
            ),
            models.Index(
                fields=["provider_message_id"], condition=~models.Q(provider_message_id=""),
                name="delivery_provider_msg_idx",
            ),
            # "Has this reader had a digest since local midnight?" (scheduling).
            models.Index(fields=["subscriber", "due_at"], name="delivery_subscriber_due_idx"),
        ]

    def __str__(self):
        return f"Delivery #{self.pk} ({self.status})"


class WorkerPing(models.Model):
    """Proof that a Celery worker is consuming the queue: the web process or
    beat creates a row and enqueues a task; the worker stamps ``answered_at``."""

    requested_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    hostname = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"Ping #{self.pk}"




class PaperVote(models.Model):
    """A reader's "More like this" (+1) or "Less like this" (-1) on a paper of
    one of their digests. One row per reader and paper: the last vote wins."""

    class Source(models.TextChoices):
        LINK = "link", "Link in a digest"
        PAGE = "page", "Rating page"

    subscriber = models.ForeignKey("subscribers.Subscriber", on_delete=models.CASCADE, related_name="votes")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="votes")
    edition_date = models.DateField(help_text="The digest the vote came from.")
    value = models.SmallIntegerField(choices=[(1, "More like this"), (-1, "Less like this")])
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.LINK)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="uniq_vote_per_reader_paper"),
            models.CheckConstraint(condition=models.Q(value__in=[1, -1]), name="vote_value_plus_minus_one"),
        ]

    def __str__(self):
        return f"{self.subscriber_id} {'+' if self.value > 0 else '-'} {self.paper_id}"


class ReaderTaste(models.Model):
    """What a reader's votes and clicks taught, ready for digest assembly:
    rebuilt after each vote and when clicks arrive, never per digest."""

    subscriber = models.OneToOneField(
        "subscribers.Subscriber", on_delete=models.CASCADE, primary_key=True, related_name="taste"
    )
    # Feature -> [up, down] (see newsletter.feedback.taste).
    counts = models.JSONField(default=dict, blank=True)
    votes_up = models.PositiveIntegerField(default=0)
    votes_down = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0, help_text="Clicks counted (scanner bursts left out).")
    suggestions = models.JSONField(
        default=list, blank=True, help_text="Topics or keywords to suggest following."
    )
    # Clicks before this are ignored: the reader reset what was learned.
    reset_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"taste of {self.subscriber_id}"


class TopicCorrection(models.Model):
    """An editor's decision on a paper's topic, kept as a labelled example:
    ``expected`` says whether the paper has the topic, ``tagger_score`` what
    the tagger gave it at the time (0 when it did not tag it). One row per
    paper and topic: the last decision counts."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="topic_corrections")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="corrections")
    expected = models.BooleanField()
    tagger_score = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "topic"], name="uniq_correction_per_paper_topic"),
        ]

    def __str__(self):
        return f"{self.paper_id} {'+' if self.expected else '-'} {self.topic_id}"
