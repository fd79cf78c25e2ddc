"""Security headers on every answer (pages, error pages, redirects, the
admin, webhooks), HSTS behind TLS, and templates that need no inline script.
Admin login throttling: test_admin_login.py; log redaction: test_log_redaction.py."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from config.security import CONTENT_SECURITY_POLICY
from tests import provider_payloads as p
from tests.conftest import ROOT
from tests.ops.test_config_errors import run_manage

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug in a view")


def _plain(request):
    return HttpResponse("ok")


# A URLconf for these tests only: the site's routes plus a view that fails,
# to see the headers on a real 500.
urlpatterns = [
    path("test-only/boom/", _boom),
    path("test-only/plain/", _plain),
    path("", include("config.urls")),
]


def directives(csp: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


def assert_security_headers(response) -> None:
    csp = directives(response["Content-Security-Policy"])
    assert csp["script-src"] == "'self'"  # no unsafe-inline, no unsafe-eval
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'self'" and csp["form-action"] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def _oversized_webhook(client):
    return client.post("/anymail/postmark/tracking/", data="x" * 2_000_000, content_type="application/json",
                       **p.basic_auth())


ANSWERS = {
    "home": lambda c: c.get("/"),
    "signup form": lambda c: c.get("/subscribe/"),
    "signup answer (303)": lambda c: c.post("/subscribe/", {"leave_empty": "bot"}),
    "form errors (400)": lambda c: c.post("/subscribe/", {"email": "nope"}),
    "healthz": lambda c: c.get("/healthz/"),
    "not found": lambda c: c.get("/does-not-exist/"),
    "append-slash redirect": lambda c: c.get("/subscribe"),
    "bad link (400)": lambda c: c.get("/unsubscribe/not-a-token/"),
    "wrong method (405)": lambda c: c.post("/healthz/"),
    "CSRF refusal (403)": lambda c: Client(enforce_csrf_checks=True).post("/subscribe/", {}),
    "bad Host (400)": lambda c: c.get("/", HTTP_HOST="evil.example"),
    "request too large (400)": lambda c: c.post("/subscribe/", data=b"k=" + b"x" * 3_000_000,
                                                content_type="application/x-www-form-urlencoded"),
    "webhook without credentials (400)": lambda c: c.post("/anymail/postmark/tracking/", data="{}",
                                                          content_type="application/json"),
    "webhook too large (413)": _oversized_webhook,
    "admin redirect to login": lambda c: c.get("/admin/"),
    "admin login": lambda c: c.get("/admin/login/?next=/admin/"),
    "server error (500)": lambda c: Client(raise_request_exception=False).get("/test-only/boom/"),
}


@pytest.mark.parametrize("answer", list(ANSWERS), ids=list(ANSWERS))
def test_security_headers_on_every_answer(settings, client, answer):
    settings.ROOT_URLCONF = __name__
    settings.WEBHOOK_MAX_BODY_BYTES = 1_000_000

    response = ANSWERS[answer](client)

    assert_security_headers(response)


def test_error_pages_explain_themselves(settings, client):
    settings.ROOT_URLCONF = __name__
    pages = {
        404: client.get("/does-not-exist/"),
        405: client.post("/healthz/"),
        403: Client(enforce_csrf_checks=True).post("/subscribe/", {}),
        400: client.get("/", HTTP_HOST="evil.example"),
        500: Client(raise_request_exception=False).get("/test-only/boom/"),
    }
    words = {
        404: "There is no page at this address",
        405: "This address does not accept POST requests; it answers GET, HEAD",
        403: "This form could not be accepted",
        400: "We could not read that request",
        500: "Something went wrong on our side",
    }
    for status, response in pages.items():
        assert response.status_code == status
        assert words[status] in response.content.decode(), status


def test_admin_pages_carry_the_headers(client, django_user_model):
    django_user_model.objects.create_superuser("editor", "editor@example.org", "right-password-123")
    client.login(username="editor", password="right-password-123")

    for url in ("/admin/", "/admin/newsletter/paper/", "/admin/subscribers/subscriber/", "/admin/worker/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)


def test_hsts_is_sent_behind_tls(settings, client):
    assert settings.SECURE_HSTS_SECONDS == 31536000  # production default for an https SITE_URL

    over_tls = client.get("/", secure=True)
    over_http = client.get("/")

    assert over_tls["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in over_http  # meaningless, and ignored, over http
    assert_security_headers(over_tls)


def test_plain_http_is_redirected_to_https_with_headers(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # middleware reads SECURE_SSL_REDIRECT when it is built

    response = client.get("/subscribe/?x=1")
    secure = client.get("/subscribe/", secure=True)

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/subscribe/?x=1"
    assert_security_headers(response)
    assert secure.status_code == 200 and "Strict-Transport-Security" in secure


def test_production_settings_redirect_to_https_and_send_hsts():
    # The real settings module with production variables, not the test
    # settings, behind one proxy that terminates TLS.
    code = (
        "from django.test import Client; c = Client(HTTP_HOST='papers.example.org'); "
        "r = c.get('/healthz/'); print(r.status_code, r['Location']); "
        "r = c.get('/healthz/', HTTP_X_FORWARDED_PROTO='https'); "
        "print(r.status_code, r['Strict-Transport-Security'], r['Content-Security-Policy'])"
    )

    result = run_manage("shell", "--verbosity", "0", "-c", code, TRUSTED_PROXY_COUNT="1")

    assert result.returncode == 0, result.stderr
    redirect, secure = result.stdout.strip().splitlines()
    assert redirect == "301 https://papers.example.org/healthz/"
    assert secure == f"200 max-age=31536000; includeSubDomains; preload {CONTENT_SECURITY_POLICY}"


def test_forwarded_proto_from_a_client_is_not_believed_without_a_declared_proxy():
    # gunicorn listens on 0.0.0.0: a client can send the header itself.
    code = (
        "from django.test import Client; c = Client(HTTP_HOST='papers.example.org'); "
        "r = c.get('/healthz/', HTTP_X_FORWARDED_PROTO='https'); "
        "print(r.status_code, r.get('Location'), r.get('Strict-Transport-Security'))"
    )

    result = run_manage("shell", "--verbosity", "0", "-c", code, TRUSTED_PROXY_COUNT="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "301 https://papers.example.org/healthz/ None"


def test_csp_allows_no_inline_or_evaluated_script():
    csp = directives(CONTENT_SECURITY_POLICY)
    for directive in ("script-src", "default-src"):
        assert "unsafe" not in csp[directive]
    assert "script-src-attr" not in csp and "data:" not in csp["script-src"]


# The project's own templates (Django admin's are its own affair and ship no
# inline script either). An inline <script> or on*= handler would be blocked
# by the CSP above, i.e. a silently broken page.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
SCRIPT_URL = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*(javascript|vbscript|data)\s*:", re.I)


def template_files() -> list:
    return sorted(path for path in (ROOT / "templates").rglob("*") if path.is_file())


def test_templates_have_no_inline_script_or_event_handlers():
    assert len(template_files()) > 20
    problems = []
    for template in template_files():
        text = template.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, SCRIPT_URL):
            for match in pattern.finditer(text):
                problems.append(f"{template.relative_to(ROOT)}: {match.group(0)[:60]}")
    assert problems == []


@pytest.mark.parametrize(
    "snippet",
    ["<script>alert(1)</script>", "<SCRIPT type=module>", '<a href="#" onclick="x()">',
     "<body onload='x()'>", '<a href="javascript:void(0)">', '<img src="data:image/png;base64,xx">'],
)
def test_the_template_scan_catches_what_it_looks_for(snippet):
    assert any(pattern.search(snippet) for pattern in (INLINE_SCRIPT, EVENT_HANDLER, SCRIPT_URL))


def test_the_template_scan_lets_external_scripts_through():
    snippet = '<script src="{% static \'js/subscribe.js\' %}" defer data-detect-timezone></script>'
    assert not any(pattern.search(snippet) for pattern in (INLINE_SCRIPT, EVENT_HANDLER, SCRIPT_URL))
