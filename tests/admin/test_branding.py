"""The desk carries the product's name and colours, not Django's."""

import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

DESK = "Daily Papers · Editor&#x27;s desk"


def _accent(css: str) -> str:
    return re.search(r"--accent:\s*(#[0-9a-f]{6})", css).group(1)


def test_every_page_names_the_desk(admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert f"<title>{DESK}</title>" in index
    assert f'<div id="site-name"><a href="/admin/">{DESK}</a></div>' in index
    assert f"<h1>{DESK}</h1>" in index
    dashboard = admin_client.get("/admin/dashboard/").content.decode()
    assert f"<title>Dashboard | {DESK}</title>" in dashboard
    for html in (index, dashboard, admin_client.get("/admin/newsletter/paper/").content.decode()):
        assert "Django administration" not in html and "Django site admin" not in html


def test_the_login_page_names_the_desk(client):
    html = client.get("/admin/login/").content.decode()
    assert DESK in html and "Django administration" not in html


def test_the_theme_uses_the_sites_brand_colour(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert '<link rel="stylesheet" href="/static/css/desk.css">' in html
    desk = (ROOT / "static/css/desk.css").read_text()
    site = (ROOT / "static/css/site.css").read_text()
    assert re.search(r"--primary:\s*light-dark\(" + _accent(site), desk)
    assert re.search(r"--button-bg:\s*" + _accent(site), desk)
