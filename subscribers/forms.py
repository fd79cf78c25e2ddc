"""Forms for signup and preferences: they parse and validate input, nothing more.

Every rejection is a sentence a reader understands. Values that cannot be
stored safely (line breaks in an address, control characters, text that was
not valid UTF-8, unknown topics or time zones, over-long values) never reach
the services.
"""

from __future__ import annotations

import functools

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from newsletter.models import Topic
from subscribers.addresses import NormalisedEmailField
from subscribers.choices import WEEKDAYS, Choices, timezone_names
from subscribers.models import Subscriber

KEYWORDS_MAX_CHARS = 500
KEYWORDS_MAX_COUNT = 20
KEYWORD_MAX_CHARS = 60
HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]
# The honeypot's name: plausible to a bot, ignored by browsers' autofill.
HONEYPOT_FIELD = "leave_empty"
MAX_TOPICS_ASKED = 30


def _check_readable(value: str) -> None:
    # Django replaces undecodable bytes with U+FFFD while parsing the body.
    if "\ufffd" in value:
        raise ValidationError(
            "This contains characters we could not read (the text was not valid UTF-8). "
            "Please type it again.",
            code="encoding",
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError("This must be plain text on one line.", code="control")


@functools.cache
def timezone_choices() -> list:
    """Time zones grouped by region ("Europe" -> "Paris"), UTC first."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(timezone_names()):
        if name == "UTC":
            continue
        region, _, place = name.partition("/")
        if not place:
            region, place = "Other", name
        groups.setdefault(region, []).append((name, place.replace("_", " ").replace("/", " / ")))
    return [("UTC", "UTC"), *((region, choices) for region, choices in groups.items())]


class AddressField(NormalisedEmailField):
    """An address typed by a visitor: one line, readable, cleaned to its
    normalised spelling (so limits and lookups see one mailbox)."""

    def to_python(self, value):
        # Check before the default strip() would quietly drop a trailing CR/LF:
        # a line break in an address is a header-injection attempt, not a typo.
        if value and ("\r" in value or "\n" in value):
            raise ValidationError("An email address must be on one line.", code="newline")
        if value:
            _check_readable(value)
        return super().to_python(value)


@functools.cache
def _timezone_options_html() -> tuple[tuple[str, str, str], ...]:
    """Each option pre-escaped once per process: (value, opening tag, rest)."""
    parts = []
    for value, label in timezone_choices():
        if isinstance(label, list):
            parts.append(("", f'<optgroup label="{escape(value)}">', ""))
            parts.extend(
                (name, f'<option value="{escape(name)}"', f">{escape(place)}</option>")
                for name, place in label
            )
            parts.append(("", "</optgroup>", ""))
        else:
            parts.append((value, f'<option value="{escape(value)}"', f">{escape(label)}</option>"))
    return tuple(parts)


class TimezoneSelect(forms.Select):
    """Renders the ~600 time zones from pre-escaped strings: Django's
    template-per-option rendering made the signup page ten times slower."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        attr_html = "".join(f' {escape(k)}="{escape(v)}"' for k, v in attrs.items() if v not in (None, False))
        selected = str(value) if value not in (None, "") else ""
        out = [f'<select name="{escape(name)}"{attr_html}>']
        for option_value, head, tail in _timezone_options_html():
            if option_value and option_value == selected:
                out.append(f"{head} selected{tail}")
            else:
                out.append(head + tail)
        out.append("</select>")
        return mark_safe("".join(out))  # noqa: S308 - every part is escaped above


class TimezoneField(forms.ChoiceField):
    """Checked against the set of zone names: ChoiceField walks every choice
    on each check, and with callable choices rebuilds all ~600 first (that
    was a tenth of a signup's time)."""

    def valid_value(self, value) -> bool:
        return str(value) in timezone_names()


class KeywordsField(forms.CharField):
    """Words or phrases separated by commas: readable text on one line, at
    most KEYWORDS_MAX_CHARS in all, KEYWORDS_MAX_COUNT of them, each at most
    KEYWORD_MAX_CHARS long. Cleaned to "a, b", case-insensitive repeats
    dropped (the first spelling wins). The CSV import checks its cells with
    this same field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", KEYWORDS_MAX_CHARS)
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        raw = super().clean(value)
        _check_readable(raw)
        words = [word.strip() for word in raw.split(",") if word.strip()]
        if len(words) > KEYWORDS_MAX_COUNT:
            raise ValidationError(f"Please enter at most {KEYWORDS_MAX_COUNT} keywords.", code="too_many")
        for word in words:
            if len(word) > KEYWORD_MAX_CHARS:
                raise ValidationError(
                    f"Each keyword can be at most {KEYWORD_MAX_CHARS} characters long.", code="too_long"
                )
        unique: dict[str, str] = {}
        for word in words:
            unique.setdefault(word.lower(), word)
        return ", ".join(unique.values())


class TopicChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return format_html(
            '<span class="topic-name">{}</span><span class="topic-desc">{}</span>', obj.name, obj.description
        )


class ChoicesForm(forms.Form):
    """What a reader chooses: shared by the signup and preferences forms, and
    the CSV import checks its rows with these fields."""

    topics = TopicChoiceField(
        queryset=Topic.objects.filter(active=True),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={
            "invalid_choice": "One of the chosen topics is not one we offer; please pick from the list.",
            "invalid_pk_value": "One of the chosen topics is not one we offer; please pick from the list.",
        },
    )
    keywords = KeywordsField(
        required=False,
        label="Papers mentioning…",
        help_text="Optional. Words or phrases, separated by commas, e.g. Mamba, KV cache, RLHF.",
        widget=forms.TextInput(attrs={"placeholder": "Mamba, KV cache, RLHF", "autocomplete": "off"}),
    )
    frequency = forms.ChoiceField(
        choices=Subscriber.Frequency.choices,
        initial=Subscriber.Frequency.DAILY,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose daily or weekly."},
    )
    # Not required: the CSV import checks its rows with these fields, and a
    # file without the column keeps the default.
    digest_format = forms.ChoiceField(
        choices=Subscriber.DigestFormat.choices,
        initial=Subscriber.DigestFormat.FULL,
        required=False,
        widget=forms.RadioSelect,
        label="Layout",
        error_messages={"invalid_choice": "Choose the full or the compact layout."},
    )
    weekday = forms.TypedChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        initial=0,
        label="Weekday",
        help_text="For weekly readers.",
        error_messages={"invalid_choice": "Pick a day of the week from the list."},
    )
    timezone = TimezoneField(
        choices=timezone_choices,
        widget=TimezoneSelect,
        initial="UTC",
        label="Time zone",
        error_messages={"invalid_choice": "That is not a time zone we know; please pick one from the list."},
    )
    send_hour = forms.TypedChoiceField(
        choices=HOURS,
        coerce=int,
        initial=7,
        label="Preferred hour",
        help_text="Your local time.",
        error_messages={"invalid_choice": "Pick an hour between 00:00 and 23:00."},
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("topics") and not cleaned.get("keywords"):
            raise ValidationError("Pick at least one topic, or enter a keyword.", code="empty")
        return cleaned

    def choices(self) -> Choices:
        """The valid form's choices, as the services take them."""
        data = self.cleaned_data
        return Choices.build(topics=data["topics"], keywords=data["keywords"], frequency=data["frequency"],
                             weekday=data["weekday"], timezone=data["timezone"], send_hour=data["send_hour"],
                             digest_format=data.get("digest_format") or Subscriber.DigestFormat.FULL)


class SubscribeForm(ChoicesForm):
    field_order = ["email", "topics", "keywords", "frequency", "weekday", "timezone", "send_hour",
                   "digest_format"]

    email = AddressField(
        max_length=254,
        label="Email address",
        error_messages={"invalid": "Please enter a valid email address, like name@example.org."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )


class PreferencesForm(ChoicesForm):
    paused = forms.BooleanField(
        required=False, label="Pause my digest", help_text="No emails until you untick this."
    )


class AddressForm(forms.Form):
    """Just an address: asking for a fresh confirmation link."""

    email = AddressField(
        max_length=254,
        label="Email address",
        error_messages={"invalid": "Please enter a valid email address, like name@example.org."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )


def topics_asked(values: list[str]) -> list[str]:
    """The active topics' slugs named in ``?topics=a,b`` (links from paper
    and topic pages), to tick them on the signup form; others are ignored."""
    slugs = {slug.strip() for value in values for slug in value.split(",") if slug.strip()}
    if not slugs:
        return []
    return sorted(Topic.objects.filter(active=True, slug__in=list(slugs)[:MAX_TOPICS_ASKED])
                  .values_list("slug", flat=True))


def honeypot_filled(data) -> bool:
    return bool(data.get(HONEYPOT_FIELD, "").strip())
