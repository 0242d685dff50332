"""Changing the shipping address from the account: validation, CSRF, PRG, Stripe failing."""

from __future__ import annotations

import re

import pytest

from shop.accounts.addresses import PostalAddress, address_of
from shop.accounts.models import Customer
from shop.billing.gateway import PaymentProviderError
from shop.extensions import db
from tests.accounts.conftest import sign_in
from tests.builders.billing import make_customer
from tests.helpers import csrf_token, text_of, visible_text

NEW_HOME = {
    "name": "Jo Lifter",
    "line1": "5 King St",
    "line2": "Unit 2",
    "city": "Newtown",
    "state": "NSW",
    "postal_code": "2042",
}
OLD_HOME = PostalAddress(
    name="Jo Lifter",
    line1="12 Bondi Rd",
    city="Bondi",
    state="NSW",
    postal_code="2026",
    country="AU",
)


class AddressRecorder:
    """Stands in for billing's change_shipping_address (Stripe is tested end to end elsewhere)."""

    def __init__(self, result: int | Exception = 0):
        self.result = result
        self.calls: list[tuple[int, PostalAddress]] = []

    def __call__(self, customer, address):  # type: ignore[no-untyped-def]
        self.calls.append((customer.id, address))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def recorder(monkeypatch) -> AddressRecorder:
    recorder = AddressRecorder()
    monkeypatch.setattr("shop.accounts.views.change_shipping_address", recorder)
    return recorder


def post_address(client, **changes: str):  # type: ignore[no-untyped-def]
    data = {**NEW_HOME, "csrf_token": csrf_token(client, "/account/address"), **changes}
    return client.post("/account/address", data=data)


def stored_address(customer: Customer) -> PostalAddress:
    return address_of(db.session.get(Customer, customer.id), "shipping_")


def test_the_account_links_to_the_address_form(customer_client):
    response = customer_client.get("/account/")
    assert 'href="/account/address"' in text_of(response)
    assert "Change address" in visible_text(response)


def test_the_form_is_filled_in_with_the_current_address(customer_client):
    page = text_of(customer_client.get("/account/address"))
    assert 'value="Jo Lifter"' in page and 'value="12 Bondi Rd"' in page
    assert 'value="Bondi"' in page and 'value="2026"' in page
    assert '<option selected value="NSW">New South Wales</option>' in page
    for field in ("name", "line1", "line2", "city", "state", "postal_code"):
        assert f'<label for="{field}">' in page, f"{field} has a label tied to it"
    assert "Australia" in visible_text(customer_client.get("/account/address"))


def test_a_valid_address_is_saved_and_the_browser_redirected(customer_client, customer, recorder):
    response = post_address(customer_client)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/#address-title"
    assert recorder.calls == [
        (
            customer.id,
            PostalAddress(
                name="Jo Lifter",
                line1="5 King St",
                line2="Unit 2",
                city="Newtown",
                state="NSW",
                postal_code="2042",
                country="AU",
            ),
        )
    ]
    page = visible_text(customer_client.get("/account/"))
    assert (
        "Your address is updated. Your next boxes go to 5 King St, Unit 2, Newtown NSW 2042."
    ) in page


def test_the_country_is_always_australia(customer_client, recorder):
    post_address(customer_client, country="NZ", line2="")
    assert recorder.calls[0][1].country == "AU"
    assert recorder.calls[0][1].line2 == ""


@pytest.mark.parametrize(
    ("readdressed", "words"),
    [
        (1, "The box already being packed goes there too: we'll relabel it."),
        (3, "The 3 boxes already being packed go there too: we'll relabel them."),
    ],
)
def test_boxes_already_in_packing_are_mentioned(customer_client, monkeypatch, readdressed, words):
    monkeypatch.setattr("shop.accounts.views.change_shipping_address", AddressRecorder(readdressed))
    post_address(customer_client)
    assert words in visible_text(customer_client.get("/account/"))


def test_a_missing_postcode_is_reported_next_to_the_field(customer_client, customer, recorder):
    response = post_address(customer_client, postal_code="", line1="5 King St <b>rear</b>")

    assert response.status_code == 400
    page = text_of(response)
    assert '<p class="field-error" id="postal_code-error">Please enter the postcode.</p>' in page
    assert 'aria-describedby="postal_code-error postal_code-hint"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="5 King St &lt;b&gt;rear&lt;/b&gt;"' in response.get_data(as_text=True)
    assert 'value="Newtown"' in page, "what was typed is kept"
    assert '<option selected value="NSW">' in page
    assert recorder.calls == []
    assert stored_address(customer) == OLD_HOME


def test_after_a_failed_post_the_first_field_to_fix_has_the_focus(customer_client, recorder):
    response = post_address(customer_client, line1="", postal_code="")
    assert response.status_code == 400
    focused = re.findall(r"<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*>", text_of(response))
    assert len(focused) == 1, focused
    assert 'id="line1"' in focused[0]
    assert "autofocus" not in text_of(customer_client.get("/account/address")), "not before a post"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"state": "VIC", "postal_code": "2000"},
            "postal_code",
            "2000 is in New South Wales, not Victoria. Please check the postcode and the state.",
        ),
        (
            {"state": "NSW", "postal_code": "2600"},
            "postal_code",
            "2600 is in the Australian Capital Territory, not New South Wales.",
        ),
        (
            {"state": "QLD", "postal_code": "0800"},
            "postal_code",
            "0800 is in the Northern Territory, not Queensland.",
        ),
        ({"postal_code": "0100"}, "postal_code", "0100 isn't an Australian postcode."),
        ({"postal_code": "204"}, "postal_code", "A postcode has four digits, like 2000."),
        ({"postal_code": "２０４２"}, "postal_code", "A postcode has four digits, like 2000."),
        ({"state": ""}, "state", "Please choose the state or territory."),
        ({"state": "Sydney"}, "state", "Please choose the state or territory from the list."),
        ({"line1": "   "}, "line1", "Please enter the street address"),
        ({"city": ""}, "city", "Please enter the suburb or town."),
        ({"name": ""}, "name", "Please enter who the box is for."),
        ({"line2": "x" * 256}, "line2", "Please keep it under 255 characters."),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(
    customer_client, customer, recorder, changes, field, message
):
    response = post_address(customer_client, **changes)
    assert response.status_code == 400
    page = text_of(response)
    assert f'id="{field}-error">' in page
    error = page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "Please check the highlighted fields below." in visible_text(response)
    assert recorder.calls == []
    assert stored_address(customer) == OLD_HOME


def test_an_act_address_in_canberra_is_fine(customer_client, recorder):
    response = post_address(customer_client, city="Canberra", state="ACT", postal_code="2600")
    assert response.status_code == 303
    assert recorder.calls[0][1].state == "ACT"


def test_without_a_csrf_token_nothing_changes_and_the_text_is_kept(
    customer_client, customer, recorder
):
    response = customer_client.post("/account/address", data=NEW_HOME)
    assert response.status_code == 400
    assert "This page was open for a while" in visible_text(response)
    assert 'value="5 King St"' in text_of(response)
    assert recorder.calls == []
    assert stored_address(customer) == OLD_HOME


def test_signed_out_visitors_are_sent_to_sign_in(client, recorder):
    response = client.get("/account/address")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    response = client.post(
        "/account/address",
        data={**NEW_HOME, "csrf_token": csrf_token(client, "/account/login")},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/login"
    assert recorder.calls == []


def test_when_stripe_fails_nothing_changes_and_the_form_says_so(
    customer_client, customer, monkeypatch
):
    failing = AddressRecorder(PaymentProviderError("Stripe is down"))
    monkeypatch.setattr("shop.accounts.views.change_shipping_address", failing)

    response = post_address(customer_client)

    assert response.status_code == 503 and "Retry-After" in response.headers
    page = visible_text(response)
    assert "We couldn't reach our payment provider, so nothing was changed." in page
    assert "Stripe is down" not in page
    assert 'value="5 King St"' in text_of(response), "the new address is kept to try again"
    assert stored_address(customer) == OLD_HOME


def test_the_address_page_is_private(customer_client):
    response = customer_client.get("/account/address")
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


@pytest.mark.parametrize(
    "app_settings",
    [{"CUSTOMER_LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_CHANGE_RATE_LIMIT": "2 per minute"}],
)
def test_changes_are_rate_limited(customer_client, recorder):
    assert post_address(customer_client).status_code == 303
    assert post_address(customer_client).status_code == 303
    assert post_address(customer_client).status_code == 429
    assert len(recorder.calls) == 2
    assert customer_client.get("/account/address").status_code == 200, "reading is not limited"


def test_an_account_without_stripe_changes_its_address_with_the_real_service(app):
    customer = make_customer("new@example.com", stripe_customer_id=None)
    client = app.test_client()
    sign_in(client, customer)

    response = post_address(client)

    assert response.status_code == 303
    assert stored_address(customer) == PostalAddress(**NEW_HOME, country="AU")


def test_line_breaks_and_tabs_typed_into_a_line_never_reach_a_label(customer_client, recorder):
    response = post_address(customer_client, line1="5 King St\r\nInjected: x", city="New\ttown")
    assert response.status_code == 303
    saved = recorder.calls[0][1]
    assert (saved.line1, saved.city) == ("5 King St Injected: x", "New town")
