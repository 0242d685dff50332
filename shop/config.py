"""Settings read from the environment when the app factory runs.

`load_settings()` returns a plain dict of Flask config keys. In production a missing or weak
secret, or a SQLite database chosen by accident, stops start-up with a clear message; in
development a random secret is generated once and kept in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from sqlalchemy.engine import make_url

WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "please-change-me", "development"}
MIN_SECRET_LENGTH = 32
JOB_QUEUE_SCHEMES = {
    "sqlite",
    "redis",
    "rediss",
    "postgresql",
    "postgresql+psycopg",
    "postgres",
    "immediate",
}


class ConfigError(RuntimeError):
    """The environment does not describe a shop that can start safely."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def _list(name: str, default: str = "") -> tuple[str, ...]:
    raw = os.environ.get(name, default)
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _with_connect_timeout(url: str, seconds: int) -> str:
    """`url` with libpq's connect_timeout, unless it sets one (or `seconds` is 0).

    Without it an unreachable PostgreSQL holds a request for minutes of TCP retries; with it
    the request fails in seconds and the visitor gets the "try again in a minute" page (503).
    """
    parsed = make_url(url)
    if seconds <= 0 or "connect_timeout" in parsed.query:
        return url
    with_timeout = parsed.update_query_dict({"connect_timeout": str(seconds)})
    return with_timeout.render_as_string(hide_password=False)


def _development_secret(instance_path: Path) -> str:
    """Generate a random secret once and keep it in the instance folder."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(instance_path: Path) -> dict[str, object]:
    """Read every setting from the environment (and `.env` when present)."""
    load_dotenv(override=False)
    env = _env("SHOP_ENV", "development").lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"SHOP_ENV must be development, production or testing, got {env!r}")
    production = env == "production"

    secret = _env("SECRET_KEY")
    if production:
        if secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "SECRET_KEY is missing or weak. In production set SECRET_KEY to a random value of "
                f"at least {MIN_SECRET_LENGTH} characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
    elif not secret and env == "testing":
        secret = secrets.token_urlsafe(48)
    elif not secret:
        secret = _development_secret(instance_path)

    database_url = _env("DATABASE_URL") or f"sqlite:///{instance_path / 'shop.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("postgresql+psycopg://"):
        database_url = _with_connect_timeout(database_url, _int("DATABASE_CONNECT_TIMEOUT", 5))

    site_url = (_env("SITE_URL") or "http://127.0.0.1:5000").rstrip("/")
    ratelimit_storage = _env("RATELIMIT_STORAGE_URI") or "memory://"
    if production and ratelimit_storage == "memory://":
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must point at shared storage in production "
            "(e.g. redis://127.0.0.1:6379/0); per-process memory limits are easy to bypass."
        )

    # Off by default in development: `flask` commands run in other processes (import-article,
    # the job worker) could not reach a server's memory:// cache, and one developer needs none.
    page_cache_url = _env("PAGE_CACHE_URL") or ("memory://" if env == "testing" else "")
    if page_cache_url and urlsplit(page_cache_url).scheme not in {"memory", "redis", "rediss"}:
        raise ConfigError(
            "PAGE_CACHE_URL must look like redis://127.0.0.1:6379/2 (shared by every worker; "
            "required in production) or memory:// (one process only: development)."
        )
    if production and urlsplit(page_cache_url).scheme in {"", "memory"}:
        raise ConfigError(
            "PAGE_CACHE_URL=memory:// is per process: another worker would keep serving a page "
            "after it changed. In production point it at Redis, e.g. redis://127.0.0.1:6379/2."
        )

    stripe_key = _env("STRIPE_SECRET_KEY")
    stripe_api_base = _env("STRIPE_API_BASE").rstrip("/")
    if stripe_api_base and (production or stripe_key.startswith("sk_live_")):
        raise ConfigError(
            "STRIPE_API_BASE points the shop at a Stripe emulator or proxy; that is refused "
            "in production and with a live key (sk_live_...). Unset it to talk to Stripe."
        )
    if production and not (stripe_key and _env("STRIPE_WEBHOOK_SECRET")):
        raise ConfigError("In production set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.")

    mail_url = _env("MAIL_URL")
    mail_parts = urlsplit(mail_url)
    if mail_url and (mail_parts.scheme not in {"smtp", "smtps"} or not mail_parts.hostname):
        raise ConfigError(
            "MAIL_URL must look like smtp://user:password@host:587 (STARTTLS), "
            "smtps://user:password@host:465 or smtp://127.0.0.1:1025"
        )
    if production and not mail_url:
        raise ConfigError(
            "MAIL_URL is required in production: customers sign in and hear about payments by email."
        )
    job_queue_url = _env("JOB_QUEUE_URL") or f"sqlite:///{instance_path / 'jobs.sqlite3'}"
    if urlsplit(job_queue_url).scheme not in JOB_QUEUE_SCHEMES:
        raise ConfigError(
            "JOB_QUEUE_URL must look like sqlite:///path/jobs.sqlite3, redis://127.0.0.1:6379/1 "
            f"or postgresql://user@host/db, got {urlsplit(job_queue_url).scheme!r}"
        )
    if production and urlsplit(job_queue_url).scheme == "immediate":
        raise ConfigError("JOB_QUEUE_URL=immediate:// runs jobs inside requests: tests only.")
    timezone = _env("SHOP_TIMEZONE") or "Australia/Sydney"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"SHOP_TIMEZONE must be a time zone name, got {timezone!r}") from exc
    customer_session_days = _int("CUSTOMER_SESSION_DAYS", 30)
    admin_session_hours = _int("ADMIN_SESSION_HOURS", 8)
    if admin_session_hours < 1:
        raise ConfigError(f"ADMIN_SESSION_HOURS must be at least 1, got {admin_session_hours}")
    cutoff_day = _int("SHIPPING_CUTOFF_DAY", 20)
    if not 1 <= cutoff_day <= 28:
        raise ConfigError(
            f"SHIPPING_CUTOFF_DAY must be a day of the month from 1 to 28, got {cutoff_day}"
        )

    return {
        "SHOP_ENV": env,
        # The development outbox page (/dev/outbox, which shows sign-in links) is served only
        # when the development server of `make run` asks for it, never by a deployment that
        # merely forgot SHOP_ENV=production.
        "DEV_OUTBOX": env == "development" and _bool("SHOP_DEV_OUTBOX", False),
        "DEBUG": False,
        "TESTING": env == "testing",
        "SECRET_KEY": secret,
        "SITE_URL": site_url,
        "SITE_NAME": _env("SITE_NAME") or "MuscleBox",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # SQL parameters hold customers' emails and addresses: never in logs or error messages.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Customers stay signed in this long (a sliding window: each visit renews it).
        "PERMANENT_SESSION_LIFETIME": timedelta(days=customer_session_days),
        "REMEMBER_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 4,
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "TRUSTED_PROXY_COUNT": _int("TRUSTED_PROXY_COUNT", 0),
        # Anonymous pages rendered once and shared by every worker and server (shop.site.pages).
        "PAGE_CACHE_URL": page_cache_url,
        # Comments and their moderation policy.
        "COMMENT_MAX_LINKS": _int("COMMENT_MAX_LINKS", 2),
        "COMMENT_MODERATION_WORDS": _list("COMMENT_MODERATION_WORDS"),
        "COMMENT_BLOCKLIST_WORDS": _list("COMMENT_BLOCKLIST_WORDS"),
        "COMMENT_BLOCKLIST_EMAILS": _list("COMMENT_BLOCKLIST_EMAILS"),
        "COMMENT_BLOCKLIST_IPS": _list("COMMENT_BLOCKLIST_IPS"),
        "COMMENT_CLOSE_AFTER_DAYS": _int("COMMENT_CLOSE_AFTER_DAYS", 0),
        "COMMENT_MIN_SECONDS": _int("COMMENT_MIN_SECONDS", 3),
        "COMMENT_FLOOD_SECONDS": _int("COMMENT_FLOOD_SECONDS", 15),
        "COMMENT_RATE_LIMIT": _env("COMMENT_RATE_LIMIT") or "5 per minute;30 per hour",
        "COMMENT_IP_RETENTION_DAYS": _int("COMMENT_IP_RETENTION_DAYS", 30),
        "ADMIN_LOGIN_RATE_LIMIT": _env("ADMIN_LOGIN_RATE_LIMIT") or "10 per minute;50 per hour",
        # An admin is signed out this long after signing in, however busy (absolute, not sliding).
        "ADMIN_SESSION_HOURS": admin_session_hours,
        # This many failed sign-ins in a row for one admin email, from any address, lock it for
        # ADMIN_LOCKOUT_MINUTES (doubling with each further lock, up to 8 times as long).
        "ADMIN_LOCKOUT_FAILURES": max(1, _int("ADMIN_LOCKOUT_FAILURES", 5)),
        "ADMIN_LOCKOUT_MINUTES": max(1, _int("ADMIN_LOCKOUT_MINUTES", 15)),
        # A browser an admin signed in on is theirs this long: a lock others cause by guessing
        # does not apply there (its wrong passwords still count).
        "ADMIN_DEVICE_DAYS": max(1, _int("ADMIN_DEVICE_DAYS", 90)),
        # Host names answered besides SITE_URL's (e.g. an internal name for health checks);
        # any other Host header gets 400. Links are always built from SITE_URL.
        "EXTRA_TRUSTED_HOSTS": _list("EXTRA_TRUSTED_HOSTS"),
        "SHOP_TIMEZONE": timezone,
        # Outgoing email: SMTP when MAIL_URL is set, else the development outbox table.
        "MAIL_URL": mail_url,
        "MAIL_FROM": _env("MAIL_FROM") or "MuscleBox <no-reply@localhost>",
        "MAIL_TIMEOUT_SECONDS": _int("MAIL_TIMEOUT_SECONDS", 10),
        # Customer sign-in by emailed link.
        "SIGN_IN_LINK_MINUTES": _int("SIGN_IN_LINK_MINUTES", 15),
        "SIGN_IN_LINKS_PER_EMAIL": _int("SIGN_IN_LINKS_PER_EMAIL", 3),
        "CUSTOMER_LOGIN_RATE_LIMIT": _env("CUSTOMER_LOGIN_RATE_LIMIT")
        or "5 per minute;20 per hour",
        "CUSTOMER_SESSION_DAYS": customer_session_days,
        # Per-IP limit on a signed-in customer's changes (address, skipping a box).
        "ACCOUNT_CHANGE_RATE_LIMIT": _env("ACCOUNT_CHANGE_RATE_LIMIT")
        or "10 per minute;40 per hour",
        # Payments (used by the billing domain).
        "STRIPE_SECRET_KEY": stripe_key,
        "STRIPE_WEBHOOK_SECRET": _list("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": stripe_api_base,
        # Jobs wait this long for Stripe (and retry twice); a page, with a customer waiting,
        # waits STRIPE_PAGE_TIMEOUT_SECONDS and does not retry.
        "STRIPE_TIMEOUT_SECONDS": _int("STRIPE_TIMEOUT_SECONDS", 8),
        "STRIPE_PAGE_TIMEOUT_SECONDS": _int("STRIPE_PAGE_TIMEOUT_SECONDS", 4),
        # The job queue (see shop/jobs.py): sqlite:///path, redis://..., postgresql://...
        "JOB_QUEUE_URL": job_queue_url,
        # How long a job waits for a subscription's lock before it retries later; a page
        # waits PAGE_LOCK_TIMEOUT_SECONDS, then says "try again in a moment".
        "LOCK_TIMEOUT_SECONDS": _int("LOCK_TIMEOUT_SECONDS", 10),
        # A job still not done this long after it was due is taken to be lost, and the sweep
        # (every minute, or `flask --app shop sweep-jobs`) enqueues it again.
        "JOB_LOST_AFTER_SECONDS": _int("JOB_LOST_AFTER_SECONDS", 120),
        # A failed job waits this long before its first retry, then twice as long each time.
        "JOB_RETRY_SECONDS": _int("JOB_RETRY_SECONDS", 30),
        "PAGE_LOCK_TIMEOUT_SECONDS": _int("PAGE_LOCK_TIMEOUT_SECONDS", 3),
        # ISO country codes Stripe Checkout collects shipping addresses for.
        "SHIPPING_COUNTRIES": tuple(c.upper() for c in _list("SHIPPING_COUNTRIES", "AU")),
        # A period paid on or before this day of the month (shop time) ships that month.
        "SHIPPING_CUTOFF_DAY": cutoff_day,
        # Articles' uploaded hero images: kept here (named by their content's hash) and served
        # at /media/<name>. Each is at most HERO_IMAGE_MAX_BYTES, and at most
        # HERO_IMAGE_MAX_SIDE pixels wide or high (a small file can decode to gigabytes).
        "MEDIA_DIR": _env("MEDIA_DIR") or str(instance_path / "media"),
        "HERO_IMAGE_MAX_BYTES": _int("HERO_IMAGE_MAX_BYTES", 5 * 1024 * 1024),
        "HERO_IMAGE_MAX_SIDE": _int("HERO_IMAGE_MAX_SIDE", 6000),
    }


LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


def trusted_hosts(site_url: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The Host names the shop answers: SITE_URL's, the extras, and the loopback names.

    Any other Host header gets 400 (shop.site.hosts), so nothing the shop builds from a request
    can point at someone else's site. Loopback names stay trusted even in production: a
    container's health check asks http://127.0.0.1/, and no browser reaches another site by them.
    """
    hosts = [urlsplit(site_url).hostname or "", *extra, *LOOPBACK_HOSTS]
    return list(dict.fromkeys(host.lower() for host in hosts if host))
