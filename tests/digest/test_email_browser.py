"""Every email kind in a real Chromium, as the code that sends it renders
it: at 600 px (a desktop client) and 375 px (a phone), in the light and the
dark scheme. Screenshots land in test-artifacts/emails/<kind>-<width>-<scheme>.png."""

import pytest

from bench.browser import CHROMIUM, chromium
from bench.email_screenshot import EMAIL_KINDS, email_kinds, email_page, emails_render, layout_problems
from tests.conftest import ROOT, require

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "emails"
WIDTHS = (600, 375)
SCHEMES = ("light", "dark")
ACCOUNT_KINDS = {kind.name for kind in email_kinds() if kind.account}
TAP_TARGET_PX = 44


@pytest.fixture(scope="module")
def rendered(django_db_setup, django_db_blocker):
    # Rendered before the browser starts: Playwright's event loop would
    # otherwise give the ORM calls a connection of their own. emails_render
    # rolls its rows back.
    with django_db_blocker.unblock():
        return emails_render()


@pytest.fixture(scope="module")
def browser(rendered):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        require(False, "needs Playwright for Python (pip install '.[test]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser


def _background_luminance(page) -> float:
    red, green, blue = page.evaluate(
        "getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"
    )
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", EMAIL_KINDS)
def test_email_fits_its_window_with_its_text_and_anchors(browser, rendered, kind, width, scheme):
    page = email_page(browser, rendered[kind], width=width, scheme=scheme)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{kind}-{width}-{scheme}.png"), full_page=True)
        assert layout_problems(page) == []
        # The scheme is the email's own: a dark page in dark mode, a light one otherwise.
        luminance = _background_luminance(page)
        assert luminance < 0.2 if scheme == "dark" else luminance > 0.8
        if kind in ACCOUNT_KINDS:
            heights = page.eval_on_selector_all(
                "td.footer a", "links => links.map(a => a.getBoundingClientRect().height)")
            assert all(height >= TAP_TARGET_PX for height in heights)
    finally:
        page.context.close()


def test_layout_checks_find_overflow_clipped_text_and_dangling_anchors(browser):
    # The checks themselves: a page that breaks each rule is caught on each.
    broken = (
        '<!doctype html><body style="margin:0">'
        '<p style="width:700px">too wide for the window</p>'
        '<p style="width:40px;overflow:hidden;white-space:nowrap">a line longer than its box</p>'
        '<a href="#nowhere">In this issue</a><a href="#here">fine</a><div id="here">x</div></body>'
    )
    page = email_page(browser, broken, width=375)
    try:
        problems = layout_problems(page)
    finally:
        page.context.close()
    assert any(p.startswith("the page is 700px wide in a 375px window") for p in problems)
    assert any('"a line longer than its box" needs' in p for p in problems)
    assert "the anchor #nowhere leads nowhere" in problems
    assert not any("#here" in p for p in problems)
