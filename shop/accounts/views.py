"""The customer's account: signing in by emailed link, the account page, billing, signing out.

Sign-in links are confirmed by a POST: mail scanners fetch links in emails, and a GET must not
use one up. Pages here are private: never cached, never indexed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from shop.accounts.forms import ButtonForm, SignInForm
from shop.accounts.presenters import (
    country_name,
    date_range,
    describe_shipment,
    describe_subscription,
    is_current,
)
from shop.accounts.queries import shipments_of, subscriptions_of, usable_sign_in_link
from shop.accounts.services import (
    SignInLinkInvalid,
    hash_token,
    redeem_sign_in_link,
    request_sign_in_link,
)
from shop.accounts.sessions import current_customer, end_customer_session, start_customer_session
from shop.billing.gateway import PaymentProviderError
from shop.billing.models import ShipmentStatus
from shop.billing.services import open_billing_portal
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import csrf, db, limiter
from shop.site.headers import private_page
from shop.urls import absolute_url

bp = Blueprint("accounts", __name__, url_prefix="/account")

MAX_TOKEN_LENGTH = 128


def _login_rate_limit() -> str:
    return current_app.config["CUSTOMER_LOGIN_RATE_LIMIT"]


@bp.app_template_filter("country_name")
def country_name_filter(code: str | None) -> str:
    """AU → Australia (the code itself for countries the shop has no name for)."""
    return country_name(code) if code else ""


bp.after_request(private_page)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
# The form checks its own CSRF token, so a stale page re-renders with the email kept.
@csrf.exempt
def login() -> Response | tuple[str, int] | str:
    if current_customer() is not None:
        return redirect(url_for("accounts.account"), code=303)
    form = SignInForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("accounts/login.html", form=form), 400
        # Known or not, the visitor sees the same next page: no one learns who subscribes.
        request_sign_in_link(form.email.data or "")
        return redirect(url_for("accounts.check_email"), code=303)
    return render_template("accounts/login.html", form=form)


@bp.get("/login/check-email")
def check_email() -> str:
    return render_template(
        "accounts/check_email.html", minutes=current_app.config["SIGN_IN_LINK_MINUTES"]
    )


@bp.get("/login/<token>")
def confirm_sign_in(token: str) -> tuple[str, int] | str:
    if not _usable(token):
        return _link_invalid()
    return render_template("accounts/confirm.html", form=ButtonForm(), token=token)


@bp.post("/login/<token>")
@limiter.limit(_login_rate_limit)
def sign_in(token: str) -> Response | tuple[str, int]:
    if len(token) > MAX_TOKEN_LENGTH:
        return _link_invalid()
    try:
        customer = redeem_sign_in_link(token)
    except SignInLinkInvalid:
        return _link_invalid()
    start_customer_session(customer)
    flash("You're signed in.", "success")
    return redirect(url_for("accounts.account"), code=303)


def _usable(token: str) -> bool:
    if len(token) > MAX_TOKEN_LENGTH:
        return False
    return db.session.scalar(usable_sign_in_link(hash_token(token), utcnow())) is not None


def _link_invalid() -> tuple[str, int]:
    return render_template("accounts/link_invalid.html"), 400


@bp.post("/logout")
def logout() -> Response:
    end_customer_session()
    flash("You've signed out.", "success")
    return redirect(url_for("accounts.login"), code=303)


@bp.get("/")
def account() -> Response | str:
    customer = current_customer()
    if customer is None:
        return redirect(url_for("accounts.login"))
    now, tz = utcnow(), shop_timezone()
    subscriptions = [
        (subscription, describe_subscription(subscription, now=now, tz=tz))
        for subscription in db.session.scalars(subscriptions_of(customer.id)).unique()
    ]
    shipments = [
        (
            shipment,
            box,
            describe_shipment(shipment.status),
            date_range(shipment.period_start, shipment.period_end, tz),
        )
        for shipment, box in db.session.execute(shipments_of(customer.id))
    ]
    return render_template(
        "accounts/account.html",
        customer=customer,
        current=[item for item in subscriptions if is_current(item[0])],
        past=[item for item in subscriptions if not is_current(item[0])],
        upcoming=[item for item in shipments if item[0].status is not ShipmentStatus.SHIPPED],
        shipped=[item for item in shipments if item[0].status is ShipmentStatus.SHIPPED],
        needs_card=any(words.needs_card for _, words in subscriptions),
        button_form=ButtonForm(),
    )


@bp.post("/billing")
def billing() -> Response | tuple[str, int]:
    customer = current_customer()
    if customer is None:
        flash("Please sign in first.", "info")
        return redirect(url_for("accounts.login"), code=303)
    if not customer.stripe_customer_id:
        flash("There's no billing to manage yet: it starts with your first subscription.", "info")
        return redirect(url_for("accounts.account"), code=303)
    try:
        portal_url = open_billing_portal(customer, absolute_url("accounts.account"))
    except PaymentProviderError as exc:
        current_app.logger.warning(
            "billing portal unavailable for customer %s (stripe request %s)",
            customer.id,
            exc.request_id,
        )
        return render_template("accounts/billing_unavailable.html", button_form=ButtonForm()), 502
    return redirect(portal_url, code=303)
