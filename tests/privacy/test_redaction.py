"""Erasure's pure parts: what leaves a recorded Stripe payload, and what the admin is told."""

from __future__ import annotations

from shop.privacy.services import ErasureResult, redact_payload

EMAIL = "jo.lifter@example.com"


def test_personal_fields_leave_a_checkout_payload_and_the_rest_stays():
    payload = {
        "id": "evt_1",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "customer": "cus_1",
                "customer_email": EMAIL,
                "customer_details": {
                    "email": EMAIL,
                    "name": "Jo Lifter",
                    "address": {"city": "Bondi"},
                },
                "collected_information": {"shipping_details": {"name": "Jo Lifter"}},
                "amount_total": 13995,
                "metadata": {"note": f"gift from {EMAIL.upper()}"},
                "line_items": [{"description": "MuscleBox", "name": "MuscleBox 3 months"}],
            }
        },
    }
    redacted = redact_payload(payload, EMAIL)
    session = redacted["data"]["object"]
    assert session["customer_email"] is None
    assert session["customer_details"] is None
    assert session["collected_information"] == {"shipping_details": None}
    assert session["metadata"] == {"note": "gift from [erased]"}
    # Not a customer object: a product's name is not a person's.
    assert session["line_items"] == [{"description": "MuscleBox", "name": "MuscleBox 3 months"}]
    assert (session["id"], session["customer"], session["amount_total"]) == (
        "cs_test_1",
        "cus_1",
        13995,
    )
    assert payload["data"]["object"]["customer_email"] == EMAIL  # the original is left alone


def test_a_customer_objects_name_goes_too():
    customer = {"object": "customer", "id": "cus_1", "name": "Jo Lifter", "email": EMAIL}
    assert redact_payload(customer, EMAIL) == {
        "object": "customer",
        "id": "cus_1",
        "name": None,
        "email": None,
    }


def test_the_summary_names_ids_and_counts():
    result = ErasureResult(
        customer_id=12,
        comments=15,
        subscriptions=2,
        shipments=3,
        sign_in_links=2,
        emails_dropped=1,
        outbox_messages=0,
        stripe_events=1,
        stripe_customer_ids=("cus_1",),
    )
    summary = result.summary()
    assert summary.startswith("Erased customer #12's name, email and address")
    assert "2 subscription(s) and 3 shipment(s)" in summary
    assert "15 comment(s)" in summary
    assert "1 unsent email(s) dropped" in summary
    only_comments = ErasureResult(None, 4, 0, 0, 0, 0, 0, 0, ())
    assert only_comments.summary() == (
        "Erased the name, email, website and IP address of 4 comment(s)."
    )


def test_another_persons_payload_loses_only_the_address_as_a_whole():
    from shop.privacy.queries import email_pattern, mentions_email
    from shop.privacy.services import strike_email

    pattern = email_pattern(EMAIL)
    payload = {
        "customer_details": {"email": "bo" + EMAIL, "name": "Bo Lookalike"},
        "metadata": {"gift_for": f"For {EMAIL.upper()}.", "cc": f"{EMAIL}.au"},
        "lines": [f"<{EMAIL}>", 3],
    }
    assert mentions_email(payload, pattern)
    assert strike_email(payload, pattern) == {
        "customer_details": {"email": "bo" + EMAIL, "name": "Bo Lookalike"},
        "metadata": {"gift_for": "For [erased].", "cc": f"{EMAIL}.au"},
        "lines": ["<[erased]>", 3],
    }
    assert not mentions_email({"email": "bo" + EMAIL, "cc": EMAIL + ".au"}, pattern)
