"""Home page, health check and the headers every response carries."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shop.blog.queries import published_articles
from shop.blog.views import next_article_time
from shop.catalog.queries import active_boxes
from shop.dates import date_time, long_date, month_label, ordinal, shop_timezone, short_date
from shop.db import utcnow
from shop.extensions import db, limiter
from shop.jobs import overdue_work
from shop.money import format_money
from shop.site.errors import RETRY_AFTER_SECONDS, note_database_unavailable
from shop.site.page_cache import BLOG, CATALOGUE, shared_page
from shop.site.uploads import files_allowed
from shop.urls import absolute_url

bp = Blueprint("site", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self' {payment_origins}; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def _payment_origins() -> str:
    """Where the subscribe and billing forms may redirect: Stripe's hosted pages."""
    origins = ["https://checkout.stripe.com", "https://billing.stripe.com"]
    api_base = urlsplit(current_app.config["STRIPE_API_BASE"] or "")
    if api_base.scheme and api_base.netloc:  # a Stripe-compatible server hosts its own pages
        origins.append(f"{api_base.scheme}://{api_base.netloc}")
    return " ".join(origins)


@bp.get("/")
@shared_page(BLOG, CATALOGUE, until=next_article_time)
def home() -> str:
    boxes = db.session.scalars(active_boxes()).all()
    articles = db.session.scalars(published_articles(utcnow()).limit(3)).all()
    return render_template("site/home.html", boxes=boxes, articles=articles)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """200 when the database answers `SELECT 1`; 503 with Retry-After (one log line) when not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        note_database_unavailable(exc)
        response = jsonify(status="error", database="unavailable")
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return jsonify(status="ok", database="ok")


@bp.get("/healthz/jobs")
@limiter.exempt
def healthz_jobs() -> Response:
    """200 while the job worker keeps up; 503 when work is overdue (no worker is taking it), for
    monitoring to alert on. The counts say what waits."""
    overdue = overdue_work()
    response = jsonify(status="overdue" if any(overdue.values()) else "ok", overdue=overdue)
    if any(overdue.values()):
        response.status_code = 503
    return response


@bp.before_app_request
def refuse_nul_characters() -> None:
    """NUL can be in no URL, query or form field the shop uses, and PostgreSQL refuses it."""
    values = [request.path, *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        abort(400, "That request contains a character we can't accept.")


@bp.before_app_request
def refuse_file_uploads() -> None:
    """A file is taken only where a view says so (shop.site.uploads.accepts_files, e.g. the
    article editor's hero image): one sent where text is expected is refused whole."""
    if request.mimetype == "multipart/form-data" and request.files and not files_allowed():
        abort(400, "That form doesn't take files. Please type your answer in the form instead.")


@bp.after_app_request
def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    policy = current_app.extensions.get("content_security_policy")
    if policy is None:  # the settings it is made from don't change while the app runs
        policy = CONTENT_SECURITY_POLICY.format(payment_origins=_payment_origins())
        current_app.extensions["content_security_policy"] = policy
    response.headers.setdefault("Content-Security-Policy", policy)
    if current_app.config["SHOP_ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


@bp.app_context_processor
def site_globals() -> dict[str, object]:
    return {
        "site_name": current_app.config["SITE_NAME"],
        "site_url": current_app.config["SITE_URL"],
        "current_year": utcnow().year,
        "absolute_url": absolute_url,
        # Test keys and the emulator only simulate payments; say so on every page.
        "shipping_cutoff_day": current_app.config["SHIPPING_CUTOFF_DAY"],
        "payments_test_mode": not current_app.config["STRIPE_SECRET_KEY"].startswith("sk_live_"),
    }


@bp.app_template_filter("long_date")
def long_date_filter(value: datetime | None) -> str:
    """24 November 2026, in the shop's time zone."""
    return long_date(value, shop_timezone()) if value else ""


@bp.app_template_filter("date_time")
def date_time_filter(value: datetime | None) -> str:
    """3 Jan 2027, 4:05 pm AEDT: a moment in the shop's time zone."""
    return date_time(value, shop_timezone()) if value else ""


@bp.app_template_filter("short_date")
def short_date_filter(value: datetime | None) -> str:
    """24 Nov (with the year when it is not this year), in the shop's time zone."""
    return short_date(value, shop_timezone(), utcnow()) if value else ""


@bp.app_template_filter("month_name")
def month_name_filter(month: str) -> str:
    """A ship month, 2027-01, as "January 2027"."""
    return month_label(month)


@bp.app_template_filter("ordinal")
def ordinal_filter(number: int) -> str:
    return ordinal(number)


@bp.app_template_global("focus_goes_here")
def focus_goes_here() -> bool:
    """True for the first field with an error that a page renders, False for every later one.

    The form macros give that field `autofocus`, so after a failed post the keyboard, the screen
    reader and a phone's screen all start at the first thing to fix, without any script.
    """
    if g.get("error_focus_given"):
        return False
    g.error_focus_given = True
    return True


@bp.app_template_filter("money")
def money_filter(cents: int | None, currency: str | None = "aud") -> str:
    """Minor units as "$49.95 AUD", the one money format (shop.money); nothing for None."""
    return "" if cents is None else format_money(cents, currency or "aud")
