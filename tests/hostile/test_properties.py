"""Properties of the comment, sign-in, address and checkout forms under arbitrary input.

Whatever a browser can send (any text without lone surrogates, control characters included,
with markup payloads mixed in) and whatever raw bytes a script can send: never a 5xx, and never
a payload's markup unescaped in the page that answers (or in the article page afterwards).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.accounts.conftest import sign_in
from tests.builders.billing import make_customer
from tests.builders.content import make_article
from tests.helpers import csrf_token
from tests.hostile.snapshot import comment_stamp

# Markup a payload could smuggle; each carries a marker only the payload can put in the page.
MARKUP = (
    "<script>hostile_script()</script>",
    '"><img src=x onerror=hostile_img()>',
    '" onmouseover="hostile_attr()',
    "' onfocus='hostile_quote()",
    "</textarea><svg onload=hostile_svg()>",
    "javascript:hostile_href()",
)
UNSAFE = re.compile(
    r"<script>hostile_|<img src=x onerror|\" onmouseover=\"hostile_|' onfocus='hostile_"
    r"|<svg onload=|href=\"javascript:hostile_"
)

# What a browser can send: any character but a lone surrogate (not encodable in UTF-8).
BROWSER_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
HOSTILE_TEXT = st.one_of(
    BROWSER_TEXT,
    st.builds(lambda a, m, b: a + m + b, BROWSER_TEXT, st.sampled_from(MARKUP), BROWSER_TEXT),
)
# Modest by default so the hostile suite stays quick; HOSTILE_EXAMPLES=500 for a deeper search.
FEW = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_safe(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    match = UNSAFE.search(page)
    assert not match, page[max(0, match.start() - 200) : match.end() + 200]


@pytest.fixture
def article(app: Flask):  # type: ignore[no-untyped-def]
    return make_article("lift", title="Lift")


@pytest.fixture
def comment_base(client: FlaskClient, article) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "csrf_token": csrf_token(client, "/account/login"),
        "rendered_at": comment_stamp(client, "lift"),
        "comment": "Great tips",
        "author": "Sam Reader",
        "email": "sam@example.com",
        "url": "",
        "mb_trap": "",
    }


@FEW
@given(
    field=st.sampled_from(["comment", "author", "email", "url", "parent_id", "mb_trap"]),
    value=HOSTILE_TEXT,
)
def test_comment_form_never_fails_or_echoes_markup(client, comment_base, field, value):
    response = client.post("/blog/lift/comments", data={**comment_base, field: value})
    assert_safe(response)
    if response.status_code == 303:  # accepted: the author's page shows it, escaped
        assert_safe(client.get("/blog/lift"))


@FEW
@given(body=st.binary(max_size=300))
def test_comment_form_takes_any_bytes(client, article, body):
    response = client.post(
        "/blog/lift/comments", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_safe(response)
    assert response.status_code == 400


@FEW
@given(email=HOSTILE_TEXT)
def test_sign_in_form_never_fails_or_echoes_markup(client, email):
    token = csrf_token(client, "/account/login")
    response = client.post("/account/login", data={"email": email, "csrf_token": token})
    assert_safe(response)
    assert response.status_code in (303, 400)


@FEW
@given(body=st.binary(max_size=300))
def test_sign_in_form_takes_any_bytes(client, body):
    response = client.post(
        "/account/login", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_safe(response)
    assert response.status_code == 400


@pytest.fixture
def mover(app: Flask) -> FlaskClient:
    """A signed-in customer with no Stripe customer yet: a valid address changes only the shop."""
    client = app.test_client()
    customer = make_customer("mo@example.com", name="Mo Mover", stripe_customer_id=None)
    assert sign_in(client, customer).status_code == 303
    return client


ADDRESS = {
    "name": "Mo Mover",
    "line1": "1 New St",
    "line2": "",
    "city": "Manly",
    "state": "NSW",
    "postal_code": "2095",
}


@FEW
@given(
    field=st.sampled_from(sorted(ADDRESS)),
    value=st.one_of(HOSTILE_TEXT, st.from_regex(r"\A[0-9]{4}\Z")),
)
def test_address_form_never_fails_or_echoes_markup(mover, field, value):
    token = csrf_token(mover, "/account/address")
    response = mover.post("/account/address", data={**ADDRESS, field: value, "csrf_token": token})
    assert_safe(response)
    assert response.status_code in (303, 400)
    assert_safe(mover.get("/account/"))


@FEW
@given(body=st.binary(max_size=300))
def test_address_form_takes_any_bytes(mover, body):
    response = mover.post(
        "/account/address", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_safe(response)
    assert response.status_code == 400


@FEW
@given(plan_id=st.one_of(HOSTILE_TEXT, st.integers().map(str)), attempt=HOSTILE_TEXT)
def test_checkout_form_never_fails(client, plan_id, attempt):
    # No plan is for sale: a well-formed id is a 404, anything else a 400.
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/checkout", data={"plan_id": plan_id, "attempt": attempt, "csrf_token": token}
    )
    assert_safe(response)
    assert response.status_code in (400, 404)
