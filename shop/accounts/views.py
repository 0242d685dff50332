"""The customer's account: signing in by emailed link, the account page with its box calendar,
the shipping address, skipping a box, billing, signing out.

Sign-in links are confirmed by a POST: mail scanners fetch links in emails, and a GET must not
use one up. Pages here are private: never cached, never indexed. Every change a customer makes
is a POST with a CSRF token, for one of their own subscriptions only (anyone else's is a 404),
and ends in a redirect back to the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Select

from shop.accounts.addresses import PostalAddress, address_of
from shop.accounts.forms import AddressForm, ButtonForm, SignInForm
from shop.accounts.models import Customer
from shop.accounts.presenters import (
    CalendarLine,
    SkipWords,
    StatusWords,
    country_name,
    describe_calendar_box,
    describe_skip,
    describe_subscription,
    is_current,
    month_words,
    next_box_month,
    short_date,
    skip_is_pending,
    skipped_line,
)
from shop.accounts.queries import (
    last_ship_months,
    own_subscription,
    packed_box_count,
    past_boxes,
    subscriptions_of,
    upcoming_boxes,
    usable_sign_in_link,
)
from shop.accounts.services import (
    SignInLinkInvalid,
    hash_token,
    redeem_sign_in_link,
    request_sign_in_link,
)
from shop.accounts.sessions import current_customer, end_customer_session, start_customer_session
from shop.billing.calendar import month_of
from shop.billing.customers import change_shipping_address
from shop.billing.gateway import PaymentProviderError
from shop.billing.models import CalendarBox, Subscription, SubscriptionStatus
from shop.billing.subscriptions import (
    SubscriptionChangeRefused,
    open_billing_portal,
    skip_next_box,
    skip_refusal,
    undo_skip,
)
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import csrf, db, limiter
from shop.site.errors import RETRY_AFTER_SECONDS
from shop.site.headers import private_page
from shop.site.params import as_id
from shop.urls import absolute_url

bp = Blueprint("accounts", __name__, url_prefix="/account")
# Stripe not answering: like checkout, "try again in a moment" (503), for browsers and robots.
PROVIDER_DOWN_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}

MAX_TOKEN_LENGTH = 128


# Changes that reach Stripe: generous for a person, a wall for a script.
RUNNING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)


def _login_rate_limit() -> str:
    return current_app.config["CUSTOMER_LOGIN_RATE_LIMIT"]


def _change_rate_limit() -> str:
    return current_app.config["ACCOUNT_CHANGE_RATE_LIMIT"]


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
    """Sign out here and on every other device."""
    end_customer_session()
    flash("You've signed out.", "success")
    return redirect(url_for("accounts.login"), code=303)


# -- the account page ------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionCard:
    subscription: Subscription
    words: StatusWords
    skip: SkipWords | None  # None: nothing to say about skipping (not running, or over)


def _signed_in() -> Customer:
    """The signed-in customer; anyone else is sent to sign in (and no change is made)."""
    customer = current_customer()
    if customer is None:
        if request.method == "POST":
            flash("Please sign in first.", "info")
            abort(redirect(url_for("accounts.login"), code=303))
        abort(redirect(url_for("accounts.login")))
    return customer


def _own(customer: Customer, raw_id: str | None) -> Subscription:
    """One of the customer's own subscriptions, from untrusted text; 404 for anything else."""
    subscription_id = as_id(raw_id)
    subscription = (
        db.session.scalar(own_subscription(customer.id, subscription_id))
        if subscription_id is not None
        else None
    )
    if subscription is None:
        abort(404, "We couldn't find that subscription on your account.")
    return subscription


@bp.get("/")
def account() -> tuple[str, int]:
    return _account_page(_signed_in())


def _account_page(
    customer: Customer, *, message: str | None = None, status: int = 200
) -> tuple[str, int]:
    """The account page; a fixed number of queries however many boxes and subscriptions."""
    now, tz = utcnow(), shop_timezone()
    this_month = month_of(now, tz)
    cutoff_day = current_app.config["SHIPPING_CUTOFF_DAY"]
    last_months = {row[0]: row[1] for row in db.session.execute(last_ship_months(customer.id))}
    cards: list[SubscriptionCard] = []
    skipped: list[CalendarLine] = []
    for subscription in db.session.scalars(subscriptions_of(customer.id)).unique():
        skip = None
        end = subscription.current_period_end
        running = subscription.status in RUNNING or subscription.is_skipping
        if end is not None and running and is_current(subscription):
            month = next_box_month(last_months.get(subscription.id), end, cutoff_day, tz)
            skip = describe_skip(
                subscription,
                skip_refusal(subscription, now),
                month,
                this_month=this_month,
                now=now,
                tz=tz,
            )
            if skip_is_pending(subscription):
                skipped.append(
                    skipped_line(
                        subscription.plan.box.name,
                        month,
                        end,
                        this_month=this_month,
                        now=now,
                        tz=tz,
                    )
                )
        words = describe_subscription(subscription, now=now, tz=tz)
        cards.append(SubscriptionCard(subscription, words, skip if skip and skip.text else None))

    def lines(query: Select[tuple[CalendarBox]]) -> list[CalendarLine]:
        return [
            describe_calendar_box(box, box.box.name, this_month=this_month, now=now, tz=tz)
            for box in db.session.scalars(query).unique()
        ]

    upcoming = sorted(lines(upcoming_boxes(customer.id)) + skipped, key=lambda line: line.month)
    page = render_template(
        "accounts/account.html",
        customer=customer,
        current=[card for card in cards if is_current(card.subscription)],
        past=[card for card in cards if not is_current(card.subscription)],
        upcoming=upcoming,
        past_boxes=lines(past_boxes(customer.id)),
        needs_card=any(card.words.needs_card for card in cards),
        page_message=message,
    )
    return page, status


# -- billing ----------------------------------------------------------------------------------


@bp.post("/billing")
def billing() -> Response | tuple[str, int]:
    """The Stripe billing portal: for one subscription (`subscription_id`), or the account's."""
    customer = _signed_in()
    subscription_id: int | None = None
    if request.form.get("subscription_id"):
        subscription_id = _own(customer, request.form.get("subscription_id")).id
    elif not customer.stripe_customer_id:
        flash("There's no billing to manage yet: it starts with your first subscription.", "info")
        return redirect(url_for("accounts.account"), code=303)
    try:
        portal_url = open_billing_portal(
            customer, absolute_url("accounts.account"), subscription_id
        )
    except PaymentProviderError as exc:
        _log_provider_error("billing portal", customer, exc)
        return _provider_unavailable(
            "Manage billing",
            url_for("accounts.billing"),
            {"subscription_id": str(subscription_id)} if subscription_id else {},
        )
    return redirect(portal_url, code=303)


def _log_provider_error(what: str, customer: Customer, exc: PaymentProviderError) -> None:
    current_app.logger.warning(
        "%s unavailable for customer %s (stripe request %s)", what, customer.id, exc.request_id
    )


def _provider_unavailable(
    eyebrow: str, retry_action: str, retry_fields: dict[str, str]
) -> Response:
    page = render_template(
        "accounts/billing_unavailable.html",
        button_form=ButtonForm(),
        eyebrow=eyebrow,
        retry_action=retry_action,
        retry_fields=retry_fields,
    )
    return make_response(page, 503, PROVIDER_DOWN_HEADERS)


# -- skipping a box ---------------------------------------------------------------------------


@bp.post("/subscriptions/<subscription_id>/skip")
@limiter.limit(_change_rate_limit)
def skip_box(subscription_id: str) -> Response | tuple[str, int]:
    """Skip the next box of a monthly subscription: no charge at the renewal, no box."""
    customer = _signed_in()
    subscription = _own(customer, subscription_id)
    try:
        subscription = skip_next_box(customer, subscription.id)
    except SubscriptionChangeRefused as exc:
        return _account_page(customer, message=f"We couldn't skip that box: {exc}", status=400)
    except PaymentProviderError as exc:
        _log_provider_error("skipping a box", customer, exc)
        return _provider_unavailable(
            "Skip a box", url_for("accounts.skip_box", subscription_id=subscription.id), {}
        )
    month, renews_on = _next_box(customer, subscription)
    flash(
        f"Done: you're skipping {month}'s box, so nothing is charged on {renews_on}. "
        "You can undo this until then.",
        "success",
    )
    return redirect(_card_url(subscription), code=303)


@bp.post("/subscriptions/<subscription_id>/skip/undo")
@limiter.limit(_change_rate_limit)
def undo_skip_box(subscription_id: str) -> Response | tuple[str, int]:
    """Take back a skip before the payment it skips."""
    customer = _signed_in()
    subscription = _own(customer, subscription_id)
    try:
        subscription = undo_skip(customer, subscription.id)
    except SubscriptionChangeRefused as exc:
        return _account_page(customer, message=f"We couldn't undo that: {exc}", status=400)
    except PaymentProviderError as exc:
        _log_provider_error("undoing a skip", customer, exc)
        return _provider_unavailable(
            "Undo a skip", url_for("accounts.undo_skip_box", subscription_id=subscription.id), {}
        )
    month, renews_on = _next_box(customer, subscription)
    flash(
        f"Your {month} box is back on: we'll charge your card on {renews_on} as usual.",
        "success",
    )
    return redirect(_card_url(subscription), code=303)


def _next_box(customer: Customer, subscription: Subscription) -> tuple[str, str]:
    """The month of the box the next renewal pays for, and the renewal's date, in words."""
    now, tz = utcnow(), shop_timezone()
    end = subscription.current_period_end or now
    last_months = {row[0]: row[1] for row in db.session.execute(last_ship_months(customer.id))}
    month = next_box_month(
        last_months.get(subscription.id), end, current_app.config["SHIPPING_CUTOFF_DAY"], tz
    )
    return month_words(month, month_of(now, tz)), short_date(end, tz, now)


def _card_url(subscription: Subscription) -> str:
    return url_for("accounts.account", _anchor=f"subscription-{subscription.id}")


# -- the shipping address ---------------------------------------------------------------------


@bp.route("/address", methods=["GET", "POST"])
@limiter.limit(_change_rate_limit, methods=["POST"])
# The form checks its own CSRF token, so a stale page comes back with the address kept.
@csrf.exempt
def address() -> Response | tuple[str, int] | str:
    """Change where the boxes go: Stripe, the account, its subscriptions and unpacked boxes."""
    customer = _signed_in()
    form = AddressForm()
    if request.method == "GET":
        form.fill_from(_current_address(customer))
        return render_template("accounts/address.html", form=form, customer=customer)
    if not form.validate():
        return render_template("accounts/address.html", form=form, customer=customer), 400
    new_address = form.address()
    already_packed = db.session.scalar(packed_box_count(customer.id)) or 0
    try:
        readdressed = change_shipping_address(customer, new_address)
    except PaymentProviderError as exc:
        _log_provider_error("changing the address", customer, exc)
        page = render_template(
            "accounts/address.html", form=form, customer=customer, provider_down=True
        )
        return make_response(page, 503, PROVIDER_DOWN_HEADERS)
    flash(_moved_message(new_address, readdressed, already_packed), "success")
    return redirect(url_for("accounts.account", _anchor="address-title"), code=303)


def _current_address(customer: Customer) -> PostalAddress:
    current = address_of(customer, "shipping_")
    if not current.name and customer.name:
        return PostalAddress(**{**current.as_dict(), "name": customer.name})
    return current


def _moved_message(address: PostalAddress, readdressed: int, already_packed: int) -> str:
    where = ", ".join(
        part
        for part in (
            address.line1,
            address.line2,
            f"{address.city} {address.state} {address.postal_code}",
        )
        if part
    )
    words = [f"Your address is updated. Your next boxes go to {where}."]
    if readdressed == 1:
        words.append("The box already being packed goes there too: we'll relabel it.")
    elif readdressed > 1:
        words.append(
            f"The {readdressed} boxes already being packed go there too: we'll relabel them."
        )
    if already_packed == 1:
        words.append("One box is already packed and goes to your old address.")
    elif already_packed > 1:
        words.append(f"{already_packed} boxes are already packed and go to your old address.")
    return " ".join(words)
