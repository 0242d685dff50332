"""The admin sign-in form is rate limited (its own module: it overrides the app's settings)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.builders.content import make_admin
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.helpers import csrf_token


@pytest.fixture
def app_settings() -> dict[str, object]:
    return {"ADMIN_LOGIN_RATE_LIMIT": "3 per minute"}


def test_too_many_attempts_are_refused_even_with_the_right_password(client: FlaskClient) -> None:
    make_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    token = csrf_token(client, "/admin/login")
    for _ in range(3):
        response = client.post(
            "/admin/login",
            data={"email": ADMIN_EMAIL, "password": "guess guess guess", "csrf_token": token},
        )
        assert response.status_code == 200
    response = client.post(
        "/admin/login",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 429
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/admin/").status_code in (302, 303)
    # Reading the form is not limited, so the page still explains itself.
    assert client.get("/admin/login").status_code == 200
