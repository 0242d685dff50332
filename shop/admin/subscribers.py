"""The admin's subscribers: subscriptions and customers, to find one and see all about it.

Read-only routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/subscriptions?q=&box=<slug>&term=<1|3|6|12>&status=<state|live>&started=YYYY-MM
  &ended=YYYY-MM|ended_days=N&page=N` — subscriptions, newest first, 50 a page. `q` finds the customer's email
  or name anywhere in it (literal text, any case); `status` is one of the states of
  `shop.billing.queries.SubscriberState`, or `live` for every subscriber; `started` is the month
  (shop time) a subscription began in, `ended` the month a cancelled one ended in, `ended_days`
  the last N days it ended in (the dashboard's churn).
- `GET /admin/subscriptions/<id>` — the customer, plan, state and period, the history of Stripe
  events recorded about it (type, when, the status each carried, what became of it), invoices,
  the box calendar with shipments, where its boxes go, and its page in Stripe's dashboard (with
  a real key; the emulator has no page per subscription, so none is linked there).
- `GET /admin/customers?q=&page=N` — customers, newest first, with their subscriptions counted.
- `GET /admin/customers/<id>` — the customer, every subscription, and the comments written
  under their email (compared case-insensitively), with links to moderate them.

A malformed filter — a state, term or month we don't have, a box that isn't in the catalogue, a
search longer than MAX_SEARCH — is a 400 page that says what is expected; an unknown id is a
404. Nothing here changes anything, so nothing is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, abort, current_app, redirect, render_template, request, url_for

from shop.accounts.addresses import address_of
from shop.accounts.models import Customer
from shop.accounts.queries import (
    comment_count_by_email,
    comments_by_email,
    customer_list,
)
from shop.accounts.services import normalise_email
from shop.admin.dashboard import STATE_LABELS, month_start
from shop.admin.views import bp
from shop.billing.calendar import BadMonth, add_months, parse_month
from shop.billing.models import Subscription, WebhookEvent
from shop.billing.queries import (
    HISTORY_SHOWN,
    LIVE_STATES,
    SubscriberState,
    boxes_for_filter,
    subscriber_state,
    subscription_calendar,
    subscription_counts,
    subscription_events,
    subscription_for_admin,
    subscription_invoices,
    subscription_list,
)
from shop.billing.shipping import ship_to_of
from shop.catalog.models import TERMS_MONTHS, Box
from shop.db import utcnow
from shop.extensions import db
from shop.site.params import as_id, page_number

PER_PAGE = 50
MAX_SEARCH = 200
LIVE = "live"
STATUS_CHOICES: dict[str, str] = {
    LIVE: "Subscribers (all live)",
    **{state.value: label for state, label in STATE_LABELS.items()},
}


@dataclass(frozen=True)
class SubscriptionFilters:
    search: str
    box: Box | None
    term: int | None
    status: str | None
    started: str | None
    ended: str | None
    ended_days: int | None
    page: int

    def args(self, **changes: object) -> dict[str, object]:
        """Query-string arguments for url_for (defaults left out)."""
        values: dict[str, object] = {
            "q": self.search or None,
            "box": self.box.slug if self.box else None,
            "term": self.term,
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "ended_days": self.ended_days,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value is not None}

    @property
    def states(self) -> tuple[SubscriberState, ...] | None:
        if self.status is None:
            return None
        if self.status == LIVE:
            return LIVE_STATES
        return (SubscriberState(self.status),)

    @property
    def is_filtered(self) -> bool:
        return bool(self.args(page=None))


def _search_arg() -> str:
    search = request.args.get("q", "").strip()
    if len(search) > MAX_SEARCH:
        abort(400, f"Search for at most {MAX_SEARCH} characters of an email or a name.")
    return search


def _box_arg(boxes: Sequence[Box]) -> Box | None:
    raw = request.args.get("box", "")
    if not raw:
        return None
    for box in boxes:
        if box.slug == raw:
            return box
    abort(400, "That isn't a box in the catalogue. Choose one from the list, or all boxes.")


def _term_arg() -> int | None:
    raw = request.args.get("term", "")
    if not raw:
        return None
    if raw not in {str(term) for term in TERMS_MONTHS}:
        abort(400, "A term is 1, 3, 6 or 12 (months).")
    return int(raw)


def _status_arg() -> str | None:
    raw = request.args.get("status", "")
    if not raw:
        return None
    if raw not in STATUS_CHOICES:
        abort(400, f"A state is one of: {', '.join(STATUS_CHOICES)}.")
    return raw


def _month_arg(name: str) -> str | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return parse_month(raw)
    except BadMonth as error:
        abort(400, str(error))


# "Ended in the last N days" (the dashboard's churn links to 30) takes 1 to this many days.
MAX_ENDED_DAYS = 366


def _days_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ENDED_DAYS:
        abort(400, f"Ended in the last N days takes a whole number from 1 to {MAX_ENDED_DAYS}.")
    return int(raw)


def _ended_span(month: str | None, days: int | None) -> tuple[datetime, datetime] | None:
    """The span the `ended` filter asks for: a month, or the last `days` days up to now."""
    if month is not None and days is not None:
        abort(400, "Filter by the month a subscription ended in or by the last days, not both.")
    if days is not None:
        now = utcnow()
        return now - timedelta(days=days), now
    return _month_span(month)


def _month_span(month: str | None) -> tuple[datetime, datetime] | None:
    """A month (shop time) as (its first instant, the next month's first instant), in UTC."""
    if month is None:
        return None
    return month_start(month), month_start(add_months(month, 1))


def _states_of(subscriptions: Sequence[Subscription]) -> dict[int, SubscriberState]:
    """Each listed subscription's state, in one statement."""
    if not subscriptions:
        return {}
    rows = db.session.execute(
        db.select(Subscription.id, subscriber_state()).where(
            Subscription.id.in_([subscription.id for subscription in subscriptions])
        )
    )
    return {row[0]: SubscriberState(row[1]) for row in rows}


@bp.get("/subscriptions")
def subscriptions() -> Response | str:
    boxes = db.session.scalars(boxes_for_filter()).all()
    filters = SubscriptionFilters(
        search=_search_arg(),
        box=_box_arg(boxes),
        term=_term_arg(),
        status=_status_arg(),
        started=_month_arg("started"),
        ended=_month_arg("ended"),
        ended_days=_days_arg("ended_days"),
        page=page_number(),
    )
    query = subscription_list(
        search=filters.search,
        box_id=filters.box.id if filters.box else None,
        term_months=filters.term,
        states=filters.states,
        started=_month_span(filters.started),
        ended=_ended_span(filters.ended, filters.ended_days),
    )
    page = db.paginate(
        query,
        page=filters.page,
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    if not page.items and filters.page > 1:
        return redirect(
            url_for("admin.subscriptions", **filters.args(page=page.pages or None)), 303
        )
    return render_template(
        "admin/subscriptions.html",
        filters=filters,
        page=page,
        states=_states_of(page.items),
        boxes=boxes,
        terms=TERMS_MONTHS,
        status_choices=STATUS_CHOICES,
        state_labels=STATE_LABELS,
        page_url=lambda number: url_for("admin.subscriptions", **filters.args(page=number)),
    )


def stripe_dashboard_url(kind: str, stripe_id: str | None) -> str | None:
    """The object's page in Stripe's dashboard for the key the shop uses (test/ for a test key),
    or None: no id, no key, or the shop talks to the emulator (which has no such page)."""
    if not stripe_id or current_app.config.get("STRIPE_API_BASE"):
        return None
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    if key.startswith(("sk_live_", "rk_live_")):
        mode = ""
    elif key.startswith(("sk_test_", "rk_test_")):
        mode = "test/"
    else:
        return None
    return f"https://dashboard.stripe.com/{mode}{kind}/{quote(stripe_id, safe='')}"


def carried_status(event: WebhookEvent) -> str:
    """The status the event's object carried when Stripe sent it ("" when it had none)."""
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    obj: Any = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return ""
    status = obj.get("status")
    text = status if isinstance(status, str) else ""
    if obj.get("object") == "subscription":
        if obj.get("cancel_at_period_end") or obj.get("cancel_at"):
            text += ", cancelling"
        if obj.get("pause_collection"):
            text += ", skipping"
    elif obj.get("object") == "checkout.session":
        payment = obj.get("payment_status")
        if isinstance(payment, str):
            text = f"{text}, {payment}" if text else payment
    return text[:80]


def _id_or_404(raw: int) -> int:
    number = as_id(raw)
    if number is None:
        abort(404)
    return number


@bp.get("/subscriptions/<int:subscription_id>")
def subscription(subscription_id: int) -> str:
    row = db.session.execute(subscription_for_admin(_id_or_404(subscription_id))).one_or_none()
    if row is None:
        abort(404, "There's no such subscription.")
    record, state = row
    return render_template(
        "admin/subscription.html",
        subscription=record,
        state=SubscriberState(state),
        state_labels=STATE_LABELS,
        events=db.session.scalars(subscription_events(record.stripe_subscription_id)).all(),
        history_limit=HISTORY_SHOWN,
        invoices=db.session.scalars(subscription_invoices(record.id)).all(),
        calendar=db.session.scalars(subscription_calendar(record.id)).unique().all(),
        address=ship_to_of(record),
        stripe_url=stripe_dashboard_url("subscriptions", record.stripe_subscription_id),
        customer_stripe_url=stripe_dashboard_url("customers", record.stripe_customer_id),
        carried_status=carried_status,
    )


@bp.get("/customers")
def customers() -> Response | str:
    search = _search_arg()
    number = page_number()
    page = db.paginate(
        customer_list(search),
        page=number,
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    args = {"q": search or None}
    if not page.items and number > 1:
        return redirect(url_for("admin.customers", **args, page=page.pages or None), 303)
    counts = {}
    if page.items:
        counts = {
            customer_id: (total, live)
            for customer_id, total, live in db.session.execute(
                subscription_counts([customer.id for customer in page.items])
            )
        }
    return render_template(
        "admin/customers.html",
        search=search,
        page=page,
        counts=counts,
        page_url=lambda n: url_for("admin.customers", **args, page=n),
    )


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int) -> str:
    record = db.get_or_404(
        Customer, _id_or_404(customer_id), description="There's no such customer."
    )
    email = normalise_email(record.email)
    held = db.session.scalars(subscription_list(customer_id=record.id)).all()
    return render_template(
        "admin/customer.html",
        customer=record,
        address=address_of(record, "shipping_"),
        subscriptions=held,
        states=_states_of(held),
        state_labels=STATE_LABELS,
        comments=db.session.scalars(comments_by_email(email)).all(),
        comment_count=db.session.scalar(comment_count_by_email(email)) or 0,
        stripe_url=stripe_dashboard_url("customers", record.stripe_customer_id),
    )
