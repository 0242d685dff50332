"""What the corpus decided about text, each shown on its own: SQL-looking text in a valid form
is a reader's text (stored verbatim, shown escaped); direction overrides in names, emails and web
addresses are a form error; a web address must name a site; files are refused; odd ids and pages
in the admin area are a 404."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.accounts.models import Customer, SignInLink
from shop.comments.models import Comment
from shop.extensions import db
from tests.builders.content import make_article
from tests.helpers import comment_form, csrf_token, post_comment, text_of

SQL_NAME = "Robert'); DROP TABLE comments;--"
SQL_BODY = "1' OR '1'='1' -- <script>alert('x')</script> & \"quotes\""
RLO = "\u202e"


@pytest.fixture
def article(app):  # type: ignore[no-untyped-def]
    return make_article("lift", title="Lift")


def comment_count() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def test_sql_looking_comment_is_stored_verbatim_and_shown_escaped(client, article):
    response = post_comment(client, "lift", comment=SQL_BODY, author=SQL_NAME)
    assert response.status_code == 303
    (comment,) = db.session.scalars(select(Comment)).all()
    assert (comment.body, comment.author_name) == (SQL_BODY, SQL_NAME)

    page = client.get("/blog/lift").get_data(as_text=True)  # the author sees their held comment
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script>alert('x')</script>" not in page
    assert "Robert&#39;); DROP TABLE comments;--" in page
    assert text_of(client.get("/blog/lift")).count(SQL_BODY) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("author", f"Sam {RLO}redaeR", "from your name"),
        ("email", f"sam{RLO}@example.com", "from your email address"),
        ("url", f"https://example.com/{RLO}gpj.exe", "from the web address"),
        ("author", "Sam \u2066Reader\u2069", "from your name"),
    ],
)
def test_direction_overrides_in_comment_details_are_a_form_error(
    client, article, field, value, message
):
    response = post_comment(client, "lift", **{field: value})
    assert response.status_code == 400
    page = text_of(response)
    assert f'id="{field}-error"' in page
    assert f"Please remove the hidden text-direction characters {message}" in page
    assert comment_count() == 0


def test_direction_overrides_in_a_comment_body_are_text(client, article):
    # Readers writing Hebrew or Arabic use direction marks; the body is shown escaped anyway.
    assert post_comment(client, "lift", comment=f"Shalom {RLO}olleh").status_code == 303


def test_direction_override_in_the_sign_in_email_is_a_form_error(client):
    response = client.post(
        "/account/login",
        data={
            "email": f"jo{RLO}moc.elpmaxe@example.com",
            "csrf_token": csrf_token(client, "/account/login"),
        },
    )
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert "hidden text-direction characters" in text_of(response)
    assert db.session.scalar(select(func.count(SignInLink.id))) == 0


@pytest.mark.parametrize("field", ["name", "line1", "line2", "city"])
def test_direction_overrides_in_an_address_are_a_form_error(customer_client, field):
    token = csrf_token(customer_client, "/account/address")
    address = {
        "name": "Jo Lifter",
        "line1": "1 New St",
        "line2": "",
        "city": "Manly",
        "state": "NSW",
        "postal_code": "2095",
        field: f"Unit {RLO}7",
        "csrf_token": token,
    }
    response = customer_client.post("/account/address", data=address)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    jo = db.session.scalar(select(Customer))
    assert jo.shipping_line1 == "12 Bondi Rd"


@pytest.mark.parametrize(
    "url",
    [
        "../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "https://../../etc/passwd",
        "http://localhost/",
        "https://example.com:port/",
        "https://exa_mple.com/",
    ],
)
def test_a_web_address_must_name_a_site(client, article, url):
    response = post_comment(client, "lift", url=url)
    assert response.status_code == 400
    assert "with a site name, like example.com" in text_of(response)
    assert comment_count() == 0


@pytest.mark.parametrize("url", ["example.com/me", "https://bücher.de", "http://1.2.3.4:8080/x"])
def test_real_web_addresses_are_kept(client, article, url):
    assert post_comment(client, "lift", url=url).status_code == 303


def test_a_file_sent_in_place_of_text_is_refused(client, article):
    import io

    data = comment_form(client, "lift")
    data["comment"] = (io.BytesIO(b"<script>alert(1)</script>"), "comment.html")
    response = client.post("/blog/lift/comments", data=data)
    assert response.status_code == 400
    assert "That form doesn't take files" in text_of(response)
    assert comment_count() == 0


@pytest.mark.parametrize("page", ["0", "-1", "abc", str(2**31), str(2**63)])
def test_impossible_admin_comment_pages_are_404(admin_client, page):
    assert admin_client.get(f"/admin/comments?page={page}").status_code == 404


@pytest.mark.parametrize("comment_id", [str(2**31), str(2**63)])
@pytest.mark.parametrize("action", ["edit", "reply"])
def test_impossible_admin_comment_ids_are_404(admin_client, comment_id, action):
    assert admin_client.get(f"/admin/comments/{comment_id}/{action}").status_code == 404


@pytest.mark.parametrize("url", ["[", "https://[::1", "http://example.com]/"])
def test_a_web_address_with_stray_brackets_is_a_form_error(client, article, url):
    # urlsplit raises ValueError on an unbalanced "[": it was a 500.
    response = post_comment(client, "lift", url=url)
    assert response.status_code == 400
    assert 'id="url-error"' in response.get_data(as_text=True)
    assert comment_count() == 0
