"""The privacy page through HTTP: looking a person up, exporting everything held about them,
and erasing it, on a shop full of other people whose data must not move."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.accounts.models import Customer, SignInLink
from shop.audit.models import AuditEntry
from shop.billing.models import Invoice, Shipment, Subscription, SubscriptionStatus, WebhookEvent
from shop.comments.models import Comment
from shop.extensions import db
from shop.mail.models import EmailStatus, OutboxMessage, QueuedEmail
from tests.builders.billing import make_subscription
from tests.builders.privacy import (
    Person,
    World,
    customer_with_history,
    privacy_world,
    stripe_trail,
)
from tests.helpers import csrf_token, text_of, visible_text

JO = "jo.lifter@example.com"
JO_NAME = "Jo Lifter"


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return privacy_world()


@pytest.fixture
def jo(world: World) -> Person:
    """Jo: an ended subscription and a live one, comments in every status."""
    return customer_with_history(JO, JO_NAME, world.plan, live=True, articles=world.articles)


@pytest.fixture
def token(admin_client: FlaskClient) -> str:
    return csrf_token(admin_client, "/admin/privacy")


def post(client: FlaskClient, path: str, token: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": token, **data})


def snapshot() -> dict[str, object]:
    """Every row of the tables erasure may touch, as plain values."""
    tables = (Customer, Comment, Subscription, Shipment, Invoice, QueuedEmail, SignInLink)
    rows: dict[str, object] = {}
    for model in (*tables, OutboxMessage, WebhookEvent):
        for row in db.session.scalars(select(model)):
            values = {c.key: getattr(row, c.key) for c in model.__table__.columns}
            values.pop("updated_at", None)
            rows[f"{model.__tablename__}:{row.id}"] = values
    return rows


def test_lookup_lists_what_is_held_in_any_case(admin_client, token, jo):  # type: ignore[no-untyped-def]
    response = post(admin_client, "/admin/privacy", token, email="  JO.Lifter@Example.COM ")
    assert response.status_code == 200
    page = visible_text(response)
    customer_id = jo.customer.id
    assert f"Customer record #{customer_id}" in page
    assert "Comments 15 6 approved · 3 pending · 3 spam · 3 trash" in page
    assert "Subscriptions 2 1 not ended" in page
    assert "can't be erased yet" in page
    assert f"1 subscription has not ended: #{jo.subscription_ids[1]} (Active)." in page
    assert response.headers["Cache-Control"] == "no-store"


def audit_entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_lookup_that_finds_someone_is_recorded_by_id_and_counts(admin_client, token, jo):  # type: ignore[no-untyped-def]
    response = post(admin_client, "/admin/privacy", token, email=JO.upper())
    assert response.status_code == 200
    (entry,) = audit_entries()
    assert entry.action == "privacy.lookup"
    assert entry.actor_email == "coach@musclebox.test"
    assert entry.subject == f"customer:{jo.customer.id}"
    assert entry.summary == f"Looked up what is held about customer #{jo.customer.id}"
    assert entry.details["customer_id"] == jo.customer.id
    assert entry.details["counts"]["comments"] == 15
    assert entry.details["counts"]["subscriptions"] == 2
    recorded = json.dumps([entry.summary, entry.subject, entry.details]).lower()
    assert "jo.lifter" not in recorded and "jo lifter" not in recorded and "bondi" not in recorded


def test_a_lookup_of_a_commenter_is_recorded_by_comment(admin_client, token, world):  # type: ignore[no-untyped-def]
    from tests.builders.privacy import commenter_history

    ids = commenter_history("sam@example.com", "Sam Reader", world.articles)
    assert post(admin_client, "/admin/privacy", token, email="sam@example.com").status_code == 200
    (entry,) = audit_entries()
    assert (entry.action, entry.subject) == ("privacy.lookup", f"comment:{ids[0]}")
    assert entry.details == {
        "customer_id": None,
        "counts": {**dict.fromkeys(entry.details["counts"], 0), "comments": 15},
    }
    assert "sam" not in json.dumps([entry.summary, entry.details]).lower()


@pytest.mark.parametrize("email", ["nobody@example.com", "not an email", ""])
def test_a_lookup_that_finds_nothing_or_is_malformed_records_nothing(  # type: ignore[no-untyped-def]
    admin_client, token, jo, email
):
    response = post(admin_client, "/admin/privacy", token, email=email)
    assert response.status_code in (400, 404)
    assert audit_entries() == []


@pytest.mark.parametrize(
    ("status", "skipping", "label"),
    [
        (SubscriptionStatus.ACTIVE, True, "Paused or skipping"),
        (SubscriptionStatus.PAUSED, False, "Paused or skipping"),
        (SubscriptionStatus.ACTIVE, False, "Active"),
        (SubscriptionStatus.UNPAID, False, "Past due"),
    ],
)
def test_subscriptions_are_named_as_the_subscriber_pages_name_them(  # type: ignore[no-untyped-def]
    admin_client, token, world, status, skipping, label
):
    person = customer_with_history(JO, JO_NAME, world.plan, live=False, articles=world.articles[:1])
    live = make_subscription(person.customer, world.plan, status=status, skipping=skipping)
    lookup = visible_text(post(admin_client, "/admin/privacy", token, email=JO))
    asking = visible_text(erase(admin_client, token, JO, confirm=False))
    forced = visible_text(erase(admin_client, token, JO))
    for page in (lookup, asking, forced):
        assert f"1 subscription has not ended: #{live.id} ({label})." in page
    # The subscriber pages say the same of it.
    detail = visible_text(admin_client.get(f"/admin/subscriptions/{live.id}"))
    assert label in detail


def test_lookup_of_an_unknown_address_says_nothing_is_held(admin_client, token, world):  # type: ignore[no-untyped-def]
    response = post(admin_client, "/admin/privacy", token, email="nobody@example.com")
    assert response.status_code == 404
    assert "holds nothing about this email address" in text_of(response)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter the email address of the person who asked."),
        ("not an email", "Enter an email address, like sam@example.com."),
        ("jo@", "Enter an email address, like sam@example.com."),
        ("jo\u202e@example.com", "Enter an email address, like sam@example.com."),
        ("j" * 250 + "@example.com", "An email address is at most 254 characters."),
    ],
)
@pytest.mark.parametrize(
    "path", ["/admin/privacy", "/admin/privacy/export", "/admin/privacy/erase"]
)
def test_malformed_email_is_a_form_error_and_changes_nothing(  # type: ignore[no-untyped-def]
    admin_client, token, jo, path, email, message
):
    before = snapshot()
    response = post(admin_client, path, token, email=email, confirm="yes")
    assert response.status_code == 400
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert message in text_of(response)
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_posts_without_csrf_token_are_refused(admin_client, jo):  # type: ignore[no-untyped-def]
    before = snapshot()
    for path in ("/admin/privacy/export", "/admin/privacy/erase"):
        response = admin_client.post(path, data={"email": JO, "confirm": "yes"})
        assert response.status_code == 400
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def export(client: FlaskClient, token: str, email: str):  # type: ignore[no-untyped-def]
    return post(client, "/admin/privacy/export", token, email=email)


def test_export_is_a_private_attachment_of_everything_held(admin_client, token, jo, world):  # type: ignore[no-untyped-def]
    response = export(admin_client, token, JO.upper())
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="privacy-export-customer-{jo.customer.id}-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.get_data(as_text=True))

    assert document["email"] == JO
    assert document["customer"]["id"] == jo.customer.id
    assert document["customer"]["name"] == JO_NAME
    assert document["customer"]["shipping_address"]["line1"].endswith("Bondi Rd")
    assert document["stripe_customer_ids"] == [jo.customer.stripe_customer_id]
    assert sorted(s["id"] for s in document["subscriptions"]) == sorted(jo.subscription_ids)
    assert {s["status"] for s in document["subscriptions"]} == {"canceled", "active"}
    assert sorted(b["id"] for b in document["calendar_boxes"]) == sorted(jo.box_ids)
    assert sorted(s["id"] for s in document["shipments"]) == sorted(jo.shipment_ids)
    assert all(s["ship_to"]["name"] == JO_NAME for s in document["shipments"])
    assert len(document["invoices"]) == 5  # the first period and one per box
    assert all(i["amount_paid_cents"] == 13995 for i in document["invoices"])
    assert sorted(c["id"] for c in document["comments"]) == sorted(jo.comment_ids)
    assert {c["status"] for c in document["comments"]} == {"approved", "pending", "spam", "trash"}
    assert all(c["ip_address"] == "198.51.100.23" for c in document["comments"])
    assert sorted(e["id"] for e in document["emails"]) == sorted(jo.email_ids)
    assert {(e["message"], e["status"]) for e in document["emails"]} >= {
        ("Sign-in link", "sent"),
        ("Box on its way", "pending"),
    }
    assert all(e["to"] == JO for e in document["emails"])
    assert len(document["sign_in_links"]) == 2
    assert all(
        set(link) == {"created_at", "expires_at", "used_at"} for link in document["sign_in_links"]
    )
    assert document["development_outbox"][0]["text_body"] == f"Hi {JO_NAME}, here is your link."
    assert [e["type"] for e in document["stripe_events"]] == ["customer.updated"]

    # Nothing of anybody else.
    text = json.dumps(document).lower()
    for other in world.others:
        assert other.email not in text
        assert other.name.lower() not in text
        assert other.customer.stripe_customer_id not in text
    assert "reader" not in text


def test_export_gives_the_payloads_of_their_stripe_events_and_no_one_elses(  # type: ignore[no-untyped-def]
    admin_client, token, jo, world
):
    trail = stripe_trail(jo)
    response = export(admin_client, token, JO)
    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    events = {e["id"]: e for e in document["stripe_events"]}
    expected = {
        event.stripe_event_id: event
        for event in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.id.in_(jo.event_ids + trail.theirs))
        )
    }
    assert set(events) == set(expected)
    for event_id, event in expected.items():
        assert events[event_id]["type"] == event.type
        assert events[event_id]["payload"] == event.payload  # as Stripe sent it
    invoice = next(e for e in events.values() if e["type"] == "invoice.paid")
    assert invoice["payload"]["data"]["object"]["customer_name"] == JO_NAME
    customer = next(e for e in events.values() if e["type"] == "customer.updated")
    assert customer["payload"]["data"]["object"]["shipping"]["address"]["line1"] == "12 Bondi Rd"

    # The lookalike (a Stripe id that starts like Jo's, an address that ends like it) and the
    # gift someone else bought for Jo are about other people: none of it comes along.
    text = json.dumps(document).lower()
    assert trail.lookalike.email not in text
    assert "bo lookalike" not in text
    assert trail.lookalike.customer.stripe_customer_id not in text
    assert "gift giver" not in text and "giver@example.com" not in text
    for other in world.others:
        assert other.email not in text and other.name.lower() not in text


def test_erasing_redacts_their_stripe_events_and_leaves_other_peoples_alone(  # type: ignore[no-untyped-def]
    admin_client, token, ended_jo
):
    trail = stripe_trail(ended_jo)
    others_before = {
        event.id: event.payload
        for event in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.id.in_(trail.others))
        )
    }
    lookup = visible_text(post(admin_client, "/admin/privacy", token, email=JO))
    assert "Stripe events naming them 4" in lookup
    assert "Other people's Stripe events mentioning the address 1" in lookup
    asking = visible_text(erase(admin_client, token, JO, confirm=False))
    assert "in 1 recorded Stripe event(s) about other people (theirs stays)" in asking
    assert erase(admin_client, token, JO).status_code == 303
    db.session.expire_all()
    for event in db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.id.in_(trail.theirs + ended_jo.event_ids))
    ):
        assert "jo.lifter" not in json.dumps(event.payload).lower()
        assert JO_NAME not in json.dumps(event.payload)
    others_after = {
        event.id: event.payload
        for event in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.id.in_(trail.others))
        )
    }
    # The lookalike's events are untouched; the gift keeps its giver's details and loses
    # only Jo's address.
    gift_id = trail.others[-1]
    gift = others_before.pop(gift_id)
    assert others_after.pop(gift_id) == {
        **gift,
        "data": {
            "object": {**gift["data"]["object"], "metadata": {"gift_for": "[erased]"}},
        },
    }
    assert others_after == others_before


def test_export_is_recorded_by_id_without_the_email(admin_client, token, jo):  # type: ignore[no-untyped-def]
    export(admin_client, token, JO)
    (entry,) = db.session.scalars(select(AuditEntry)).all()
    assert entry.action == "privacy.export"
    assert entry.subject == f"customer:{jo.customer.id}"
    assert entry.details["counts"]["comments"] == 15
    recorded = json.dumps([entry.summary, entry.subject, entry.details]).lower()
    assert "jo.lifter" not in recorded and "jo lifter" not in recorded


def test_export_of_a_commenter_without_an_account(admin_client, token, world):  # type: ignore[no-untyped-def]
    from tests.builders.privacy import commenter_history

    ids = commenter_history("sam@example.com", "Sam Reader", world.articles)
    response = export(admin_client, token, "Sam@Example.com")
    document = json.loads(response.get_data(as_text=True))
    assert document["customer"] is None
    assert sorted(c["id"] for c in document["comments"]) == sorted(ids)
    assert "privacy-export-commenter-" in response.headers["Content-Disposition"]


def test_export_of_an_unknown_address_says_nothing_is_held(admin_client, token, world):  # type: ignore[no-untyped-def]
    response = export(admin_client, token, "nobody@example.com")
    assert response.status_code == 404
    assert "holds nothing about this email address" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def erase(client: FlaskClient, token: str, email: str, *, confirm: bool = True):  # type: ignore[no-untyped-def]
    data = {"email": email, **({"confirm": "yes"} if confirm else {})}
    return post(client, "/admin/privacy/erase", token, **data)


def test_a_customer_with_a_live_subscription_is_not_erased(admin_client, token, jo):  # type: ignore[no-untyped-def]
    before = snapshot()
    asking = erase(admin_client, token, JO, confirm=False)
    assert asking.status_code == 409
    assert "can't be erased yet, and nothing was changed" in visible_text(asking)
    assert "(Active)" in visible_text(asking)
    assert "Erase for good" not in visible_text(asking)

    forced = erase(admin_client, token, JO)  # a stale or forged confirmation
    assert forced.status_code == 409
    assert "1 subscription has not ended" in visible_text(forced)
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (SubscriptionStatus.TRIALING, "Active"),
        (SubscriptionStatus.PAST_DUE, "Past due"),
        (SubscriptionStatus.UNPAID, "Past due"),
        (SubscriptionStatus.PAUSED, "Paused or skipping"),
        (SubscriptionStatus.INCOMPLETE, "Incomplete"),
    ],
)
def test_every_status_but_ended_keeps_the_customer(admin_client, token, world, status, label):  # type: ignore[no-untyped-def]
    person = customer_with_history(JO, JO_NAME, world.plan, live=False, articles=world.articles[:1])
    live = make_subscription(person.customer, world.plan, status=status)
    before = snapshot()
    response = erase(admin_client, token, JO)
    assert response.status_code == 409
    assert f"#{live.id} ({label})" in visible_text(response)
    assert snapshot() == before


def test_a_paid_box_still_to_ship_keeps_the_customer(admin_client, token, world):  # type: ignore[no-untyped-def]
    from tests.builders.billing import make_calendar_box

    person = customer_with_history(JO, JO_NAME, world.plan, live=False, articles=world.articles[:1])
    ended = db.session.get(Subscription, person.subscription_ids[0])
    make_calendar_box(ended, "2026-12")
    before = snapshot()
    response = erase(admin_client, token, JO)
    assert response.status_code == 409
    assert "1 paid box is still to ship (2026-12)" in visible_text(response)
    assert snapshot() == before


@pytest.fixture
def ended_jo(world: World) -> Person:
    """Jo once every subscription has ended and every box shipped."""
    return customer_with_history(JO, JO_NAME, world.plan, live=False, articles=world.articles)


def test_erase_asks_first_and_says_what_goes_and_what_stays(admin_client, token, ended_jo):  # type: ignore[no-untyped-def]
    before = snapshot()
    response = erase(admin_client, token, JO, confirm=False)
    assert response.status_code == 200
    page = visible_text(response)
    assert f"Erase customer #{ended_jo.customer.id}" in page
    assert "On 15 comment(s): the name (shown as “Anonymous”)" in page
    assert "What is kept for the books" in page
    assert ended_jo.customer.stripe_customer_id in page
    assert "This does not delete anything in Stripe" in page
    assert 'name="confirm" value="yes"' in response.get_data(as_text=True)
    assert snapshot() == before


def test_erase_removes_the_persons_data_and_keeps_the_books(admin_client, token, ended_jo, world):  # type: ignore[no-untyped-def]
    customer_id = ended_jo.customer.id
    stripe_id = ended_jo.customer.stripe_customer_id
    invoices_before = {
        i.id: (i.amount_paid_cents, i.period_start, i.paid_at)
        for i in db.session.scalars(select(Invoice))
    }
    others_before = {
        key: value for key, value in snapshot().items() if not _belongs_to(key, ended_jo)
    }

    response = erase(admin_client, token, JO)
    assert response.status_code == 303
    page = visible_text(admin_client.get(response.headers["Location"]))
    assert f"Erased customer #{customer_id}'s name, email and address" in page
    assert f"Stripe still holds this person's details under {stripe_id}" in page

    customer = db.session.get(Customer, customer_id)
    assert customer.email == f"erased-{customer_id}@erased.invalid"
    assert customer.name == "" and customer.shipping_line1 == "" and customer.shipping_city == ""
    assert customer.session_epoch == 1
    assert customer.stripe_customer_id == stripe_id  # kept for the books
    for subscription in db.session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id)
    ):
        assert subscription.ship_to_name == subscription.ship_to_line1 == ""
    shipments = db.session.scalars(
        select(Shipment).where(Shipment.customer_id == customer_id)
    ).all()
    assert len(shipments) == 3
    assert all(s.ship_to_name == s.ship_to_line1 == s.tracking_number == "" for s in shipments)
    assert {s.ship_month for s in shipments} == {"2026-08", "2026-09", "2026-10"}
    assert all(s.carrier == "Australia Post" for s in shipments)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SignInLink)
            .where(SignInLink.customer_id == customer_id)
        )
        == 0
    )
    emails = db.session.scalars(
        select(QueuedEmail).where(QueuedEmail.customer_id == customer_id)
    ).all()
    assert {e.status for e in emails} == {EmailStatus.SENT, EmailStatus.DROPPED}
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == JO)
        )
        == 0
    )
    invoices_after = {
        i.id: (i.amount_paid_cents, i.period_start, i.paid_at)
        for i in db.session.scalars(select(Invoice))
    }
    assert invoices_after == invoices_before

    comments = db.session.scalars(select(Comment).where(Comment.id.in_(ended_jo.comment_ids))).all()
    assert len(comments) == 15
    for comment in comments:
        assert (comment.author_name, comment.author_email, comment.author_url) == (
            "Anonymous",
            "",
            "",
        )
        assert comment.ip_address is None and comment.user_agent is None
        assert comment.fingerprint is None
        assert comment.body.startswith(f"{JO_NAME} says: set")  # the text stays
    reasons = " ".join(r for c in comments for r in c.status_reasons).lower()
    assert (
        "jo.lifter" not in reasons and "198.51.100.23" not in reasons and "jo lifter" not in reasons
    )

    (event,) = db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.id.in_(ended_jo.event_ids))
    ).all()
    stripe_customer = event.payload["data"]["object"]
    assert stripe_customer["email"] is None and stripe_customer["name"] is None
    assert stripe_customer["phone"] is None and stripe_customer["shipping"] is None
    assert stripe_customer["description"] == "Customer [erased]"
    assert stripe_customer["id"] == stripe_id

    # Other people's rows are exactly as they were.
    after = snapshot()
    assert {key: after[key] for key in others_before} == others_before


def _belongs_to(key: str, person: Person) -> bool:
    table, _, raw_id = key.partition(":")
    row_id = int(raw_id)
    mine = {
        "customers": [person.customer.id],
        "comments": person.comment_ids,
        "subscriptions": person.subscription_ids,
        "shipments": person.shipment_ids,
        "queued_emails": person.email_ids,
        "webhook_events": person.event_ids,
    }
    if table in ("sign_in_links", "outbox_messages", "invoices"):
        return _row_of(table, row_id, person)
    return row_id in mine.get(table, [])


def _row_of(table: str, row_id: int, person: Person) -> bool:
    if table == "sign_in_links":
        return db.session.get(SignInLink, row_id).customer_id == person.customer.id
    if table == "invoices":
        return db.session.get(Invoice, row_id).subscription_id in person.subscription_ids
    return db.session.get(OutboxMessage, row_id).to_address == person.email


def test_erase_is_recorded_by_ids_and_counts_only(admin_client, token, ended_jo):  # type: ignore[no-untyped-def]
    erase(admin_client, token, JO)
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "privacy.erase")
    ).all()
    assert entry.subject == f"customer:{ended_jo.customer.id}"
    assert entry.details["comments"] == 15
    assert entry.details["shipments"] == 3
    assert sorted(entry.details["comment_ids"]) == sorted(ended_jo.comment_ids)
    recorded = json.dumps([entry.summary, entry.subject, entry.details]).lower()
    assert "jo.lifter" not in recorded and "jo lifter" not in recorded and "bondi" not in recorded


def test_erasing_twice_says_nothing_is_held(admin_client, token, ended_jo):  # type: ignore[no-untyped-def]
    assert erase(admin_client, token, JO).status_code == 303
    before = snapshot()
    again = erase(admin_client, token, JO)
    assert again.status_code == 404
    assert "holds nothing about this email address" in text_of(again)
    assert "If it was erased before, the audit log shows it" in text_of(again)
    assert snapshot() == before
    assert erase(admin_client, token, JO, confirm=False).status_code == 404


def test_erasing_a_commenter_leaves_other_commenters_alone(admin_client, token, world):  # type: ignore[no-untyped-def]
    from tests.builders.privacy import commenter_history

    ids = commenter_history("sam@example.com", "Sam Reader", world.articles)
    others = {
        c.id: (c.author_name, c.author_email, c.ip_address)
        for c in db.session.scalars(select(Comment).where(Comment.id.not_in(ids)))
    }
    response = erase(admin_client, token, "SAM@example.com")
    assert response.status_code == 303
    assert all(
        c.author_name == "Anonymous" and c.author_email == ""
        for c in db.session.scalars(select(Comment).where(Comment.id.in_(ids)))
    )
    after = {
        c.id: (c.author_name, c.author_email, c.ip_address)
        for c in db.session.scalars(select(Comment).where(Comment.id.not_in(ids)))
    }
    assert after == others
    # The anonymised comments still show on the article, as "Anonymous".
    page = visible_text(admin_client.get(f"/blog/{world.articles[0].slug}"))
    assert "Anonymous" in page and "Sam Reader says: set 0 in approved" in page
    assert "Sam Reader Sam" not in page
