"""Signing out, or an admin's new password, ends every copy of that person's session; admin
sessions end ADMIN_SESSION_HOURS after signing in, however busy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie

import shop.accounts.sessions
from shop.accounts.models import AdminUser, Customer
from shop.accounts.sessions import ADMIN_SESSION_EXPIRED, load_admin_session
from shop.db import utcnow
from shop.extensions import db
from tests.accounts.conftest import sign_in
from tests.builders.billing import make_customer
from tests.conftest import ADMIN_EMAIL
from tests.helpers import csrf_token, visible_text

SESSION_COOKIE = "session"


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(SESSION_COOKIE, cookie.value)
    return other


def sign_out(client: FlaskClient, path: str, page: str) -> None:
    response = client.post(path, data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 303


def the_admin() -> AdminUser:
    admin = db.session.scalar(db.select(AdminUser).where(AdminUser.email == ADMIN_EMAIL))
    assert admin is not None
    return admin


# -- customers --------------------------------------------------------------------------------


@pytest.fixture
def customer(app: Flask) -> Customer:
    return make_customer("jo@example.com", name="Jo Lifter")


@pytest.fixture
def customer_client(app: Flask, customer: Customer) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, customer).status_code == 303
    return client


def test_signing_out_ends_the_customers_session_on_every_device(app, customer_client):
    laptop = copy_of(customer_client, app)
    assert laptop.get("/account/").status_code == 200, "the copy works while signed in"

    sign_out(customer_client, "/account/logout", "/account/")

    assert customer_client.get("/account/").status_code == 302
    assert laptop.get("/account/").status_code == 302, "the other device is signed out too"


def test_a_cookie_saved_before_signing_out_does_not_work_after(app, customer_client):
    saved = copy_of(customer_client, app)  # kept aside, never used until after the sign-out
    sign_out(customer_client, "/account/logout", "/account/")
    response = saved.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"


def test_signing_in_again_after_signing_out_works(app, customer, customer_client):
    sign_out(customer_client, "/account/logout", "/account/")
    assert sign_in(customer_client, customer).status_code == 303
    assert customer_client.get("/account/").status_code == 200


def test_signing_in_on_a_second_device_keeps_the_first(app, customer, customer_client):
    phone = app.test_client()
    assert sign_in(phone, customer).status_code == 303
    assert customer_client.get("/account/").status_code == 200
    assert phone.get("/account/").status_code == 200


# -- admins -----------------------------------------------------------------------------------


def test_admin_sign_out_ends_every_copy_of_the_session(app, admin_client):
    other = copy_of(admin_client, app)
    assert other.get("/admin/").status_code == 200

    sign_out(admin_client, "/admin/logout", "/admin/")

    assert admin_client.get("/admin/").status_code == 303
    assert other.get("/admin/").status_code == 303


def test_a_new_admin_password_ends_every_session(app, admin_client, runner):
    result = runner.invoke(
        args=["create-admin", ADMIN_EMAIL, "--password-stdin"], input="a brand new password\n"
    )
    assert result.exit_code == 0, result.output
    assert "signed out everywhere" in result.output

    response = admin_client.get("/admin/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")
    again = app.test_client()
    signed_in = again.post(
        "/admin/login",
        data={
            "email": ADMIN_EMAIL,
            "password": "a brand new password",
            "csrf_token": csrf_token(again, "/admin/login"),
        },
    )
    assert signed_in.status_code == 303
    assert again.get("/admin/").status_code == 200


def test_an_admin_session_ends_after_admin_session_hours_however_busy(
    app, admin_client, monkeypatch
):
    assert app.config["ADMIN_SESSION_HOURS"] == 8
    signed_in_at = utcnow()

    def hours_later(hours: float) -> None:
        at = signed_in_at + timedelta(hours=hours)
        monkeypatch.setattr(shop.accounts.sessions, "utcnow", lambda: at)

    for hours in (1, 4, 7.9):  # busy all day: each visit is fine, and renews nothing
        hours_later(hours)
        assert admin_client.get("/admin/").status_code == 200, hours
    hours_later(8.01)
    response = admin_client.get("/admin/comments")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login?next=/admin/comments"
    page = admin_client.get(response.headers["Location"])
    assert ADMIN_SESSION_EXPIRED in visible_text(page)
    assert "Please sign in to see that page." not in visible_text(page)


def test_the_expired_message_shows_on_the_sign_in_page_itself(app, admin_client, monkeypatch):
    later = utcnow() + timedelta(hours=9)
    monkeypatch.setattr(shop.accounts.sessions, "utcnow", lambda: later)
    page = admin_client.get("/admin/login")
    assert page.status_code == 200
    assert ADMIN_SESSION_EXPIRED in visible_text(page)
    assert "Sign in to the admin area" in visible_text(page)


@pytest.mark.parametrize("app_settings", [{"ADMIN_SESSION_HOURS": 1}])
def test_admin_session_hours_is_a_setting(app, admin_client, monkeypatch):
    later = utcnow() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(shop.accounts.sessions, "utcnow", lambda: later)
    assert admin_client.get("/admin/").status_code == 303


def test_a_remember_me_cookie_cannot_sign_an_admin_in(app, admin_client):
    """Flask-Login's remember cookie is never issued; a forged or leaked one opens nothing,
    because an admin session needs the sign-in time recorded when this session signed in."""
    with app.test_request_context():
        remember = encode_cookie(the_admin().get_id())
    browser = app.test_client()
    browser.set_cookie("remember_token", remember)
    response = browser.get("/admin/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")


def test_an_admin_id_without_the_current_epoch_loads_nobody(app, admin_client):
    admin = the_admin()
    with app.test_request_context():
        assert load_admin_session(f"admin:{admin.id}") is None, "a session from before epochs"
        assert load_admin_session(f"admin:{admin.id}:{admin.session_epoch + 1}") is None
        assert load_admin_session("admin:x:0") is None


def test_the_customer_and_admin_sign_ins_share_one_session_renewal(app, customer, admin_client):
    """Signing in as a customer in the admin's browser starts a fresh session (no admin left)."""
    assert sign_in(admin_client, customer).status_code == 303
    assert admin_client.get("/account/").status_code == 200
    assert admin_client.get("/admin/").status_code == 303


@pytest.mark.parametrize("app_settings", [{"ADMIN_SESSION_HOURS": 3}])
def test_the_sign_in_page_says_how_long_a_session_lasts(client):
    assert "You stay signed in for 3 hours, then sign in again." in visible_text(
        client.get("/admin/login")
    )


def test_a_session_from_before_epochs_lasts_only_until_the_customer_signs_out(app, customer):
    """Sessions made before this release hold no epoch: they count as epoch 0, so customers
    are not all signed out by the upgrade, and signing out still ends them."""
    old = app.test_client()
    with old.session_transaction() as browser_session:
        browser_session["customer_id"] = customer.id
    assert old.get("/account/").status_code == 200
    current = app.test_client()
    assert sign_in(current, customer).status_code == 303
    sign_out(current, "/account/logout", "/account/")
    assert old.get("/account/").status_code == 302
