"""Signing in and out of the admin area."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from shop.accounts.models import AdminUser
from shop.extensions import db
from tests.builders.content import make_admin
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.helpers import csrf_token

GENERIC_ERROR = "That email and password don&#39;t match an admin account."


def sign_in(client: FlaskClient, email: str, password: str, path: str = "/admin/login"):  # type: ignore[no-untyped-def]
    return client.post(
        path,
        data={"email": email, "password": password, "csrf_token": csrf_token(client, path)},
    )


def test_login_page_has_labelled_fields_and_csrf(client: FlaskClient) -> None:
    page = client.get("/admin/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in html
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_correct_password_signs_in_and_records_the_login(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    response = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    admin = db.session.scalar(db.select(AdminUser).where(AdminUser.email == ADMIN_EMAIL))
    assert admin is not None and admin.last_login_at is not None


def test_email_is_matched_without_regard_to_case_or_spaces(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    response = sign_in(client, f"  {ADMIN_EMAIL.upper()} ", ADMIN_PASSWORD)
    assert response.status_code in (302, 303)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        (ADMIN_EMAIL, "wrong password entirely"),
        ("nobody@musclebox.test", ADMIN_PASSWORD),
    ],
    ids=["wrong-password", "unknown-email"],
)
def test_failed_login_gives_one_generic_message_and_keeps_the_email(
    client: FlaskClient, email: str, password: str
) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    response = sign_in(client, email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert GENERIC_ERROR in html
    assert f'value="{email}"' in html
    assert password not in html
    assert client.get("/admin/comments").status_code in (302, 303)


def test_inactive_admin_cannot_sign_in(client: FlaskClient) -> None:
    admin = make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.is_active_admin = False
    db.session.commit()
    response = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200
    assert GENERIC_ERROR in response.get_data(as_text=True)


def test_empty_fields_are_a_form_error(client: FlaskClient) -> None:
    response = sign_in(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please enter your email address." in html
    assert "Please enter your password." in html


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    response = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code in (302, 303)


def test_session_is_renewed_on_login(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client.get("/admin/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        old_token = session.get("csrf_token")
    assert old_token
    response = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code in (302, 303)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_token
        assert session["_user_id"].startswith("admin:")


def test_next_is_honoured_for_admin_paths(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    bounce = client.get("/admin/comments?status=spam")
    assert bounce.status_code in (302, 303)
    login_path = bounce.headers["Location"]
    assert login_path.startswith("/admin/login?next=")
    response = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD, path=login_path)
    assert response.headers["Location"] == "/admin/comments?status=spam"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/\\evil.example/admin",
        "/blog/",
        "/administrator",
        "javascript:alert(1)",
    ],
)
def test_next_outside_the_admin_area_is_ignored(client: FlaskClient, target: str) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client.get("/admin/login")
    response = sign_in(
        client, ADMIN_EMAIL, ADMIN_PASSWORD, path=f"/admin/login?next={quote(target)}"
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/"


def test_signed_in_admin_visiting_login_goes_to_the_dashboard(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/login")
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/"


def test_logout_is_post_only(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/logout").status_code == 405
    assert admin_client.get("/admin/").status_code == 200


def test_logout_without_csrf_token_is_refused(admin_client: FlaskClient) -> None:
    assert admin_client.post("/admin/logout").status_code == 400
    assert admin_client.get("/admin/").status_code == 200


def test_logout_signs_out(admin_client: FlaskClient) -> None:
    token = csrf_token(admin_client, "/admin/")
    response = admin_client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/admin/login"
    page = admin_client.get("/admin/login")
    assert "You&#39;ve signed out." in page.get_data(as_text=True)
    assert admin_client.get("/admin/comments").status_code in (302, 303)
