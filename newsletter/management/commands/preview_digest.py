from datetime import date

from django.core.management.base import BaseCommand, CommandError

from newsletter.digest.build import digest_for
from newsletter.digest.preview import reader_blockers
from newsletter.selectors import latest_edition_date
from subscribers.models import Subscriber


class Command(BaseCommand):
    help = ("Print the digest a reader would get (or got) for an edition: subject, headers and HTML or "
            "text, with placeholders where the reader's signed links go.")

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the reader's address")
        parser.add_argument("--date", help="the edition (YYYY-MM-DD; default: the newest)")
        parser.add_argument("--text", action="store_true", help="print the plain-text part instead of HTML")

    def handle(self, *args, email, date: str | None, text: bool, **options):
        subscriber = Subscriber.objects.filter(email__iexact=email.strip()).first()
        if subscriber is None:
            raise CommandError(f"no subscriber has the address {email}")
        if date:
            try:
                day = _parse(date)
            except ValueError:
                raise CommandError(f"{date!r} is not a date; use YYYY-MM-DD") from None
        else:
            day = latest_edition_date()
            if day is None:
                raise CommandError("there is no edition with papers yet")
        blockers = reader_blockers(subscriber)
        if blockers:
            self.stderr.write(f"note: {subscriber.email} is {', '.join(blockers)}: no digest would be sent")
        digest = digest_for(subscriber=subscriber, day=day)
        if not digest.pool.papers:
            raise CommandError(f"the edition of {day:%Y-%m-%d} has no visible papers")
        if digest.empty:
            self.stdout.write(f"No digest for {subscriber.email} on {day:%Y-%m-%d}: {digest.reason}.")
            return
        message = digest.message(placeholder_links=True)
        self.stdout.write(f"Subject: {message.subject}")
        self.stdout.write(f"To: {subscriber.email}")
        for name, value in message.extra_headers.items():
            self.stdout.write(f"{name}: {value}")
        self.stdout.write("")
        self.stdout.write(message.body if text else message.alternatives[0][0])


def _parse(value: str) -> date:
    return date.fromisoformat(value)
