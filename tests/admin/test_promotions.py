"""The admin's promotion codes: made in Stripe through the gateway, used at the emulator's
Checkout exactly as on Stripe, listed with their redemptions, deactivated; bad input at the
field; Stripe down is a 503 with nothing half-done."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from shop.audit.models import AuditEntry
from shop.billing.models import Invoice
from shop.catalog.models import Plan
from shop.extensions import db
from shop.stripe_emulator.testing import RunningEmulator
from tests.billing.conftest import (
    buy,
    card_form,
    deliver,
    hosted_path,
    subscribe_button,
)
from tests.builders.promotions import make_promotion_codes, new_code_form
from tests.conftest import ADMIN_EMAIL
from tests.emulator_fixtures import app_settings, catalogue, pages  # noqa: F401 (fixtures)
from tests.helpers import csrf_token, visible_text

SYDNEY = ZoneInfo("Australia/Sydney")


def _stripe_codes(stripe_emulator: RunningEmulator) -> list[dict]:
    return list(stripe_emulator.emulator.data["promotion_codes"].values())


def _coupons(stripe_emulator: RunningEmulator) -> list[dict]:
    return [c for c in stripe_emulator.emulator.data["coupons"].values() if not c.get("deleted")]


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _row_of(page: str, code: str) -> str:
    """The visible text of the list's row for one code."""
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S):
        if f'<code class="promo-code">{code}</code>' in row:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    raise AssertionError(f"no row for {code}")


def _listing(admin_client: FlaskClient) -> str:
    response = admin_client.get("/admin/promotions")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_code_made_in_the_admin_discounts_a_real_checkout_and_counts_its_redemption(
    app, admin_client: FlaskClient, client, pages, stripe_emulator, catalogue
):
    make_promotion_codes(stripe_emulator, 12)
    response = admin_client.post(
        "/admin/promotions/new",
        data=new_code_form(
            admin_client,
            code=" winter20 ",
            percent_off="20",
            duration="repeating",
            duration_in_months="3",
            max_redemptions="2",
        ),
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/promotions"
    listing = _listing(admin_client)
    assert "Promotion code WINTER20 is ready" in listing
    row = _row_of(listing, "WINTER20")
    assert "20% off" in row and "3 months" in row and "Active" in row

    # Bea types it in lower case at Stripe's checkout and pays the discounted price.
    buy(client, pages, stripe_emulator, "protein-musclebox", 3, promotion_code="winter20")
    deliver(stripe_emulator, client)
    plan = db.session.scalar(select(Plan).where(Plan.lookup_key == "protein-musclebox-3m"))
    invoice = db.session.scalar(select(Invoice))
    assert invoice is not None and plan is not None
    assert invoice.amount_paid_cents == round(plan.price_cents * 0.8)

    row = _row_of(_listing(admin_client), "WINTER20")
    assert row.endswith("2 1 Active Deactivate WINTER20"), row  # limit 2, redeemed once
    promo = next(p for p in _stripe_codes(stripe_emulator) if p["code"] == "WINTER20")
    assert promo["times_redeemed"] == 1

    entry = _entries("promotion.create")[0]
    assert entry.actor_email == ADMIN_EMAIL and entry.subject == f"promotion_code:{promo['id']}"
    assert "WINTER20" in entry.summary and "20% off for 3 months" in entry.summary


def test_an_amount_off_with_an_expiry_typed_in_sydney_time(
    admin_client: FlaskClient, stripe_emulator
):
    local = (datetime.now(SYDNEY) + timedelta(days=10)).replace(
        hour=23, minute=30, second=0, microsecond=0
    )
    response = admin_client.post(
        "/admin/promotions/new",
        data=new_code_form(
            admin_client,
            code="TENOFF",
            kind="amount",
            percent_off="",
            amount_off="12.50",
            duration="forever",
            expires_at=local.strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert response.status_code == 303, visible_text(response)
    (promo,) = _stripe_codes(stripe_emulator)
    (coupon,) = _coupons(stripe_emulator)
    assert (coupon["amount_off"], coupon["currency"], coupon["duration"]) == (
        1250,
        "aud",
        "forever",
    )
    assert promo["expires_at"] == int(local.astimezone(UTC).timestamp())
    row = _row_of(_listing(admin_client), "TENOFF")
    assert "$12.50 AUD off" in row and "Every payment" in row
    # No redemption limit reads so, not as a Python None.
    assert row.endswith("No limit 0 Active Deactivate TENOFF"), row
    assert f"{local.day} {local:%b %Y}, 11:30 pm" in row  # shown in Sydney time again


def test_a_double_click_creates_one_coupon_and_one_code(admin_client: FlaskClient, stripe_emulator):
    form = new_code_form(admin_client, code="ONCE")
    first = admin_client.post("/admin/promotions/new", data=form)
    second = admin_client.post("/admin/promotions/new", data=form)
    assert first.status_code == second.status_code == 303
    assert [p["code"] for p in _stripe_codes(stripe_emulator)] == ["ONCE"]
    assert len(_coupons(stripe_emulator)) == 1
    assert len(_entries("promotion.create")) == 1


def test_a_code_an_active_code_has_is_refused_at_the_field_and_nothing_is_created(
    admin_client: FlaskClient, stripe_emulator
):
    make_promotion_codes(stripe_emulator, 6, prefix="SPRING")  # SPRING004 is deactivated
    coupons = len(_coupons(stripe_emulator))
    refused = admin_client.post(
        "/admin/promotions/new", data=new_code_form(admin_client, code="spring001")
    )
    assert refused.status_code == 400
    text = visible_text(refused)
    assert "An active promotion code SPRING001 already exists" in text
    assert 'value="SPRING001"' in refused.get_data(as_text=True)  # what was typed is kept
    assert len(_coupons(stripe_emulator)) == coupons
    assert _entries("promotion.create") == []
    # A deactivated code's text is free again.
    reused = admin_client.post(
        "/admin/promotions/new", data=new_code_form(admin_client, code="SPRING004")
    )
    assert reused.status_code == 303


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "WIN TER"}, "Use only the letters A to Z and digits"),
        ({"code": "ÉTÉ20"}, "Use only the letters A to Z and digits"),
        ({"code": "AB"}, "A code is 3 to 30 letters and digits."),
        ({"code": "X" * 31}, "A code is 3 to 30 letters and digits."),
        ({"code": ""}, "Type the code customers will enter."),
        ({"percent_off": "0"}, "A percentage is a whole number from 1 to 100."),
        ({"percent_off": "101"}, "A percentage is a whole number from 1 to 100."),
        ({"percent_off": "12.5"}, "Not a valid integer value."),
        ({"percent_off": ""}, "Type the percentage, from 1 to 100."),
        ({"kind": "amount", "amount_off": "abc"}, "Type an amount in dollars"),
        ({"kind": "amount", "amount_off": "0"}, "An amount is from $0.01 AUD to $1,000.00 AUD."),
        (
            {"kind": "amount", "amount_off": "1000.01"},
            "An amount is from $0.01 AUD to $1,000.00 AUD.",
        ),
        ({"duration": "repeating"}, "Type for how many months the discount lasts."),
        ({"duration": "repeating", "duration_in_months": "37"}, "from 1 to 36"),
        ({"expires_at": "2020-01-01T10:00"}, "That moment has passed."),
        ({"expires_at": "2026-02-30T10:00"}, "Not a valid datetime value."),
        ({"expires_at": "3026-01-01T10:00"}, "Choose an expiry within five years."),
        ({"max_redemptions": "0"}, "A limit is a whole number from 1 to 1,000,000."),
        ({"max_redemptions": str(2**63)}, "A limit is a whole number from 1 to 1,000,000."),
    ],
)
def test_bad_input_is_explained_at_the_field_and_nothing_reaches_stripe(
    admin_client: FlaskClient, stripe_emulator, fields, message
):
    response = admin_client.post(
        "/admin/promotions/new", data=new_code_form(admin_client, **fields)
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page and message in visible_text(response)
    assert _stripe_codes(stripe_emulator) == [] and _coupons(stripe_emulator) == []
    assert _entries("promotion.create") == []


def test_a_forged_form_is_refused_whole(admin_client: FlaskClient, stripe_emulator):
    for forged in ({"submission": "short"}, {"kind": "free"}, {"duration": "always"}):
        response = admin_client.post(
            "/admin/promotions/new", data=new_code_form(admin_client, **forged)
        )
        assert response.status_code == 400
    token = csrf_token(admin_client, "/admin/promotions/new")
    assert admin_client.post("/admin/promotions/new", data={"csrf_token": token}).status_code == 400
    assert _stripe_codes(stripe_emulator) == []


def test_deactivating_asks_first_then_stops_the_code_at_checkout(
    admin_client: FlaskClient, client, pages, stripe_emulator, catalogue
):
    texts = make_promotion_codes(stripe_emulator, 8)
    target = next(p for p in _stripe_codes(stripe_emulator) if p["code"] == texts[2])
    listing = admin_client.get("/admin/promotions").get_data(as_text=True)
    path = f"/admin/promotions/{target['id']}/deactivate"
    assert f'href="{path}"' in listing
    confirm = admin_client.get(path)
    assert confirm.status_code == 200
    assert re.search(rf"Deactivate {texts[2]} ?\?", visible_text(confirm))
    assert _entries("promotion.deactivate") == []  # asking changed nothing

    done = admin_client.post(path, data={"csrf_token": csrf_token(admin_client, path)})
    assert done.status_code == 303
    assert stripe_emulator.emulator.data["promotion_codes"][target["id"]]["active"] is False
    (entry,) = _entries("promotion.deactivate")
    assert entry.subject == f"promotion_code:{target['id']}" and entry.actor_email == ADMIN_EMAIL
    row = _row_of(_listing(admin_client), texts[2])
    assert "Deactivated" in row

    # Again: nothing to do, nothing recorded twice.
    again = admin_client.post(
        path, data={"csrf_token": csrf_token(admin_client, "/admin/promotions")}
    )
    assert again.status_code == 303
    assert "already deactivated" in visible_text(admin_client.get("/admin/promotions"))
    assert len(_entries("promotion.deactivate")) == 1

    # Stripe's checkout refuses it now.
    started = client.post("/checkout", data=subscribe_button(client, "musclebox", 1))
    refused = pages.post(
        hosted_path(started.headers["Location"], stripe_emulator),
        data=card_form(promotion_code=texts[2].lower()),
    )
    assert refused.status_code == 400 and "This code is invalid." in refused.get_data(True)


def test_a_used_up_code_shows_so_and_is_refused_at_checkout(
    app, admin_client: FlaskClient, client, pages, stripe_emulator, catalogue
):
    admin_client.post(
        "/admin/promotions/new",
        data=new_code_form(admin_client, code="FIRSTONLY", max_redemptions="1"),
    )
    buy(client, pages, stripe_emulator, "musclebox", 1, promotion_code="FIRSTONLY")
    row = _row_of(_listing(admin_client), "FIRSTONLY")
    assert "Used up" in row
    other = app.test_client()
    started = other.post("/checkout", data=subscribe_button(other, "musclebox", 1))
    refused = pages.post(
        hosted_path(started.headers["Location"], stripe_emulator),
        data=card_form(promotion_code="FIRSTONLY", email="zed@example.com"),
    )
    assert refused.status_code == 400 and "This code is invalid." in refused.get_data(True)


def test_the_list_pages_through_stripe(admin_client: FlaskClient, stripe_emulator):
    texts = make_promotion_codes(stripe_emulator, 57)
    first = admin_client.get("/admin/promotions")
    first_text = visible_text(first)
    assert texts[-1] in first_text and texts[6] not in first_text  # newest 50 first
    older = first.get_data(as_text=True).split('rel="next" href="')[1].split('"')[0]
    second = visible_text(admin_client.get(older.replace("&amp;", "&")))
    assert texts[6] in second and texts[0] in second and texts[-1] not in second
    assert "Older" not in second


def test_unknown_and_malformed_ids_and_cursors(admin_client: FlaskClient, stripe_emulator):
    token = csrf_token(admin_client, "/admin/promotions")
    for raw in ("promo_doesnotexist", "123", "promo_%27OR1", "x" * 200):
        assert admin_client.get(f"/admin/promotions/{raw}/deactivate").status_code == 404
        posted = admin_client.post(
            f"/admin/promotions/{raw}/deactivate", data={"csrf_token": token}
        )
        assert posted.status_code == 404
    assert admin_client.get("/admin/promotions?after=promo_unknown").status_code == 400
    assert admin_client.get("/admin/promotions?after=%27%20OR%201").status_code == 400
    assert _entries("promotion.deactivate") == []


def test_stripe_down_is_a_503_and_nothing_is_half_done(
    app, admin_client: FlaskClient, stripe_emulator
):
    form = new_code_form(admin_client, code="OUTAGE")
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_gateway_page", None)
    listing = admin_client.get("/admin/promotions")
    assert listing.status_code == 503 and listing.headers["Retry-After"]
    assert "Stripe isn't answering" in visible_text(listing)
    created = admin_client.post("/admin/promotions/new", data=form)
    assert created.status_code == 503
    assert "no code was created" in visible_text(created)
    assert 'value="OUTAGE"' in created.get_data(as_text=True)
    assert _entries("promotion.create") == [] and _stripe_codes(stripe_emulator) == []


def test_an_expired_code_is_refused_at_checkout(
    admin_client: FlaskClient, client, pages, stripe_emulator, catalogue
):
    soon = datetime.now(SYDNEY) + timedelta(hours=2)
    created = admin_client.post(
        "/admin/promotions/new",
        data=new_code_form(
            admin_client, code="FLASHSALE", expires_at=soon.strftime("%Y-%m-%dT%H:%M")
        ),
    )
    assert created.status_code == 303
    started = client.post("/checkout", data=subscribe_button(client, "musclebox", 1))
    checkout = hosted_path(started.headers["Location"], stripe_emulator)
    form = card_form(promotion_code="FLASHSALE", action="apply_code")
    assert pages.post(checkout, data=form).status_code == 200  # good until it expires
    stripe_emulator.advance(seconds=3 * 3600)
    refused = pages.post(checkout, data=form)
    assert refused.status_code == 400 and "This code is invalid." in refused.get_data(True)
