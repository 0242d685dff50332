"""The security settings: their defaults, and what is refused."""

from __future__ import annotations

import pytest

from shop.config import ConfigError, load_settings

NAMES = (
    "SHOP_ENV",
    "SECRET_KEY",
    "SITE_URL",
    "ADMIN_SESSION_HOURS",
    "ADMIN_LOCKOUT_FAILURES",
    "ADMIN_LOCKOUT_MINUTES",
    "EXTRA_TRUSTED_HOSTS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):  # type: ignore[no-untyped-def]
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("shop.config.load_dotenv", lambda **kwargs: None)
    monkeypatch.setenv("SHOP_ENV", "testing")


def test_defaults(tmp_path):
    settings = load_settings(tmp_path)
    assert settings["ADMIN_SESSION_HOURS"] == 8
    assert settings["ADMIN_LOCKOUT_FAILURES"] == 5
    assert settings["ADMIN_LOCKOUT_MINUTES"] == 15
    assert settings["EXTRA_TRUSTED_HOSTS"] == ()
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True  # type: ignore[index]


def test_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ADMIN_SESSION_HOURS", "2")
    monkeypatch.setenv("ADMIN_LOCKOUT_FAILURES", "3")
    monkeypatch.setenv("ADMIN_LOCKOUT_MINUTES", "30")
    monkeypatch.setenv("EXTRA_TRUSTED_HOSTS", "shop-internal, health.local")
    settings = load_settings(tmp_path)
    assert (settings["ADMIN_SESSION_HOURS"], settings["ADMIN_LOCKOUT_FAILURES"]) == (2, 3)
    assert settings["ADMIN_LOCKOUT_MINUTES"] == 30
    assert settings["EXTRA_TRUSTED_HOSTS"] == ("shop-internal", "health.local")


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_an_admin_session_of_no_time_is_refused(monkeypatch, tmp_path, hours):
    monkeypatch.setenv("ADMIN_SESSION_HOURS", hours)
    with pytest.raises(ConfigError, match="ADMIN_SESSION_HOURS must be at least 1"):
        load_settings(tmp_path)
