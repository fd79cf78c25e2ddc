"""The admin is the only authenticated area, and guessing its passwords is
throttled per client address, whatever username, URL variant or method, and
per username, whatever address."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-123"


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", PASSWORD)


@pytest.fixture(autouse=True)
def _low_limit(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3


def fail(client, path="/admin/login/", username="editor", **extra):
    response = client.post(path, {"username": username, "password": "wrong"}, **extra)
    assert response.status_code == 200  # the form again, with its error
    return response


def signs_in(client, path="/admin/login/", method="post", **extra) -> int:
    response = getattr(client, method)(path, {"username": "editor", "password": PASSWORD}, **extra)
    return response.status_code


def test_admin_login_is_throttled_after_repeated_failures(client, editor):
    for _ in range(3):
        fail(client)

    # Even the right password is refused now: guessing cannot go on.
    response = client.post("/admin/login/", {"username": "editor", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_works_below_the_limit(client, editor):
    fail(client)
    assert signs_in(client, "/admin/login/?next=/admin/") == 302


def test_changing_the_username_does_not_reset_the_count(client, editor):
    for username in ("editor", "admin", "root"):
        fail(client, username=username)

    assert signs_in(client) == 429


@pytest.mark.parametrize(
    "path", ["/admin/login/?next=/admin/", "/admin/login/?next=/admin/subscribers/subscriber/",
             "/admin/login/?next=%FF", "/admin/login/?x=1"],
)
def test_every_url_of_the_login_form_counts_and_is_throttled(client, editor, path):
    fail(client, "/admin/login/")
    fail(client, path)
    fail(client, "/admin/login/?next=/elsewhere/")

    assert signs_in(client, path) == 429


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_never_sign_in_and_are_throttled(client, editor, method):
    # PUT gets the empty form again (Django reads credentials from POST only); others 405.
    assert signs_in(client, method=method) == (200 if method == "put" else 405)
    assert "_auth_user_id" not in client.session
    for _ in range(3):
        fail(client)

    assert signs_in(client, method=method) == 429


def test_the_count_is_per_client_address(editor):
    attacker, editor_client = Client(REMOTE_ADDR="203.0.113.9"), Client(REMOTE_ADDR="198.51.100.7")
    # Other usernames: guesses at the editor's own would also lock it (below).
    for username in ("admin", "root", "staff"):
        fail(attacker, username=username)

    assert signs_in(attacker) == 429
    assert signs_in(editor_client) == 302


def test_behind_a_proxy_a_forged_forwarded_for_does_not_reset_the_count(settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for forged, username in (("1.1.1.1", "admin"), ("2.2.2.2", "root"), ("3.3.3.3", "staff")):
        # The client forges the left part; the proxy appends the real address.
        fail(proxy, username=username, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9")

    assert signs_in(proxy, HTTP_X_FORWARDED_FOR="4.4.4.4, 203.0.113.9") == 429
    # Another reader behind the same proxy is not locked out.
    assert signs_in(proxy, HTTP_X_FORWARDED_FOR="198.51.100.7") == 302


def test_right_passwords_and_incomplete_forms_use_up_no_attempts(editor):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert signs_in(client) == 302
        client.post("/admin/login/", {"username": "editor"})  # no password: nothing to check
    for _ in range(2):
        fail(client)

    assert signs_in(client) == 302


def test_the_count_is_also_per_username_whatever_the_address(editor, django_user_model):
    django_user_model.objects.create_superuser("other", "other@example.org", PASSWORD)
    for n in range(3):
        fail(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), username="Editor")

    # Case does not make a new username: sign-in is refused from anywhere.
    response = Client(REMOTE_ADDR="198.51.100.7").post(
        "/admin/login/", {"username": "editor", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "for this username" in response.content.decode()
    # Another account, from the same address, is not affected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post("/admin/login/", {"username": "other", "password": PASSWORD}).status_code == 302


def test_the_right_password_is_refused_until_the_window_passes(settings, editor):
    # A window starts at whole multiples of its length on the clock.
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            fail(Client(REMOTE_ADDR="203.0.113.9"))
        assert signs_in(Client(REMOTE_ADDR="203.0.113.9")) == 429
        clock.move_to(start + timedelta(seconds=settings.ADMIN_LOGIN_WINDOW_SECONDS - 1))
        assert signs_in(Client(REMOTE_ADDR="203.0.113.9")) == 429
        clock.move_to(start + timedelta(seconds=settings.ADMIN_LOGIN_WINDOW_SECONDS))
        assert signs_in(Client(REMOTE_ADDR="203.0.113.9")) == 302


def test_with_the_cache_unreachable_editors_can_still_sign_in(settings, editor, caplog):
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    client = Client(REMOTE_ADDR="203.0.113.9")
    fail(client)

    assert signs_in(client) == 302
    assert "rate limit cache unavailable" in caplog.text


class CountingBackend(ModelBackend):
    """Django's password check, counted. Each check waits until every
    concurrent attempt has either reached a check or been refused, so all
    attempts are past the throttle before any password is found wrong: the
    worst interleaving, every time."""

    checks = 0
    parties = 0
    passed = 0
    lock = threading.Condition()
    stuck = False

    @classmethod
    def reset(cls, parties: int) -> None:
        cls.checks, cls.parties, cls.passed, cls.stuck = 0, parties, 0, False

    @classmethod
    def pass_throttle(cls) -> None:
        with cls.lock:
            cls.passed += 1
            cls.lock.notify_all()

    def authenticate(self, request, username=None, password=None, **kwargs):
        with self.lock:
            type(self).checks += 1
        self.pass_throttle()
        with self.lock:
            # A deadlock guard only: every party arrives in well under a second.
            if not self.lock.wait_for(lambda: self.passed >= self.parties, timeout=60):
                type(self).stuck = True
        return super().authenticate(request, username=username, password=password, **kwargs)


@pytest.mark.usefixtures("require_redis")
@pytest.mark.parametrize(
    ("address", "username"),
    [(lambda n: "203.0.113.9", lambda n: f"user{n}"), (lambda n: f"10.0.{n}.1", lambda n: "editor")],
    ids=["one address, many usernames", "one username, many addresses"],
)
def test_concurrent_wrong_passwords_get_at_most_the_limit_of_checks(settings, editor, address, username):
    settings.ADMIN_LOGIN_MAX_FAILURES = 10
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CountingBackend"]
    attempts = 40
    CountingBackend.reset(parties=attempts)
    start = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        try:
            client = Client(REMOTE_ADDR=address(n))
            start.wait()
            response = client.post("/admin/login/", {"username": username(n), "password": "wrong"})
            if response.status_code == 429:
                CountingBackend.pass_throttle()  # refused: it will never reach a check
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not CountingBackend.stuck
    assert CountingBackend.checks <= 10
    assert sorted(statuses) == [200] * CountingBackend.checks + [429] * (attempts - CountingBackend.checks)


def test_there_is_no_password_reset_to_abuse(client, editor):
    login_page = client.get("/admin/login/").content.decode()

    assert "Forgotten your password" not in login_page
    for path in ("/admin/password_reset/", "/accounts/password_reset/", "/password_reset/"):
        assert client.get(path).status_code in (302, 404), path
        assert client.post(path, {"email": "editor@example.org"}).status_code in (302, 404), path


def test_admin_requires_staff(client, django_user_model):
    django_user_model.objects.create_user("reader", "reader@example.org", PASSWORD)
    client.login(username="reader", password=PASSWORD)

    for path in ("/admin/", "/admin/worker/", "/admin/subscribers/subscriber/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


# Everything outside /admin/ is public: signed links carry their own proof,
# and no page asks for a login. A new route must be added here on purpose.
PUBLIC_ROUTES = {
    "", "healthz/", "subscribe/", "subscribe/check-your-inbox/", "confirm/resend/", "confirm/<str:token>/",
    "preferences/<str:token>/", "preferences/<str:token>/export/", "preferences/<str:token>/erase/",
    "preferences/new-link/<str:purpose>/<str:token>/",
    "unsubscribe/<str:token>/", "digests/<isodate:day>/", "digests/<isodate:day>/<str:token>/",
    # Feedback: the digest's signed links, and the preferences page's buttons.
    "feedback/<isodate:day>/<str:token>/", "feedback/<isodate:day>/<str:token>/<path:arxiv_id>/<str:vote>/",
    "feedback/learned/<str:token>/reset/", "feedback/learned/<str:token>/follow/",
    # The reader's site: pages, feeds (the private one behind its signed token), robots, sitemaps.
    "week/<isoweek:period>/", "month/<month:period>/", "papers/<arxiv:arxiv_id>/", "topics/",
    "topics/<slug:slug>/", "topics/<slug:slug>/feed/", "topics/<slug:slug>/feed/rss/", "search/",
    "search/feed/", "search/feed/rss/", "feed/", "feed/rss/", "feed/<str:token>/", "feed/<str:token>/rss/",
    "robots.txt", "favicon.ico", "sitemap.xml", "sitemap-<section>.xml",
}


def test_the_admin_is_the_only_authenticated_area():
    routes = _routes(get_resolver())
    outside_admin = {r for r in routes if not r.startswith("admin/")}
    webhooks = {r for r in outside_admin if r.startswith("anymail/")}

    assert outside_admin - webhooks == PUBLIC_ROUTES
    # Webhooks authenticate the provider (basic auth), never a person; only
    # the tracking ones are routed (nothing here receives mail).
    assert "anymail/postmark/tracking/" in webhooks
    assert all(r.endswith("/tracking/") for r in webhooks), sorted(webhooks)
    for path in ("/", "/subscribe/", "/confirm/resend/", "/healthz/"):
        response = Client().get(path)
        assert response.status_code == 200 and "login" not in response.get("Location", ""), path
    assert Client().get("/accounts/login/").status_code == 404
