"""The Content-Security-Policy: sent on every page, no inline script anywhere, and the few
inline style blocks it allows are exactly those the installed packages write."""

import base64
import hashlib
import re
from pathlib import Path

import django.contrib.admin
import drf_spectacular
import pytest
from django.conf import settings

from tests.factories import UserFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PLOTLY_JS = Path(settings.BASE_DIR) / "static/vendor/plotly-custom.min.js"
POLICY = {
    "default-src 'self'",
    "script-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
}


def directives(response) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def style_blocks(path: Path) -> list[str]:
    return re.findall(r"<style>(.*?)</style>", path.read_text(), re.DOTALL)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/", "/dashboard/", "/api/docs/"])
def test_every_page_sends_the_policy(client, url):
    client.force_login(UserFactory(username="ann"))
    response = client.get(url)
    assert response.status_code == 200
    assert directives(response) >= POLICY
    style = next(d for d in directives(response) if d.startswith("style-src "))
    assert "'unsafe-inline'" not in style and "'unsafe-eval'" not in str(directives(response))


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=str)
def test_templates_have_no_inline_script_or_event_handler(path):
    html = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert "javascript:" not in html


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_a_url_not_inline(client):
    client.force_login(UserFactory(username="ann"))
    page = client.get("/api/docs/").content.decode()
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", page))
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_allowed_inline_styles_are_the_installed_packages_own():
    """If a package upgrade changes one of these, the test names the new hash to allow."""
    plotly_js = PLOTLY_JS.read_text()
    plotly_styles = [
        re.sub(r"\\(.)", r"\1", text)  # the JavaScript string literal's text
        for _quote, text in re.findall(r"\.textContent=(['\"])((?:\\.|(?!\1).)*)\1", plotly_js)
    ]
    admin = Path(django.contrib.admin.__file__).parent / "templates/admin/change_list.html"
    swagger = Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
    # plotly.js writes one stylesheet, empty (its rules go through the CSSOM); the custom
    # bundle leaves out the map library's, which the published bundles inject as text.
    assert plotly_styles == [""]
    expected = {
        sha256(""),
        *map(sha256, style_blocks(admin)),
        *map(sha256, style_blocks(swagger)),
    }
    assert len(expected) == 3
    assert set(settings.INLINE_STYLE_HASHES) == expected


def test_allowed_style_attributes_are_those_plotly_writes():
    """plotly.js writes style="" and, for a label's <b> (the heatmap's hover names its
    question in bold), its pseudo-HTML map's style: exactly these, by hash."""
    bold = re.search(r'\bb:"([^"]*)",i:"font-style:italic"', PLOTLY_JS.read_text())[1]
    attributes = set(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src-attr"])
    assert attributes == {"'unsafe-hashes'", sha256(""), sha256(bold)}
    assert bold == "font-weight:bold"
