"""One premailer setup for every email: inlined rules, @media kept, doctype kept."""

from config.lib.emails import css_inline

PAGE = """<!doctype html>
<html><head><style>
.note { color: #c2410c; }
@media (max-width: 600px) { .note { font-size: 18px !important; } }
</style></head><body><p class="note">Hello · world</p></body></html>"""


def test_rules_are_inlined_and_media_queries_stay_in_a_style_block():
    html = css_inline(PAGE)
    assert '<p class="note" style="color:#c2410c">Hello · world</p>' in html
    assert "@media (max-width: 600px)" in html and "font-size: 18px !important" in html


def test_a_doctype_survives_however_it_is_written():
    assert css_inline(PAGE).startswith("<!doctype html>\n<html>")
    upper = PAGE.replace("<!doctype html>", "<!DOCTYPE html>")
    assert css_inline(upper).startswith("<!DOCTYPE html>\n<html>")


def test_a_fragment_gets_no_doctype():
    assert not css_inline("<html><body><p>hi</p></body></html>").lower().startswith("<!doctype")
