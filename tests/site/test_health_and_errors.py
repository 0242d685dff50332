"""The health check, error pages and request limits."""

from __future__ import annotations

from unittest.mock import patch

from sqlalchemy.exc import OperationalError

from tests.helpers import text_of


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_database_is_down(client):
    with patch("shop.site.views.db.session.execute", side_effect=OperationalError("x", {}, None)):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_404_page_uses_site_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = text_of(response)
    assert "We couldn't find that page" in page
    assert 'class="site-header"' in page and 'class="site-footer"' in page


def test_405_page_keeps_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "doesn't work here" in text_of(response)


def test_request_body_over_one_megabyte_is_413(client, app):
    from tests.builders.content import make_article

    make_article("big")
    response = client.post("/blog/big/comments", data={"comment": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    assert "too much to send" in response.get_data(as_text=True)


def test_unexpected_error_shows_500_page_without_details(app, client):
    with patch("shop.site.views.render_template", side_effect=RuntimeError("secret detail")):
        response = client.get("/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret detail" not in page


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_header_has_boxes_blog_and_account_links(client):
    page = client.get("/").get_data(as_text=True)
    for label, href in (("Boxes", "/boxes/"), ("Blog", "/blog/"), ("Account", "/account/")):
        assert f'href="{href}"' in page and f">{label}</a>" in page
