"""The admin's subscriptions and customers: lists, filters, search, detail pages, bad input, the
Stripe history they show (and the event subjects it rests on), a fixed query count."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select

from shop.accounts.models import Customer
from shop.billing.models import (
    CalendarBox,
    Invoice,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.billing.webhooks import record_event
from shop.catalog.models import Plan
from shop.comments.models import Comment
from shop.db import utcnow
from shop.extensions import db
from tests.admin.test_dashboard import state_of
from tests.blog.test_query_budget import count_statements
from tests.builders.billing import make_customer, make_plan, make_subscription
from tests.builders.business import realistic_business
from tests.builders.content import make_article, make_box, make_comment


def total(page: str) -> int:
    match = re.search(r'data-total="(\d+)"', page)
    assert match, "no total on the page"
    return int(match.group(1))


def listed_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-subscription="(\d+)"', page)]


def get(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def all_subscriptions() -> list[Subscription]:
    return list(db.session.scalars(select(Subscription)).all())


def newest_first(subscriptions: list[Subscription]) -> list[int]:
    ordered = sorted(subscriptions, key=lambda s: (s.created_at, s.id), reverse=True)
    return [s.id for s in ordered]


# -- the list ----------------------------------------------------------------------------------


def test_subscriptions_are_listed_newest_first_fifty_a_page(admin_client: FlaskClient) -> None:
    realistic_business(120)
    expected = newest_first(all_subscriptions())
    pages = [get(admin_client, f"/admin/subscriptions?page={n}") for n in (1, 2, 3)]
    assert all(total(page) == 120 for page in pages)
    assert [len(listed_ids(page)) for page in pages] == [50, 50, 20]
    assert [n for page in pages for n in listed_ids(page)] == expected
    assert 'rel="next" href="/admin/subscriptions?page=2"' in pages[0]
    # Past the last page: the last page there is.
    response = admin_client.get("/admin/subscriptions?page=9")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/subscriptions?page=3")


@pytest.mark.parametrize(
    "state", ["active", "past_due", "paused", "cancelling", "cancelled", "incomplete", "live"]
)
def test_the_state_filter_lists_exactly_the_subscriptions_in_that_state(
    admin_client: FlaskClient, state: str
) -> None:
    realistic_business(120)
    wanted = {"active", "past_due", "paused", "cancelling"} if state == "live" else {state}
    expected = [s for s in all_subscriptions() if state_of(s) in wanted]
    page = get(admin_client, f"/admin/subscriptions?status={state}")
    assert total(page) == len(expected) > 0
    assert listed_ids(page) == newest_first(expected)[:50]
    assert set(re.findall(r'data-state="([a-z_]+)"', page)) <= wanted


def test_box_and_term_filters_combine(admin_client: FlaskClient) -> None:
    realistic_business(120)
    plans = {plan.id: plan for plan in db.session.scalars(select(Plan))}
    for query, keep in [
        ("box=shredbox", lambda p: p.box.slug == "shredbox"),
        ("term=3", lambda p: p.term_months == 3),
        ("box=musclebox&term=1", lambda p: p.box.slug == "musclebox" and p.term_months == 1),
    ]:
        expected = [s for s in all_subscriptions() if keep(plans[s.plan_id])]
        page = get(admin_client, f"/admin/subscriptions?{query}")
        assert total(page) == len(expected) > 0, query
        assert listed_ids(page) == newest_first(expected)[:50], query
    both = [
        s
        for s in all_subscriptions()
        if plans[s.plan_id].box.slug == "recoverybox" and state_of(s) == "cancelled"
    ]
    page = get(admin_client, "/admin/subscriptions?box=recoverybox&status=cancelled")
    assert total(page) == len(both)
    assert 'option value="recoverybox" selected' in page


def test_started_and_ended_months_are_shop_time_months(
    app: Flask, admin_client: FlaskClient
) -> None:
    realistic_business(120)
    tz = ZoneInfo(app.config["SHOP_TIMEZONE"])
    now = utcnow().astimezone(tz)
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    for month in (now.strftime("%Y-%m"), last_month):
        started = [
            s
            for s in all_subscriptions()
            if state_of(s) != "incomplete"
            and s.created_at.astimezone(tz).strftime("%Y-%m") == month
        ]
        ended = [
            s
            for s in all_subscriptions()
            if s.status is SubscriptionStatus.CANCELED
            and (s.ended_at or s.canceled_at).astimezone(tz).strftime("%Y-%m") == month  # type: ignore[union-attr]
        ]
        assert total(get(admin_client, f"/admin/subscriptions?started={month}")) == len(started)
        assert total(get(admin_client, f"/admin/subscriptions?ended={month}")) == len(ended)


def test_search_finds_email_or_name_in_any_case_as_literal_text(
    admin_client: FlaskClient,
) -> None:
    realistic_business(60)
    plan = db.session.scalars(select(Plan)).first()
    percent = make_customer("club@example.com", name="The 100%_Fit Club")
    plain = make_customer("tenfold@example.com", name="The 1000 Fit Club")
    angle = make_customer("angle@example.com", name="<script>alert(1)</script>")
    for customer in (percent, plain, angle):
        make_subscription(customer, plan)

    page = get(admin_client, "/admin/subscriptions?q=0%25_F")
    assert total(page) == 1
    assert "The 100%_Fit Club" in html.unescape(page)
    assert total(get(admin_client, "/admin/subscriptions?q=TENFOLD@EXAMPLE")) == 1
    assert total(get(admin_client, "/admin/subscriptions?q=fit club")) == 2
    someone = db.session.scalars(select(Customer).where(Customer.name == "Ava Nguyen")).all()
    expected = sum(
        len(db.session.scalars(select(Subscription).where(Subscription.customer_id == c.id)).all())
        for c in someone
    )
    assert total(get(admin_client, "/admin/subscriptions?q=ava+NGUYEN")) == expected > 0
    escaped = get(admin_client, "/admin/subscriptions?q=script")
    assert "<script>alert(1)</script>" not in escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped
    assert "No subscriptions match these filters." in get(
        admin_client, "/admin/subscriptions?q=nobody-at-all"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=bogus", "A state is one of"),
        ("status=canceled", "A state is one of"),
        ("term=abc", "A term is 1, 3, 6 or 12"),
        ("term=2", "A term is 1, 3, 6 or 12"),
        ("term=-1", "A term is 1, 3, 6 or 12"),
        ("box=no-such-box", "isn't a box in the catalogue"),
        ("started=2026-13", "A month looks like"),
        ("ended=last-month", "A month looks like"),
        ("q=" + "x" * 201, "at most 200 characters"),
    ],
)
def test_malformed_filters_are_a_400_that_says_what_is_expected(
    admin_client: FlaskClient, query: str, message: str
) -> None:
    make_box("musclebox", "MuscleBox")
    response = admin_client.get(f"/admin/subscriptions?{query}")
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999"])
def test_a_page_that_cannot_be_is_a_404(admin_client: FlaskClient, page: str) -> None:
    assert admin_client.get(f"/admin/subscriptions?page={page}").status_code == 404
    assert admin_client.get(f"/admin/customers?page={page}").status_code == 404


# -- one subscription --------------------------------------------------------------------------


def test_a_subscription_page_shows_its_customer_plan_history_invoices_and_boxes(
    admin_client: FlaskClient,
) -> None:
    realistic_business(60)
    # A long-lived subscription with boxes shipped and events of several kinds.
    subscription = max(
        (s for s in all_subscriptions() if state_of(s) == "cancelling"),
        key=lambda s: datetime.now(UTC) - s.created_at,
    )
    page = get(admin_client, f"/admin/subscriptions/{subscription.id}")
    text = html.unescape(page)
    customer = subscription.customer
    assert f'href="/admin/customers/{customer.id}"' in page
    assert customer.email in text
    assert f"{subscription.plan.box.name}, {subscription.plan.term_label.lower()}" in text
    assert 'data-state="cancelling"' in page
    assert subscription.ship_to_line1 in text

    events = db.session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.stripe_subscription_id == subscription.stripe_subscription_id
        )
    ).all()
    shown = re.findall(r'<tr data-event="([^"]+)"', page)
    by_time = sorted(events, key=lambda e: (e.stripe_created_at, e.id), reverse=True)
    assert shown == [event.stripe_event_id for event in by_time]
    types = {event.type for event in events}
    assert {"checkout.session.completed", "customer.subscription.updated", "invoice.paid"} <= types
    assert "active, cancelling" in text  # the status the update carried

    invoices = db.session.scalars(
        select(Invoice).where(Invoice.subscription_id == subscription.id)
    ).all()
    assert sorted(re.findall(r'<tr data-invoice="([^"]+)"', page)) == sorted(
        invoice.stripe_invoice_id for invoice in invoices
    )
    months = db.session.scalars(
        select(CalendarBox.ship_month).where(CalendarBox.subscription_id == subscription.id)
    ).all()
    shown_months = re.findall(r'<tr data-month="(\d{4}-\d{2})"', page)
    assert shown_months == sorted(months, reverse=True) and len(shown_months) > 1
    assert "Shipped" in page


def test_a_subscription_without_history_says_so(admin_client: FlaskClient) -> None:
    subscription = make_subscription(make_customer(), make_plan())
    page = get(admin_client, f"/admin/subscriptions/{subscription.id}")
    assert "No Stripe events recorded about this subscription." in page
    assert "No invoices yet." in page
    assert "No boxes granted yet." in page


@pytest.mark.parametrize("raw", ["999999", "0", str(2**31), str(2**63), "-1", "abc"])
def test_an_unknown_subscription_or_customer_is_a_404(admin_client: FlaskClient, raw: str) -> None:
    make_subscription(make_customer(), make_plan())
    assert admin_client.get(f"/admin/subscriptions/{raw}").status_code == 404
    assert admin_client.get(f"/admin/customers/{raw}").status_code == 404


@pytest.mark.parametrize(
    ("app_settings", "link"),
    [
        (
            {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_API_BASE": ""},
            "https://dashboard.stripe.com/test/subscriptions/",
        ),
        (
            {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_API_BASE": ""},
            "https://dashboard.stripe.com/subscriptions/",
        ),
        ({"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_API_BASE": "http://127.0.0.1:1"}, None),
        ({"STRIPE_SECRET_KEY": "", "STRIPE_API_BASE": ""}, None),
    ],
)
def test_the_stripe_dashboard_link_follows_the_key(
    admin_client: FlaskClient, link: str | None
) -> None:
    customer = make_customer()
    subscription = make_subscription(customer, make_plan())
    page = get(admin_client, f"/admin/subscriptions/{subscription.id}")
    found = re.search(r'href="([^"]+)"[^>]*data-stripe-link', page)
    if link is None:
        assert found is None
        assert "no Stripe dashboard page" in page
    else:
        assert found and found.group(1) == link + subscription.stripe_subscription_id
        customer_page = get(admin_client, f"/admin/customers/{customer.id}")
        customer_link = re.search(r'href="([^"]+)"[^>]*data-stripe-link', customer_page)
        assert customer_link
        assert customer_link.group(1) == link.replace("subscriptions", "customers") + str(
            customer.stripe_customer_id
        )


# -- customers ---------------------------------------------------------------------------------


def test_customers_are_listed_newest_first_with_their_subscriptions_counted(
    admin_client: FlaskClient,
) -> None:
    business = realistic_business(120)
    customers = sorted(
        db.session.scalars(select(Customer)).all(),
        key=lambda c: (c.created_at, c.id),
        reverse=True,
    )
    first = get(admin_client, "/admin/customers")
    second = get(admin_client, "/admin/customers?page=2")
    assert total(first) == len(customers) == len(business.customer_ids)
    shown = [int(n) for n in re.findall(r'<tr data-customer="(\d+)"', first + second)]
    assert shown == [c.id for c in customers][:100]
    for customer in customers[:50]:
        held = db.session.scalars(
            select(Subscription).where(Subscription.customer_id == customer.id)
        ).all()
        live = sum(1 for s in held if state_of(s) in {"active", "past_due", "paused", "cancelling"})
        row = re.search(rf'<tr data-customer="{customer.id}">(.*?)</tr>', first, re.S)
        assert row and f"{live} live of {len(held)}" in row.group(1)
    found = get(admin_client, "/admin/customers?q=" + business.commenter_emails[1].upper())
    assert total(found) == 1
    assert total(get(admin_client, "/admin/customers?q=%25")) == 0
    assert admin_client.get("/admin/customers?q=" + "y" * 201).status_code == 400


def test_a_customer_page_shows_every_subscription_and_their_comments_in_any_case(
    admin_client: FlaskClient,
) -> None:
    business = realistic_business(60)
    customer = db.session.scalar(
        select(Customer).where(Customer.email == business.commenter_emails[0])
    )
    assert customer is not None
    other = make_customer("someone.else@example.com", name="Someone Else")
    make_comment(make_article(), body="Not theirs", email=other.email, name="Someone Else")
    page = get(admin_client, f"/admin/customers/{customer.id}")
    held = db.session.scalars(
        select(Subscription).where(Subscription.customer_id == customer.id)
    ).all()
    assert sorted(int(n) for n in re.findall(r'<tr data-subscription="(\d+)"', page)) == sorted(
        s.id for s in held
    )
    comments = db.session.scalars(
        select(Comment).where(sa.func.lower(Comment.author_email) == customer.email)
    ).all()
    assert any(c.author_email != customer.email for c in comments), "an upper-case email"
    shown = [int(n) for n in re.findall(r'<tr data-comment="(\d+)"', page)]
    assert sorted(shown) == sorted(c.id for c in comments) and shown
    assert "Not theirs" not in page
    for comment in comments:
        assert f"/admin/comments?status={comment.status.value}#comment-{comment.id}" in page
        assert f"/admin/comments/{comment.id}/edit" in page
    assert customer.shipping_line1 in html.unescape(page)


# -- query budgets -----------------------------------------------------------------------------


def _statements(client: FlaskClient, path: str) -> int:
    with count_statements(db.engine) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_the_lists_and_pages_run_the_same_statements_whatever_the_data_size(
    admin_client: FlaskClient,
) -> None:
    paths = [
        "/admin/subscriptions",
        "/admin/subscriptions?status=live&term=1&q=example",
        "/admin/customers",
    ]
    realistic_business(40)
    subscription = all_subscriptions()[0]
    paths += [
        f"/admin/subscriptions/{subscription.id}",
        f"/admin/customers/{subscription.customer_id}",
    ]
    few = [_statements(admin_client, path) for path in paths]
    realistic_business(160)
    many = [_statements(admin_client, path) for path in paths]
    assert many == few
    assert max(many) <= 16


# -- what each event is about ------------------------------------------------------------------


def _event(type_: str, obj: object, event_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "api_version": "2026-10-28.endive",
        "created": 1_800_000_000,
        "data": {"object": obj},
    }


def test_recording_an_event_notes_its_object_and_subscription(app: Flask) -> None:
    cases = [
        (
            _event(
                "customer.subscription.updated", {"id": "sub_1", "object": "subscription"}, "e1"
            ),
            ("sub_1", "sub_1"),
        ),
        (
            _event(
                "invoice.paid",
                {
                    "id": "in_1",
                    "object": "invoice",
                    "parent": {"subscription_details": {"subscription": "sub_2"}},
                },
                "e2",
            ),
            ("in_1", "sub_2"),
        ),
        (
            _event(
                "checkout.session.completed",
                {"id": "cs_1", "object": "checkout.session", "subscription": {"id": "sub_3"}},
                "e3",
            ),
            ("cs_1", "sub_3"),
        ),
        (_event("customer.updated", {"id": "cus_1", "object": "customer"}, "e4"), ("cus_1", None)),
        (
            _event("invoice.paid", {"id": "in_2", "object": "invoice", "parent": None}, "e5"),
            ("in_2", None),
        ),
        (_event("customer.subscription.deleted", {"object": "subscription"}, "e6"), (None, None)),
        (_event("customer.updated", 3, "e7"), (None, None)),
        (_event("invoice.paid", {"id": ["in_x"], "subscription": "s" * 300}, "e8"), (None, None)),
    ]
    for event, _ in cases:
        record_event(event)
    recorded = {
        e.stripe_event_id: (e.object_id, e.stripe_subscription_id)
        for e in db.session.scalars(select(WebhookEvent))
    }
    assert recorded == {event["id"]: subjects for event, subjects in cases}


def test_the_migration_fills_in_what_recorded_events_are_about(app: Flask) -> None:
    """Upgrading a shop with events already recorded (more than one batch of them)."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(revision="c5e8a1b3d7f9")
    events = sa.table(
        "webhook_events",
        sa.column("id", sa.Integer()),
        sa.column("stripe_event_id", sa.String()),
        sa.column("type", sa.String()),
        sa.column("api_version", sa.String()),
        sa.column("stripe_created_at", sa.DateTime(timezone=True)),
        sa.column("payload", sa.JSON()),
        sa.column("received_at", sa.DateTime(timezone=True)),
        sa.column("outcome", sa.String()),
        sa.column("attempts", sa.Integer()),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    now = datetime(2026, 11, 1, tzinfo=UTC)
    shapes = [
        ("customer.subscription.updated", lambda n: {"id": f"sub_{n}", "object": "subscription"}),
        (
            "invoice.paid",
            lambda n: {
                "id": f"in_{n}",
                "object": "invoice",
                "parent": {"subscription_details": {"subscription": f"sub_{n}"}},
            },
        ),
        ("customer.updated", lambda n: {"id": f"cus_{n}", "object": "customer"}),
    ]
    rows = []
    for n in range(1203):
        type_, make = shapes[n % 3]
        rows.append(
            {
                "stripe_event_id": f"evt_{n}",
                "type": type_,
                "api_version": None,
                "stripe_created_at": now,
                "payload": {"id": f"evt_{n}", "type": type_, "data": {"object": make(n)}},
                "received_at": now,
                "outcome": "processed",
                "attempts": 1,
                "next_attempt_at": now,
            }
        )
    with db.engine.begin() as connection:
        connection.execute(events.insert(), rows)
    upgrade()
    with db.engine.connect() as connection:
        found = {
            row.stripe_event_id: (row.object_id, row.stripe_subscription_id)
            for row in connection.execute(
                sa.text(
                    "SELECT stripe_event_id, object_id, stripe_subscription_id FROM webhook_events"
                )
            )
        }
    assert len(found) == 1203
    assert found["evt_0"] == ("sub_0", "sub_0")
    assert found["evt_1201"] == ("in_1201", "sub_1201")
    assert found["evt_1202"] == ("cus_1202", None)
    assert sum(1 for _, subscription in found.values() if subscription) == 802
