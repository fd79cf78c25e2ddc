"""Every email kind as a reader's mail client shows it, rendered by the code
that sends it, and the README's picture of the daily digest.

    python -m bench.email_screenshot [--out docs/digest.png]

writes the daily digest at 600 px in the light scheme, one column per
digest format (full and compact side by side; only full in a tree whose
readers have no choice of format). The browser test
(tests/digest/test_email_browser.py) renders every kind in ``EMAIL_KINDS``
at two widths and both schemes and checks the layout with
``layout_problems``. The sample papers and readers live in a transaction
that is rolled back: the database is left as it was.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

import bench.bootstrap
from bench.digests import sample_edition_load
from newsletter.digest.build import digest_for
from newsletter.digest.pool import pools_forget
from newsletter.models import Topic
from subscribers.emails import confirmation_send, preferences_link_send, welcome_send
from subscribers.models import Subscriber
from tests.browser import CHROMIUM, chromium

SHOT_DAY = date(2000, 1, 7)  # a Friday: the weekly digest spans Monday to Friday
DOC_IMAGE = Path("docs/digest.png")
# What a reader of the screenshots follows: a few popular topics and keywords.
SHOT_TOPICS = ("inference-serving", "reasoning", "agents-tools", "quantization-compression")
SHOT_KEYWORDS = "speculative decoding, KV cache"


def digest_formats() -> tuple[str, ...]:
    """The digest formats a reader can choose ("full" alone in a tree without the choice)."""
    formats = getattr(Subscriber, "DigestFormat", None)
    return tuple(formats.values) if formats is not None else ("full",)


@dataclass(frozen=True)
class EmailKind:
    name: str
    render: Callable[[], str]  # the HTML part, for the sample edition of SHOT_DAY
    account: bool = False  # confirmation, welcome, preferences link


def _reader(*, status: str = Subscriber.Status.ACTIVE, **fields) -> Subscriber:
    number = Subscriber.objects.count() + 1
    subscriber = Subscriber.objects.create(
        email=f"reader{number}@screenshots.example.org", status=status, keywords=SHOT_KEYWORDS,
        timezone="Europe/Berlin", send_hour=7, **fields,
    )
    subscriber.topics.set(Topic.objects.filter(slug__in=SHOT_TOPICS))
    return subscriber


def _digest_html(*, frequency: str = Subscriber.Frequency.DAILY, digest_format: str = "full") -> str:
    fields = {"frequency": frequency}
    if digest_format != "full":
        fields["digest_format"] = digest_format
    message = digest_for(subscriber=_reader(**fields), day=SHOT_DAY).message()
    return message.alternatives[0][0]


def _sent_html(send: Callable[..., bool], *, status: str = Subscriber.Status.ACTIVE) -> str:
    """The HTML part of what ``send`` mails a new reader, caught by the local-memory backend."""
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail.outbox = getattr(mail, "outbox", [])
        before = len(mail.outbox)
        if not send(subscriber=_reader(status=status)):
            raise CommandError(f"{send.__name__} sent nothing")
        return mail.outbox[before].alternatives[0][0]


def email_kinds() -> list[EmailKind]:
    """Every email a reader can get. A new kind is one more entry."""
    digests = [
        EmailKind(f"daily-{digest_format}", lambda digest_format=digest_format: _digest_html(
            digest_format=digest_format))
        for digest_format in digest_formats()
    ]
    return [
        *digests,
        EmailKind("weekly", lambda: _digest_html(frequency=Subscriber.Frequency.WEEKLY)),
        EmailKind("confirmation", lambda: _sent_html(confirmation_send, status=Subscriber.Status.PENDING),
                  account=True),
        EmailKind("welcome", lambda: _sent_html(welcome_send), account=True),
        EmailKind("preferences-link", lambda: _sent_html(preferences_link_send), account=True),
    ]


EMAIL_KINDS = [kind.name for kind in email_kinds()]


def emails_render(names: list[str] | None = None) -> dict[str, str]:
    """{kind: HTML part} for the sample edition of SHOT_DAY, by the real code
    paths; nothing stays in the database (nor in the edition caches)."""
    kinds = [kind for kind in email_kinds() if names is None or kind.name in names]
    pools_forget()
    try:
        with transaction.atomic():
            sample_edition_load(day=SHOT_DAY)
            rendered = {kind.name: kind.render() for kind in kinds}
            transaction.set_rollback(True)
    finally:
        pools_forget()
    return rendered


# What the layout checks find in a rendered email (an empty list: none).
# Elements clipped on purpose (text-overflow: ellipsis) show a "…" and pass.
_LAYOUT_PROBLEMS_JS = """() => {
  const problems = [];
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page > width) problems.push(`the page is ${page}px wide in a ${width}px window`);
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    if (style.textOverflow === "ellipsis") continue;
    const text = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!text || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const what = el.textContent.trim().slice(0, 50);
      problems.push(`<${el.tagName.toLowerCase()} class="${el.className}"> "${what}"`
                    + ` needs ${el.scrollWidth}px and has ${el.clientWidth}px`);
    }
  }
  for (const a of document.querySelectorAll('a[href^="#"]')) {
    const id = decodeURIComponent(a.getAttribute("href").slice(1));
    if (id && !document.getElementById(id)) problems.push(`the anchor #${id} leads nowhere`);
  }
  return problems;
}"""


def layout_problems(page) -> list[str]:
    """Horizontal overflow, elements narrower than their text, and in-page
    anchors (the digest's "In this issue") without a target, in words."""
    return page.evaluate(_LAYOUT_PROBLEMS_JS)


def email_page(browser, html: str, *, width: int, scheme: str = "light"):
    """A new page showing ``html`` in a window ``width`` px wide, in the
    ``light`` or ``dark`` scheme (as prefers-color-scheme); close its context."""
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.set_content(html, wait_until="load")
    return page


def side_by_side(browser, htmls: list[str], *, width: int, out: Path) -> None:
    """One picture of ``htmls`` next to each other, each in a ``width`` px window, light scheme."""
    heights = []
    for html in htmls:
        page = email_page(browser, html, width=width)
        heights.append(page.evaluate("document.documentElement.scrollHeight"))
        page.context.close()
    gap = 24
    frames = "".join(
        f'<iframe srcdoc="{html_lib.escape(html, quote=True)}" '
        f'style="width:{width}px;height:{height}px;border:0;flex:none"></iframe>'
        for html, height in zip(htmls, heights, strict=True)
    )
    sheet = (f'<!doctype html><body style="margin:0;padding:{gap}px;display:flex;gap:{gap}px;'
             f'align-items:flex-start;background:#d1d5db">{frames}</body>')
    page = email_page(browser, sheet, width=len(htmls) * (width + gap) + gap)
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    page.context.close()


class Command(BaseCommand):
    help = "Write the README's picture of the daily digest (full and compact side by side, 600 px, light)."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=DOC_IMAGE,
                            help="the PNG to write (default: %(default)s)")

    def handle(self, *args, out: Path, **options):
        if not CHROMIUM.exists():
            raise CommandError(f"needs Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
        names = [f"daily-{digest_format}" for digest_format in digest_formats()]
        rendered = emails_render(names)
        with chromium() as browser:
            side_by_side(browser, [rendered[name] for name in names], width=600, out=out)
        if len(names) == 1:
            self.stdout.write(f"{out}: {names[0]}, 600 px, light scheme (one digest format in this tree)")
        else:
            self.stdout.write(f"{out}: {' and '.join(names)} side by side, 600 px each, light scheme")


if __name__ == "__main__":
    bench.bootstrap.command_main(module="bench.email_screenshot", commands={"email_screenshot": Command})
