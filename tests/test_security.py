import logging

import pytest

from config.security import RedactingFilter, redact

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/subscribe/", "/does-not-exist/", "/admin/login/"])
def test_security_headers_on_every_page(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no unsafe-inline scripts
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_admin_login_is_throttled_after_repeated_failures(client, django_user_model, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    django_user_model.objects.create_superuser("editor", "editor@example.org", "right-password-123")
    for _ in range(3):
        response = client.post("/admin/login/", {"username": "editor", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    # Even the right password is refused now: guessing cannot go on.
    response = client.post("/admin/login/", {"username": "editor", "password": "right-password-123"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_works_below_the_limit(client, django_user_model):
    django_user_model.objects.create_superuser("editor", "editor@example.org", "right-password-123")
    client.post("/admin/login/", {"username": "editor", "password": "wrong"})
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "editor", "password": "right-password-123"}
    )
    assert response.status_code == 302


def test_admin_requires_staff(client):
    response = client.get("/admin/worker/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_redact_masks_addresses_and_tokens():
    line = 'GET /unsubscribe/eyJhbGciOi.abc:def/ from reader.name@example.org /digests/2025-08-05/tok123/'
    out = redact(line)
    assert "reader.name@example.org" not in out and "r***@example.org" in out
    assert "eyJhbGciOi" not in out and "/unsubscribe/[token]/" in out
    assert "tok123" not in out and "/digests/2025-08-05/[token]/" in out


def test_log_records_are_redacted():
    record = logging.LogRecord(
        "newsletter", logging.INFO, __file__, 1, "sent to %s", ("a.b@example.org",), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "sent to a***@example.org"
