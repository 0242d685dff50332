"""Settings come from the environment when the factory runs; production refuses weak secrets."""

from __future__ import annotations

import pytest

from shop.config import ConfigError, load_settings

STRONG = "x" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "SHOP_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "RATELIMIT_STORAGE_URI",
        "SITE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "MAIL_URL",
        "PAGE_CACHE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("shop.config.load_dotenv", lambda **kwargs: None)


@pytest.mark.parametrize("secret", [None, "", "dev", "changeme", "short-but-not-empty"])
def test_production_refuses_a_missing_or_weak_secret(monkeypatch, tmp_path, secret):
    monkeypatch.setenv("SHOP_ENV", "production")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY is missing or weak"):
        load_settings(tmp_path)


def test_production_refuses_memory_rate_limits(monkeypatch, tmp_path):
    _production(monkeypatch)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI")
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        load_settings(tmp_path)


@pytest.mark.parametrize("url", ["", "memory://", "file:///tmp/pages"])
def test_production_refuses_a_page_cache_other_processes_cannot_see(monkeypatch, tmp_path, url):
    _production(monkeypatch)
    monkeypatch.setenv("PAGE_CACHE_URL", url)
    with pytest.raises(ConfigError, match="PAGE_CACHE_URL"):
        load_settings(tmp_path)


def test_the_page_cache_is_off_in_development_unless_asked_for(monkeypatch, tmp_path):
    assert load_settings(tmp_path)["PAGE_CACHE_URL"] == ""
    monkeypatch.setenv("PAGE_CACHE_URL", "redis://127.0.0.1:6379/2")
    assert load_settings(tmp_path)["PAGE_CACHE_URL"] == "redis://127.0.0.1:6379/2"
    monkeypatch.setenv("PAGE_CACHE_URL", "ftp://example.com/")
    with pytest.raises(ConfigError, match="PAGE_CACHE_URL"):
        load_settings(tmp_path)
    monkeypatch.delenv("PAGE_CACHE_URL")
    monkeypatch.setenv("SHOP_ENV", "testing")
    assert load_settings(tmp_path)["PAGE_CACHE_URL"] == "memory://"


def _production(monkeypatch):
    monkeypatch.setenv("SHOP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_123")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_old,whsec_new")
    monkeypatch.setenv("MAIL_URL", "smtp://mailer:secret@mail.example.com:587")
    monkeypatch.setenv("PAGE_CACHE_URL", "redis://127.0.0.1:6379/2")


def test_production_needs_a_mail_server(monkeypatch, tmp_path):
    _production(monkeypatch)
    monkeypatch.delenv("MAIL_URL")
    with pytest.raises(ConfigError, match="MAIL_URL is required in production"):
        load_settings(tmp_path)


def test_production_needs_stripe_keys(monkeypatch, tmp_path):
    _production(monkeypatch)
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET")
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("env", "key"), [("production", "sk_live_1"), ("development", "sk_live_1")]
)
def test_emulator_base_refused_in_production_or_with_live_key(monkeypatch, tmp_path, env, key):
    _production(monkeypatch)
    monkeypatch.setenv("SHOP_ENV", env)
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111")
    with pytest.raises(ConfigError, match="STRIPE_API_BASE"):
        load_settings(tmp_path)


def test_emulator_base_allowed_with_test_key_in_development(monkeypatch, tmp_path):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_emulator")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111/")
    settings = load_settings(tmp_path)
    assert settings["STRIPE_API_BASE"] == "http://127.0.0.1:12111"


def test_production_with_strong_secret_starts(monkeypatch, tmp_path):
    _production(monkeypatch)
    monkeypatch.setenv("SHOP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://shop@db/shop")
    settings = load_settings(tmp_path)
    assert settings["SECRET_KEY"] == STRONG
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert (
        settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://shop@db/shop?connect_timeout=5"
    )
    assert settings["STRIPE_WEBHOOK_SECRET"] == ("whsec_old", "whsec_new")
    assert not (tmp_path / "secret_key").exists()


def test_postgres_gets_a_connect_timeout_unless_the_url_sets_one(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop:p%40ss@db/shop")
    assert (
        load_settings(tmp_path)["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://shop:p%40ss@db/shop?connect_timeout=5"
    )
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "2")
    assert load_settings(tmp_path)["SQLALCHEMY_DATABASE_URI"].endswith("?connect_timeout=2")
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop@db/shop?connect_timeout=9")
    assert load_settings(tmp_path)["SQLALCHEMY_DATABASE_URI"].endswith("?connect_timeout=9")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///shop.sqlite3")
    assert load_settings(tmp_path)["SQLALCHEMY_DATABASE_URI"] == "sqlite:///shop.sqlite3"


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    first = load_settings(tmp_path)["SECRET_KEY"]
    second = load_settings(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_defaults(tmp_path):
    settings = load_settings(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert settings["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert settings["COMMENT_IP_RETENTION_DAYS"] == 30
    assert settings["COMMENT_CLOSE_AFTER_DAYS"] == 0
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"


def test_lists_and_numbers_are_parsed(monkeypatch, tmp_path):
    monkeypatch.setenv("COMMENT_MODERATION_WORDS", " casino, pills ,,")
    monkeypatch.setenv("COMMENT_MAX_LINKS", "4")
    settings = load_settings(tmp_path)
    assert settings["COMMENT_MODERATION_WORDS"] == ("casino", "pills")
    assert settings["COMMENT_MAX_LINKS"] == 4


def test_bad_numbers_and_modes_fail_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("COMMENT_MAX_LINKS", "lots")
    with pytest.raises(ConfigError, match="COMMENT_MAX_LINKS must be a whole number"):
        load_settings(tmp_path)
    monkeypatch.delenv("COMMENT_MAX_LINKS")
    monkeypatch.setenv("SHOP_ENV", "staging")
    with pytest.raises(ConfigError, match="SHOP_ENV must be"):
        load_settings(tmp_path)


def test_the_shipping_cutoff_day_defaults_to_the_20th_and_must_be_in_every_month(
    monkeypatch, tmp_path
):
    assert load_settings(tmp_path)["SHIPPING_CUTOFF_DAY"] == 20
    monkeypatch.setenv("SHIPPING_CUTOFF_DAY", "15")
    assert load_settings(tmp_path)["SHIPPING_CUTOFF_DAY"] == 15
    for bad in ("0", "29", "31"):
        monkeypatch.setenv("SHIPPING_CUTOFF_DAY", bad)
        with pytest.raises(ConfigError, match="SHIPPING_CUTOFF_DAY must be a day of the month"):
            load_settings(tmp_path)
