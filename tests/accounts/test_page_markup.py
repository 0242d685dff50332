"""The account pages' markup: unique ids and labels that find their fields, in every state shown."""

from __future__ import annotations

from datetime import UTC, datetime

from shop.billing.models import SubscriptionStatus
from tests.blog.test_unique_ids import duplicate_ids, parsed, ticks_without_a_shown_label
from tests.builders.billing import make_plan, make_subscription
from tests.builders.content import make_box

RENEWS = datetime(2027, 1, 2, 14, 0, tzinfo=UTC)


def check(html: str, path: str) -> None:
    assert duplicate_ids(html) == [], path
    assert ticks_without_a_shown_label(html) == [], path
    found = parsed(html)
    assert all(found.ids[target] == 1 for target in found.label_targets), path


def test_account_pages_have_unique_ids(client, customer_client, customer):
    plan = make_plan(make_box("Protein MuscleBox"), term_months=3)
    make_subscription(customer, plan, current_period_end=RENEWS)
    make_subscription(customer, plan, current_period_end=RENEWS, skipping=True)
    make_subscription(customer, plan, status=SubscriptionStatus.PAST_DUE)
    for path in ("/account/", "/account/address"):
        response = customer_client.get(path)
        assert response.status_code == 200, path
        check(response.get_data(as_text=True), path)
    failed = customer_client.post("/account/address", data={"line1": ""})
    assert failed.status_code == 400
    check(failed.get_data(as_text=True), "/account/address (failed)")
    for path in ("/account/login", "/account/login/not-a-real-token"):
        check(client.get(path).get_data(as_text=True), path)
