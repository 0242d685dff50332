"""Webhook endpoints, event shapes and signed delivery with retries."""

import json
import time
from typing import Any

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator
from shop.stripe_emulator.webhooks import sign

from .conftest import Receiver, make_plan, subscribe


def register(
    stripe_client: stripe.StripeClient, url: str, events: list[str] | None = None
) -> stripe.WebhookEndpoint:
    return stripe_client.v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": events or ["*"], "api_version": stripe.api_version}
    )


def test_endpoint_crud_and_secret_only_on_create(stripe_client: stripe.StripeClient) -> None:
    endpoint = register(stripe_client, "http://127.0.0.1:9/hook", ["invoice.paid"])
    assert isinstance(endpoint, stripe.WebhookEndpoint)
    assert endpoint.id.startswith("we_") and endpoint.secret.startswith("whsec_")
    assert endpoint.api_version == "2026-10-28.endive"
    fetched = stripe_client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in fetched
    updated = stripe_client.v1.webhook_endpoints.update(
        endpoint.id, params={"enabled_events": ["*"], "disabled": True}
    )
    assert updated.enabled_events == ["*"] and updated.status == "disabled"
    assert [e.id for e in stripe_client.v1.webhook_endpoints.list().data] == [endpoint.id]
    deleted = stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True
    assert stripe_client.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.webhook_endpoints.create(
            params={"url": "http://x/y", "enabled_events": []}
        )


def test_event_shape(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(
        params={"email": "a@example.com"}, options={"idempotency_key": "idem-1"}
    )
    event = stripe_client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert isinstance(event, stripe.Event)
    assert event.id.startswith("evt_") and event.object == "event"
    assert event.api_version == "2026-10-28.endive"
    assert event.livemode is False and event.pending_webhooks == 0
    assert event.request.id.startswith("req_") and event.request.idempotency_key == "idem-1"
    assert isinstance(event.data.object, stripe.Customer)
    assert event.data.object.id == customer.id
    assert stripe_client.v1.events.retrieve(event.id).type == "customer.created"
    wildcard = stripe_client.v1.events.list(params={"type": "customer.*"}).data
    assert [e.type for e in wildcard] == ["customer.created"]


def test_signed_delivery_verifies(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator, receiver: Receiver
) -> None:
    endpoint = register(stripe_client, receiver.url, ["checkout.session.completed", "invoice.paid"])
    subscribe(stripe_client, pages, running)
    running.emulator.deliver_pending()
    assert [e["type"] for e in receiver.events()] == ["invoice.paid", "checkout.session.completed"]
    for request in receiver.requests:
        event = stripe.Webhook.construct_event(
            request["body"], request["signature"], endpoint.secret
        )
        assert event.api_version == "2026-10-28.endive"
    completed = stripe.Webhook.construct_event(
        receiver.requests[1]["body"], receiver.requests[1]["signature"], endpoint.secret
    )
    assert completed.data.object.collected_information.shipping_details.address.city == "Sydney"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.requests[0]["body"], receiver.requests[0]["signature"], "whsec_wrong"
        )
    latest = stripe_client.v1.events.retrieve(completed.id)
    assert latest.pending_webhooks == 0


def test_signature_still_fresh_after_clock_advance(
    stripe_client: stripe.StripeClient, pages: Any, running: RunningEmulator, receiver: Receiver
) -> None:
    endpoint = register(stripe_client, receiver.url, ["invoice.paid"])
    subscribe(stripe_client, pages, running)
    running.advance(days=40)
    running.emulator.deliver_pending()
    assert len(receiver.requests) == 2
    last = receiver.requests[-1]
    assert (
        stripe.Webhook.construct_event(last["body"], last["signature"], endpoint.secret).type
        == "invoice.paid"
    )


def test_retries_with_backoff_in_background(stripe_client: stripe.StripeClient) -> None:
    rec = Receiver([500, 500])
    em_runner = RunningEmulator(deliver_async=True, retry_delays=(0.05, 0.1, 0.2, 0.4))
    try:
        c = em_runner.client()
        endpoint = register(c, rec.url, ["customer.created"])
        c.v1.customers.create(params={"email": "retry@example.com"})
        assert em_runner.emulator.wait_for_deliveries(timeout=5)
        delivery = next(iter(em_runner.emulator.data["deliveries"].values()))
        assert delivery["status"] == "succeeded"
        attempts = delivery["attempts"]
        assert [a["status"] for a in attempts] == [500, 500, 200]
        gaps = [attempts[i + 1]["at"] - attempts[i]["at"] for i in range(2)]
        assert gaps[0] >= 0.05 and gaps[1] >= 0.1
        for request in rec.requests:
            stripe.Webhook.construct_event(request["body"], request["signature"], endpoint.secret)
        assert len({json.loads(r["body"])["id"] for r in rec.requests}) == 1
    finally:
        em_runner.stop()
        rec.stop()


def test_gives_up_after_bounded_attempts(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    rec = Receiver([500] * 10)
    try:
        register(stripe_client, rec.url)
        stripe_client.v1.customers.create(params={"email": "x@example.com"})
        for _ in range(10):
            running.emulator.deliver_pending(force=True)
        delivery = next(iter(running.emulator.data["deliveries"].values()))
        assert delivery["status"] == "failed"
        assert len(delivery["attempts"]) == len(running.emulator.retry_delays) + 1
    finally:
        rec.stop()


def test_unreachable_endpoint_is_recorded(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    register(stripe_client, "http://127.0.0.1:9/nothing-listens")
    stripe_client.v1.customers.create(params={"email": "x@example.com"})
    running.emulator.deliver_pending()
    delivery = next(iter(running.emulator.data["deliveries"].values()))
    assert delivery["status"] == "pending"
    assert delivery["attempts"][0]["status"] is None and delivery["attempts"][0]["error"]


def test_only_matching_events_are_sent(
    stripe_client: stripe.StripeClient, running: RunningEmulator, receiver: Receiver
) -> None:
    register(stripe_client, receiver.url, ["invoice.paid"])
    stripe_client.v1.customers.create(params={"email": "x@example.com"})
    make_plan(stripe_client)
    running.emulator.deliver_pending()
    assert receiver.requests == []


def test_dashboard_lists_and_resends(
    stripe_client: stripe.StripeClient, running: RunningEmulator, receiver: Receiver
) -> None:
    register(stripe_client, receiver.url, ["customer.created"])
    customer = stripe_client.v1.customers.create(params={"email": "x@example.com"})
    running.emulator.deliver_pending()
    pages = running.app.test_client()
    page = pages.get("/_emulator/").get_data(as_text=True)
    assert "customer.created" in page and "succeeded" in page and receiver.url in page
    event = stripe_client.v1.events.list(params={"type": "customer.created"}).data[0]
    response = pages.post(f"/_emulator/events/{event.id}/resend", data={"from": "dashboard"})
    assert response.status_code == 303
    running.emulator.deliver_pending()
    assert [json.loads(r["body"])["data"]["object"]["id"] for r in receiver.requests] == [
        customer.id
    ] * 2
    assert pages.post("/_emulator/events/evt_nope/resend").status_code == 404
    assert pages.post("/_emulator/deliveries/run").get_json() == {"attempts": 0}


def test_sign_matches_stripe_library() -> None:
    payload = '{"id": "evt_1"}'
    now = int(time.time())
    assert sign(payload, "whsec_abc", now) == stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_abc", now
    )


def test_transport_hook_delivers_without_network(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    endpoint = register(stripe_client, "http://shop.test/webhooks/stripe", ["customer.created"])
    stripe_client.v1.customers.create(params={"email": "x@example.com"})
    received: list[tuple[str, str, dict[str, str]]] = []

    def transport(url: str, payload: str, headers: dict[str, str]) -> int:
        received.append((url, payload, headers))
        return 200

    assert running.emulator.deliver_pending(transport=transport) == 1
    url, payload, headers = received[0]
    assert url == "http://shop.test/webhooks/stripe"
    event = stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], endpoint.secret)
    assert event.type == "customer.created"
    assert running.emulator.deliver_pending(transport=transport) == 0


def test_every_response_has_a_request_id(running: RunningEmulator) -> None:
    pages = running.app.test_client()
    for path in ("/_emulator/", "/_emulator/clock", "/c/pay/cs_test_x", "/v1/products"):
        assert pages.get(path).headers["Request-Id"].startswith("req_")


def test_ensure_webhook_endpoint_with_fixed_secret(
    running: RunningEmulator, receiver: Receiver
) -> None:
    endpoint = running.emulator.ensure_webhook_endpoint(receiver.url, "whsec_dev_secret")
    again = running.emulator.ensure_webhook_endpoint(receiver.url, "whsec_dev_secret")
    assert again["id"] == endpoint["id"]
    running.client().v1.customers.create(params={"email": "x@example.com"})
    running.emulator.deliver_pending()
    request = receiver.requests[0]
    event = stripe.Webhook.construct_event(
        request["body"], request["signature"], "whsec_dev_secret"
    )
    assert event.type == "customer.created"
    with pytest.raises(ValueError):
        running.emulator.ensure_webhook_endpoint(receiver.url, "not-a-secret")


def test_a_receiver_answering_garbage_is_a_failed_attempt(
    stripe_client: stripe.StripeClient, running: RunningEmulator
) -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def answer_garbage() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.recv(65536)
            connection.sendall(b"garbage\r\n\r\n")
            connection.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        register(stripe_client, f"http://127.0.0.1:{server.getsockname()[1]}/hook")
        stripe_client.v1.customers.create(params={"email": "g@example.com"})
        assert running.emulator.deliver_pending(force=True) == 1
        delivery = next(iter(running.emulator.data["deliveries"].values()))
        assert len(delivery["attempts"]) == 1
        assert delivery["attempts"][0]["status"] is None and delivery["attempts"][0]["error"]
        assert delivery["status"] == "pending", "it will be retried later, with backoff"
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


@pytest.mark.parametrize("days", ["inf", "1e400", "-inf", "nan"])
def test_clock_refuses_impossible_amounts(running: RunningEmulator, days: str) -> None:
    pages = running.app.test_client()
    response = pages.post("/_emulator/clock/advance", data={"days": days})
    assert response.status_code == 400


def test_an_owned_endpoint_moves_to_the_owner_s_new_address(
    running: RunningEmulator, receiver: Receiver
) -> None:
    earlier = Receiver()  # where the shop listened on its last run
    try:
        client = running.client()
        someone_else = register(client, "http://127.0.0.1:9/their-hook")
        first = running.emulator.ensure_webhook_endpoint(
            earlier.url, "whsec_dev_secret", owner="shop.devserver"
        )
        client.v1.customers.create(params={"email": "queued@example.com"})  # pending, not sent
        moved = running.emulator.ensure_webhook_endpoint(
            receiver.url, "whsec_dev_secret", owner="shop.devserver"
        )
        assert moved["id"] == first["id"] and moved["url"] == receiver.url
        assert moved["metadata"] == {"managed_by": "shop.devserver"}
        listed = {e.id: e.url for e in client.v1.webhook_endpoints.list().data}
        assert listed == {first["id"]: receiver.url, someone_else.id: someone_else.url}

        client.v1.customers.create(params={"email": "later@example.com"})
        running.emulator.deliver_pending(force=True)
        assert earlier.requests == []
        assert [e["data"]["object"]["email"] for e in receiver.events()] == [
            "queued@example.com",
            "later@example.com",
        ]
    finally:
        earlier.stop()


def test_an_owner_s_extra_and_unlabelled_endpoints_go_but_not_others(
    running: RunningEmulator, receiver: Receiver
) -> None:
    client = running.client()
    other_owner = running.emulator.ensure_webhook_endpoint(
        "http://127.0.0.1:11/webhooks/stripe", "whsec_another_tool", owner="another-tool"
    )
    other_secret = running.emulator.ensure_webhook_endpoint(
        "http://127.0.0.1:10/webhooks/stripe", "whsec_someone_else"
    )
    # Registered by a dev server from before owners were recorded: no metadata, same secret.
    unlabelled = running.emulator.ensure_webhook_endpoint(
        "http://127.0.0.1:9/webhooks/stripe", "whsec_dev_secret"
    )
    # A second one of the owner's (two runs raced, or someone copied it by hand).
    duplicate = client.v1.webhook_endpoints.create(
        params={
            "url": "http://127.0.0.1:12/webhooks/stripe",
            "enabled_events": ["*"],
            "metadata": {"managed_by": "shop.devserver"},
        }
    )
    kept = running.emulator.ensure_webhook_endpoint(
        receiver.url, "whsec_dev_secret", owner="shop.devserver"
    )
    urls = sorted(e.url for e in client.v1.webhook_endpoints.list().data)
    assert urls == sorted([receiver.url, other_secret["url"], other_owner["url"]])
    assert kept["id"] in (unlabelled["id"], duplicate.id)
    again = running.emulator.ensure_webhook_endpoint(
        receiver.url, "whsec_dev_secret", owner="shop.devserver"
    )
    assert again["id"] == kept["id"]
    assert len(client.v1.webhook_endpoints.list().data) == 3
