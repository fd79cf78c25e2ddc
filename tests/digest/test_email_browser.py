"""Every email kind in a real Chromium, as the code that sends it renders
it: at 600 px (a desktop client) and 375 px (a phone), in the light and the
dark scheme. Screenshots land in test-artifacts/emails/<kind>-<width>-<scheme>.png."""

import pytest

from bench.email_screenshot import EMAIL_KINDS, email_kinds, email_page, emails_render, layout_problems
from tests.browser import chromium
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db]

ARTIFACTS = ROOT / "test-artifacts" / "emails"
WIDTHS = (600, 375)
SCHEMES = ("light", "dark")
ACCOUNT_KINDS = {kind.name for kind in email_kinds() if kind.account}
TAP_TARGET_PX = 44


def _background_luminance(page) -> float:
    red, green, blue = page.evaluate(
        "getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"
    )
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def _problems(page, kind: str, scheme: str) -> list[str]:
    problems = layout_problems(page)
    # The scheme is the email's own: a dark page in dark mode, a light one otherwise.
    luminance = _background_luminance(page)
    if (luminance >= 0.2) if scheme == "dark" else (luminance <= 0.8):
        problems.append(f"a background of luminance {luminance:.2f} in the {scheme} scheme")
    if kind in ACCOUNT_KINDS:
        heights = page.eval_on_selector_all(
            "td.footer a", "links => links.map(a => a.getBoundingClientRect().height)")
        problems += [f"a footer link {height:.0f} px tall" for height in heights if height < TAP_TARGET_PX]
    return problems


@pytest.mark.parametrize("kind", EMAIL_KINDS)
def test_email_fits_its_window_with_its_text_and_anchors(kind):
    # Rendered before the browser starts: with Playwright's event loop
    # running, the ORM would use a connection of its own.
    html = emails_render([kind])[kind]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found = {}
    with chromium() as browser:
        for width in WIDTHS:
            for scheme in SCHEMES:
                page = email_page(browser, html, width=width, scheme=scheme)
                page.screenshot(path=str(ARTIFACTS / f"{kind}-{width}-{scheme}.png"), full_page=True)
                found[f"{width} px, {scheme}"] = _problems(page, kind, scheme)
                page.context.close()
    assert found == {f"{width} px, {scheme}": [] for width in WIDTHS for scheme in SCHEMES}


def test_layout_checks_find_overflow_clipped_text_and_dangling_anchors():
    # The checks themselves: a page that breaks each rule is caught on each.
    broken = (
        '<!doctype html><body style="margin:0">'
        '<p style="width:700px">too wide for the window</p>'
        '<p style="width:40px;overflow:hidden;white-space:nowrap">a line longer than its box</p>'
        '<a href="#nowhere">In this issue</a><a href="#here">fine</a><div id="here">x</div></body>'
    )
    with chromium() as browser:
        page = email_page(browser, broken, width=375)
        problems = layout_problems(page)
    assert any(p.startswith("the page is 700px wide in a 375px window") for p in problems)
    assert any('"a line longer than its box" needs' in p for p in problems)
    assert "the anchor #nowhere leads nowhere" in problems
    assert not any("#here" in p for p in problems)
