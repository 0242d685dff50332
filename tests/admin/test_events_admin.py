"""The Stripe events page over a year of events: the type filter kept across tabs and pages, one
event's page with its payload, "process again" from there, and the reconcile button."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.audit.services import record_admin_action
from shop.billing.models import EventOutcome, Subscription, WebhookEvent
from shop.billing.reconcile import Difference
from shop.billing.reconcile_report import MAX_DIFFERENCES, build_report
from shop.db import utcnow
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.billing.conftest import buy
from tests.builders.events import a_year_of_events, make_event
from tests.conftest import ADMIN_EMAIL
from tests.helpers import csrf_token, shop_on_emulator, visible_text


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    return shop_on_emulator(stripe_emulator)


def _event_ids(page: str) -> list[str]:
    return re.findall(r"<small><code>(evt_[^<]+)</code></small>", page)


def _count(outcome: EventOutcome, event_type: str | None = None) -> int:
    query = select(func.count()).where(WebhookEvent.outcome == outcome)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    return db.session.scalar(query) or 0


def _links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def test_the_type_filter_narrows_every_tab_and_is_kept_by_tabs_and_pages(
    admin_client: FlaskClient,
):
    a_year_of_events(900)
    page = admin_client.get("/admin/events?status=processed&type=invoice.paid")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # Only invoice.paid events, 50 of them, newest first.
    shown = _event_ids(body)
    assert len(shown) == 50
    types = set(
        db.session.scalars(select(WebhookEvent.type).where(WebhookEvent.stripe_event_id.in_(shown)))
    )
    assert types == {"invoice.paid"}
    # Each tab counts only this type, and links keep it.
    processed = _count(EventOutcome.PROCESSED, "invoice.paid")
    assert f"Processed ({processed})" in visible_text(page).replace("( ", "(")
    assert processed != _count(EventOutcome.PROCESSED)
    links = _links(body)
    assert "/admin/events?status=failed&type=invoice.paid" in links
    assert "/admin/events?status=queued&type=invoice.paid" in links
    assert "/admin/events?status=processed&page=2&type=invoice.paid" in links
    # The next page is still this type, and different events.
    second = admin_client.get("/admin/events?status=processed&page=2&type=invoice.paid")
    second_ids = _event_ids(second.get_data(as_text=True))
    assert second_ids and not set(second_ids) & set(shown)
    assert set(
        db.session.scalars(
            select(WebhookEvent.type).where(WebhookEvent.stripe_event_id.in_(second_ids))
        )
    ) == {"invoice.paid"}
    # The select offers every type recorded, this one chosen.
    assert '<option value="invoice.paid" selected>' in body
    assert '<option value="customer.subscription.updated" >' in body


def test_failed_only_of_one_type(admin_client: FlaskClient):
    a_year_of_events(200)
    make_event("invoice.paid", EventOutcome.FAILED, error="invoice exploded")
    page = admin_client.get("/admin/events?type=invoice.paid")  # the Failed tab by default
    ids = _event_ids(page.get_data(as_text=True))
    assert len(ids) == _count(EventOutcome.FAILED, "invoice.paid")
    assert all(
        record.outcome is EventOutcome.FAILED and record.type == "invoice.paid"
        for record in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id.in_(ids))
        )
    )
    assert "invoice exploded" in visible_text(page)


@pytest.mark.parametrize(
    "query",
    [
        "type=" + "x" * 121,
        "type=invoice.p%C3%A4id",
        "type=invoice%20paid",
        "type=%E2%80%AEdiap.eciovni",
        "status=exploded&type=invoice.paid",
        "status=All",
        "status=",
    ],
)
def test_a_malformed_filter_is_a_400_that_says_why(admin_client: FlaskClient, query: str):
    make_event("invoice.paid", EventOutcome.FAILED)
    response = admin_client.get(f"/admin/events?{query}")
    assert response.status_code == 400
    assert "Error 400" in visible_text(response)


def test_a_type_no_event_has_is_an_empty_list_saying_so(admin_client: FlaskClient):
    a_year_of_events(40)
    response = admin_client.get("/admin/events?type=charge.refunded")
    assert response.status_code == 200
    assert "No event of type charge.refunded has been received." in visible_text(response)
    assert _event_ids(response.get_data(as_text=True)) == []


def test_an_event_page_shows_its_payload_escaped_and_its_history(admin_client: FlaskClient):
    a_year_of_events(60)
    record = make_event(
        "invoice.payment_failed",
        EventOutcome.FAILED,
        error="PaymentProviderError: Stripe is not answering",
        payload_extra={"description": "<script>alert('x')</script>", "lines": {"data": [1] * 400}},
    )
    list_page = admin_client.get("/admin/events").get_data(as_text=True)
    assert f'href="/admin/events/{record.id}"' in list_page
    response = admin_client.get(f"/admin/events/{record.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body
    # Pretty-printed: one key per line, indented.
    assert '\n  "type": "invoice.payment_failed",\n' in html.unescape(body)
    assert 'class="admin-json event-payload"' in body
    text = visible_text(response)
    assert "Stripe is not answering" in text and "10 of 10" in text
    assert f"invoice {record.payload['data']['object']['id']}" in text
    assert "Process again" in text
    processed = make_event("invoice.paid", EventOutcome.PROCESSED)
    processed_text = visible_text(admin_client.get(f"/admin/events/{processed.id}"))
    assert "Process again" not in processed_text
    # No error: no Error row, and never a Python None.
    assert "Error" not in processed_text and "None" not in processed_text


def test_unknown_and_malformed_event_ids_are_404(admin_client: FlaskClient):
    make_event()
    for raw in ("999999", "0", "-1", "abc", str(2**63), "1%27"):
        assert admin_client.get(f"/admin/events/{raw}").status_code == 404


def test_process_again_from_the_event_page_comes_back_to_it(admin_client: FlaskClient):
    record = make_event("customer.updated", EventOutcome.FAILED)
    path = f"/admin/events/{record.id}"
    response = admin_client.post(
        f"{path}/process?back=event", data={"csrf_token": csrf_token(admin_client, path)}
    )
    assert response.status_code == 303 and response.headers["Location"] == path
    # Applied at once (jobs run in-process): Stripe has no such customer, so ignored.
    assert db.session.get(WebhookEvent, record.id).outcome is EventOutcome.IGNORED
    assert "queued again" in visible_text(admin_client.get(path))


def test_process_again_from_a_filtered_list_keeps_the_filter(admin_client: FlaskClient):
    record = make_event("customer.updated", EventOutcome.FAILED)
    listing = "/admin/events?type=customer.updated"
    page = admin_client.get(listing).get_data(as_text=True)
    action = f"/admin/events/{record.id}/process?type=customer.updated"
    assert f'action="{action}"' in page
    response = admin_client.post(action, data={"csrf_token": csrf_token(admin_client, listing)})
    assert response.headers["Location"] == "/admin/events?status=failed&type=customer.updated"
    bad = admin_client.post(
        f"/admin/events/{record.id}/process?type=" + "x" * 200,
        data={"csrf_token": csrf_token(admin_client, listing)},
    )
    assert bad.status_code == 400


def _entries(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_the_reconcile_button_repairs_in_a_job_and_shows_the_report(
    app, admin_client: FlaskClient, client, stripe_emulator: RunningEmulator
):
    from shop.billing.gateway import gateway
    from shop.catalog.services import sync_catalogue
    from shop.demo import seed_demo

    seed_demo()
    sync_catalogue(gateway())
    pages = stripe_emulator.app.test_client()
    buy(client, pages, stripe_emulator, "musclebox", 1)  # paid; its webhooks never arrive
    stripe_id = next(iter(stripe_emulator.emulator.data["subscriptions"]))
    assert db.session.scalar(select(func.count(Subscription.id))) == 0
    page = admin_client.get("/admin/events")
    text = visible_text(page)
    assert "No reconcile has been run from here yet." in text
    assert "repairs" in text and "flask reconcile" in text  # the button says what it does

    response = admin_client.post(
        "/admin/events/reconcile", data={"csrf_token": csrf_token(admin_client, "/admin/events")}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/events#reconcile"
    # The job ran (in-process in tests): the missed subscription is in the shop now.
    assert db.session.scalar(select(Subscription.stripe_subscription_id)) == stripe_id
    (request_entry,) = _entries("reconcile.request")
    (run,) = _entries("reconcile.run")
    assert request_entry.actor_email == run.actor_email == ADMIN_EMAIL
    assert run.details["request"] == request_entry.id and run.details["repaired"] >= 1
    assert "bea@example.com" not in str(run.details) + run.summary
    report = visible_text(admin_client.get("/admin/events"))
    assert "Reconcile with Stripe is queued" in report
    assert "Latest report" in report and stripe_id in report
    assert "Missing here, created" in report and "asked for by " + ADMIN_EMAIL in report

    # Again: all in step now.
    admin_client.post(
        "/admin/events/reconcile", data={"csrf_token": csrf_token(admin_client, "/admin/events")}
    )
    assert "Everything was in step" in visible_text(admin_client.get("/admin/events"))


def test_reconcile_reports_stripe_being_down(app, admin_client: FlaskClient):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_gateway", None)
    admin_client.post(
        "/admin/events/reconcile", data={"csrf_token": csrf_token(admin_client, "/admin/events")}
    )
    (run,) = _entries("reconcile.run")
    assert run.details["ok"] is False
    assert "Stripe could not be reached" in visible_text(admin_client.get("/admin/events"))


def test_a_request_still_waiting_is_not_queued_twice(app, admin_client: FlaskClient):
    with app.test_request_context():
        waiting = record_admin_action(
            "reconcile.request", "Asked for a reconcile", actor="other@musclebox.test"
        )
    db.session.commit()
    page = visible_text(admin_client.get("/admin/events"))
    assert "Asked for by other@musclebox.test" in page and "waiting for the job worker" in page
    admin_client.post(
        "/admin/events/reconcile", data={"csrf_token": csrf_token(admin_client, "/admin/events")}
    )
    assert [entry.id for entry in _entries("reconcile.request")] == [waiting.id]
    assert _entries("reconcile.run") == []
    assert "still waiting for the job worker" in visible_text(admin_client.get("/admin/events"))
    # A request lost long ago (no worker took it) does not block a new one.
    waiting.created_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    admin_client.post(
        "/admin/events/reconcile", data={"csrf_token": csrf_token(admin_client, "/admin/events")}
    )
    assert len(_entries("reconcile.request")) == 2 and len(_entries("reconcile.run")) == 1


def test_the_report_keeps_its_counts_whole_but_not_every_row():
    differences = [Difference(f"sub_{n}", "status", "active", "past_due") for n in range(400)]
    differences.append(Difference("sub_x", "error", None, "boom"))
    report = build_report(7, differences)
    assert (report["repaired"], report["failed"], report["more"]) == (400, 1, 401 - MAX_DIFFERENCES)
    assert len(report["differences"]) == MAX_DIFFERENCES


def test_the_reconcile_button_needs_its_token(admin_client: FlaskClient):
    assert admin_client.post("/admin/events/reconcile").status_code == 400
    assert _entries("reconcile.request") == [] and _entries("reconcile.run") == []


def _current_tab(page: str) -> str:
    """The status of the tab marked as the current page."""
    nav = re.search(r'<nav class="admin-tabs".*?</nav>', page, flags=re.S)[0]
    (href,) = re.findall(r'<a href="([^"]+)" aria-current="page">', nav)
    return re.search(r"status=(\w+)", html.unescape(href))[1]


def _newest(limit: int, event_type: str | None = None) -> list[str]:
    query = select(WebhookEvent.stripe_event_id)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    order = (WebhookEvent.received_at.desc(), WebhookEvent.id.desc())
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def test_the_all_tab_shows_every_outcome_newest_first_with_its_count(admin_client: FlaskClient):
    a_year_of_events(300)
    response = admin_client.get("/admin/events?status=all")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _current_tab(body) == "all"
    shown = _event_ids(body)
    assert shown == _newest(50)
    outcomes = set(
        db.session.scalars(
            select(WebhookEvent.outcome).where(WebhookEvent.stripe_event_id.in_(shown))
        )
    )
    assert outcomes == set(EventOutcome)  # every outcome, each row saying which
    text = visible_text(response).replace("( ", "(")
    assert "All (300)" in text and f"Failed ({_count(EventOutcome.FAILED)})" in text
    outcome_of = dict(
        db.session.execute(
            select(WebhookEvent.stripe_event_id, WebhookEvent.outcome).where(
                WebhookEvent.stripe_event_id.in_(shown)
            )
        ).all()
    )
    assert re.findall(r'<td data-label="Outcome">(\w+)</td>', body) == [
        outcome_of[event_id].value.capitalize() for event_id in shown
    ]
    # Page 2 goes on where page 1 stopped; the Failed tab is still there, and first.
    links = _links(body)
    assert "/admin/events?status=all&page=2" in links
    assert links.index("/admin/events?status=failed") < links.index("/admin/events?status=all")
    second = _event_ids(admin_client.get("/admin/events?status=all&page=2").get_data(as_text=True))
    assert second == _newest(100)[50:]


def test_the_page_opens_on_failed_when_some_failed_else_on_all(admin_client: FlaskClient):
    for n in range(30):
        make_event(("invoice.paid", "customer.updated")[n % 2], days_ago=n, commit=False)
    db.session.commit()
    page = admin_client.get("/admin/events")
    body = page.get_data(as_text=True)
    # Nothing failed: every event, not an empty "No failed events".
    assert _current_tab(body) == "all"
    assert _event_ids(body) == _newest(30)
    assert "No failed events" not in visible_text(page)
    assert "Failed (0)" in visible_text(page).replace("( ", "(")

    broken = make_event("customer.updated", EventOutcome.FAILED, error="no such customer")
    body = admin_client.get("/admin/events").get_data(as_text=True)
    assert _current_tab(body) == "failed"
    assert _event_ids(body) == [broken.stripe_event_id]
    # The admin bar's badge still counts the failed ones.
    assert 'data-failed-count="1"' in body


def test_choosing_a_type_from_the_default_page_finds_its_events_in_any_outcome(
    admin_client: FlaskClient,
):
    a_year_of_events(400)
    # invoice.paid: none failed (the builder's failed ones are made processed here).
    for record in db.session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.type == "invoice.paid", WebhookEvent.outcome == EventOutcome.FAILED
        )
    ):
        record.outcome, record.error = EventOutcome.PROCESSED, None
    db.session.commit()
    default = admin_client.get("/admin/events").get_data(as_text=True)
    assert _current_tab(default) == "failed"
    # The type form from the default page does not pin the Failed tab.
    form = re.search(r'<form method="get".*?</form>', default, flags=re.S)[0]
    assert 'name="status"' not in form

    response = admin_client.get("/admin/events?type=invoice.paid")
    body = response.get_data(as_text=True)
    assert _current_tab(body) == "all"
    assert _event_ids(body) == _newest(50, "invoice.paid")
    assert "No failed events" not in visible_text(response)
    text = visible_text(response).replace("( ", "(")
    total = db.session.scalar(select(func.count()).where(WebhookEvent.type == "invoice.paid"))
    assert f"All ({total})" in text and "Failed (0)" in text
    assert "/admin/events?status=all&page=2&type=invoice.paid" in _links(body)
    # A tab chosen in the URL is kept by the form, and its empty list points to the others.
    chosen = admin_client.get("/admin/events?status=failed&type=invoice.paid")
    chosen_body = chosen.get_data(as_text=True)
    form = re.search(r'<form method="get".*?</form>', chosen_body, flags=re.S)[0]
    assert '<input type="hidden" name="status" value="failed">' in form
    assert _event_ids(chosen_body) == []
    assert f"No failed events of type invoice.paid. Show all {total} of this type." in (
        visible_text(chosen).replace(" .", ".")
    )
    assert "/admin/events?status=all&type=invoice.paid" in _links(chosen_body)
    # ...and a type with failed events opens on them.
    failed = admin_client.get("/admin/events?type=customer.updated").get_data(as_text=True)
    assert _current_tab(failed) == "failed"
    assert len(_event_ids(failed)) == _count(EventOutcome.FAILED, "customer.updated") > 0


def test_process_again_from_the_all_tab_comes_back_to_it(admin_client: FlaskClient):
    make_event("invoice.paid", EventOutcome.PROCESSED)
    record = make_event("customer.updated", EventOutcome.FAILED)
    listing = "/admin/events?status=all&type=customer.updated"
    page = admin_client.get(listing).get_data(as_text=True)
    action = f"/admin/events/{record.id}/process?status=all&type=customer.updated"
    assert f'action="{html.escape(action)}"' in page
    response = admin_client.post(action, data={"csrf_token": csrf_token(admin_client, listing)})
    assert response.status_code == 303 and response.headers["Location"] == listing
    assert db.session.get(WebhookEvent, record.id).outcome is EventOutcome.IGNORED
