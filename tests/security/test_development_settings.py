"""With development settings (SHOP_ENV unset) the shop answers this computer only, and the
development outbox refuses anyone else on its own too."""

from __future__ import annotations

import pytest

from shop.site.development import refuse_remote_clients
from tests.builders.billing import make_customer
from tests.helpers import visible_text
from tests.mail.helpers import send_now, sent_emails

DEVELOPMENT = {"SHOP_ENV": "development", "DEV_OUTBOX": True}
REFUSED = "This shop is running with development settings"


def from_address(client, path: str, address: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.get(path, environ_base={"REMOTE_ADDR": address}, headers=headers)


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
@pytest.mark.parametrize("path", ["/", "/account/login", "/dev/outbox", "/static/css/site.css"])
def test_development_settings_refuse_other_computers(client, path):
    response = from_address(client, path, "203.0.113.9")
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == "no-store"
    if path != "/static/css/site.css":
        text = visible_text(response)
        assert REFUSED in text
        assert "set SHOP_ENV=production" in text


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_development_settings_answer_this_computer(client, address):
    assert from_address(client, "/", address).status_code == 200


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
        {"X-Real-IP": "203.0.113.9"},
        {"X-Forwarded-Proto": "https"},
        {"X-Forwarded-Host": "shop.example"},
        {"Via": "1.1 proxy"},
        {"CF-Connecting-IP": "203.0.113.9"},
    ],
)
def test_a_request_through_a_proxy_is_refused_even_from_loopback(client, header):
    """A proxy on this computer forwards visitors from anywhere: their requests arrive from
    127.0.0.1 but carry the proxy's headers."""
    response = from_address(client, "/", "127.0.0.1", **header)
    assert response.status_code == 403
    assert REFUSED in visible_text(response)


@pytest.mark.parametrize("app_settings", [{**DEVELOPMENT, "TRUSTED_PROXY_COUNT": 1}])
def test_trusting_a_proxy_does_not_open_development_settings(client):
    response = from_address(client, "/", "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 403


@pytest.mark.parametrize("app_settings", [DEVELOPMENT])
def test_the_outbox_refuses_other_computers_by_itself(app, client):
    """Even if the shop-wide guard were gone, the outbox (which shows sign-in links) is not."""
    app.before_request_funcs[None].remove(refuse_remote_clients)
    customer = make_customer("jo@example.com")
    send_now(customer.email, "sign_in_link", customer=customer, link="http://x/", minutes=15)
    assert sent_emails()
    for path in ("/dev/outbox", "/dev/outbox/1"):
        refused = from_address(client, path, "203.0.113.9")
        assert refused.status_code == 403
        assert "jo@example.com" not in refused.get_data(as_text=True)
        through_proxy = from_address(client, path, "127.0.0.1", **{"X-Forwarded-For": "10.0.0.1"})
        assert through_proxy.status_code == 403
    assert from_address(client, "/dev/outbox", "203.0.113.9").status_code == 403
    assert "jo@example.com" in visible_text(from_address(client, "/dev/outbox/1", "127.0.0.1"))
    assert from_address(client, "/", "203.0.113.9").status_code == 200, "guard removed"


@pytest.mark.parametrize("app_settings", [{}, {"SHOP_ENV": "production"}])
def test_testing_and_production_settings_answer_everyone(app, client):
    app.config["SECRET_KEY"] = "x" * 48
    assert from_address(client, "/", "203.0.113.9").status_code == 200
    assert (
        from_address(client, "/", "203.0.113.9", **{"X-Forwarded-For": "1.2.3.4"}).status_code
        == 200
    )


@pytest.mark.parametrize("app_settings", [{"SHOP_ENV": "development"}])
def test_the_outbox_is_served_only_when_make_run_asks_for_it(client):
    """A bare proxy adds no header at all: a deployment that forgot SHOP_ENV behind one must
    still not show sign-in links. Only `make run`'s own server turns the outbox on."""
    assert client.get("/dev/outbox").status_code == 404
    assert client.get("/dev/outbox/1").status_code == 404


def test_gunicorn_refuses_to_start_without_shop_env():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {key: value for key, value in os.environ.items() if key != "SHOP_ENV"}
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--check-config",
            "shop:create_app()",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode != 0
    assert "set SHOP_ENV=production" in checked.stdout + checked.stderr
