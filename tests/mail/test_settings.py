"""Mail and customer sign-in settings: defaults, and clear errors for values that can't work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.config import ConfigError, load_settings

NAMES = (
    "SHOP_ENV",
    "MAIL_URL",
    "MAIL_FROM",
    "SHOP_TIMEZONE",
    "SIGN_IN_LINK_MINUTES",
    "CUSTOMER_LOGIN_RATE_LIMIT",
    "CUSTOMER_SESSION_DAYS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("shop.config.load_dotenv", lambda **kwargs: None)


def test_defaults(tmp_path):
    settings = load_settings(tmp_path)
    assert settings["MAIL_URL"] == ""
    assert settings["SIGN_IN_LINK_MINUTES"] == 15
    assert settings["SIGN_IN_LINKS_PER_EMAIL"] == 3
    assert settings["SHOP_TIMEZONE"] == "Australia/Sydney"
    assert settings["CUSTOMER_LOGIN_RATE_LIMIT"] == "5 per minute;20 per hour"
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(days=30)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pw@smtp.example.com:587",
        "smtps://user:pw@smtp.example.com",
        "smtp://127.0.0.1:1025",
    ],
)
def test_smtp_urls_are_accepted(monkeypatch, tmp_path, url):
    monkeypatch.setenv("MAIL_URL", url)
    assert load_settings(tmp_path)["MAIL_URL"] == url


@pytest.mark.parametrize("url", ["http://smtp.example.com", "smtp.example.com:587", "smtp://"])
def test_a_mail_url_that_cannot_work_stops_start_up(monkeypatch, tmp_path, url):
    monkeypatch.setenv("MAIL_URL", url)
    with pytest.raises(ConfigError, match="MAIL_URL must look like"):
        load_settings(tmp_path)


def test_an_unknown_time_zone_stops_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOP_TIMEZONE", "Australia/Gotham")
    with pytest.raises(ConfigError, match="SHOP_TIMEZONE"):
        load_settings(tmp_path)
