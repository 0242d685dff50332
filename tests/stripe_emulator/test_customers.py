"""Customers through the real library: shipping and address updates, and finding them by email."""

import pytest
import stripe

from shop.stripe_emulator.testing import RunningEmulator

SYDNEY = {
    "line1": "1 George St",
    "line2": "Level 2",
    "city": "Sydney",
    "state": "NSW",
    "postal_code": "2000",
    "country": "AU",
}


def library_client(running: RunningEmulator) -> stripe.StripeClient:
    """A StripeClient built as the shop's gateway builds it, pointed at the emulator."""
    url = running.base_url
    return stripe.StripeClient(
        running.api_key,
        base_addresses={"api": url, "connect": url, "files": url, "meter_events": url},
        max_network_retries=0,
    )


def test_update_shipping_name_email_and_address(running: RunningEmulator) -> None:
    client = library_client(running)
    customer = client.v1.customers.create(params={"email": "jo@example.com"})

    updated = client.v1.customers.update(
        customer.id,
        params={
            "name": "Jo Citizen",
            "email": "jo.citizen@example.com",
            "shipping": {"name": "Jo Citizen", "address": SYDNEY},
            "address": SYDNEY,
        },
    )
    assert isinstance(updated, stripe.Customer)
    assert updated.name == "Jo Citizen" and updated.email == "jo.citizen@example.com"
    assert updated.shipping.name == "Jo Citizen"
    assert updated.shipping.address.to_dict() == SYDNEY
    assert updated.address.line2 == "Level 2"
    assert client.v1.customers.retrieve(customer.id).shipping.address.city == "Sydney"

    event = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.object.shipping.address.postal_code == "2000"
    previous = event.data.previous_attributes
    assert previous["email"] == "jo@example.com"
    assert previous["name"] is None and previous["shipping"] is None
    assert previous["address"] is None

    moved = {**SYDNEY, "line1": "5 Smith St", "line2": "", "city": "Fitzroy", "state": "VIC"}
    client.v1.customers.update(
        customer.id, params={"shipping": {"name": "Jo Citizen", "address": moved}}
    )
    again = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert again.id != event.id
    assert again.data.object.shipping.address.line2 is None
    assert again.data.object.shipping.address.city == "Fitzroy"
    assert set(again.data.previous_attributes.to_dict()) == {"shipping"}
    assert again.data.previous_attributes["shipping"]["address"]["city"] == "Sydney"
    # The billing address was not part of this update.
    assert client.v1.customers.retrieve(customer.id).address.city == "Sydney"


def test_unchanged_details_emit_nothing(running: RunningEmulator) -> None:
    client = library_client(running)
    customer = client.v1.customers.create(params={"email": "jo@example.com", "name": "Jo"})
    client.v1.customers.update(customer.id, params={"name": "Jo"})
    assert client.v1.events.list(params={"type": "customer.updated"}).data == []


def test_bad_shipping_is_refused_and_changes_nothing(running: RunningEmulator) -> None:
    client = library_client(running)
    customer = client.v1.customers.create(params={"email": "jo@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.update(customer.id, params={"shipping": {"address": SYDNEY}})
    assert info.value.param == "shipping[name]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.update(
            customer.id,
            params={"name": "Jo", "shipping": {"name": "Jo", "address": {"suburb": "Sydney"}}},
        )
    assert info.value.param == "shipping[address][suburb]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.update(customer.id, params={"email": "not an email"})
    assert info.value.param == "email"
    unchanged = client.v1.customers.retrieve(customer.id)
    assert unchanged.shipping is None and unchanged.name is None
    assert client.v1.events.list(params={"type": "customer.updated"}).data == []


def test_list_customers_by_email(running: RunningEmulator) -> None:
    client = library_client(running)
    jo = client.v1.customers.create(params={"email": "jo@example.com"})
    client.v1.customers.create(params={"email": "sam@example.com"})
    again = client.v1.customers.create(params={"email": "jo@example.com"})
    found = client.v1.customers.list(params={"email": "jo@example.com"})
    assert [c.id for c in found.data] == [again.id, jo.id]
    assert client.v1.customers.list(params={"email": "nobody@example.com"}).data == []
    first = client.v1.customers.list(params={"email": "jo@example.com", "limit": 1})
    assert first.has_more is True
    assert [c.id for c in first.auto_paging_iter()] == [again.id, jo.id]
