"""The comment settings page through HTTP: it starts from the environment, validates every
field, records what changed (never who is blocklisted), and every change applies to the very
next comment and page."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.comments.models import Comment, CommentStatus
from shop.comments.settings import CommentSettingsRow
from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import make_article, make_comment
from tests.helpers import csrf_token, post_comment, text_of, visible_text

PAGE = "/admin/settings/comments"
ENVIRONMENT = {
    "COMMENT_MAX_LINKS": 5,
    "COMMENT_MODERATION_WORDS": ("steroids",),
    "COMMENT_BLOCKLIST_WORDS": ("casino",),
    "COMMENT_BLOCKLIST_EMAILS": ("@junk.example.org",),
    "COMMENT_BLOCKLIST_IPS": ("192.0.2.0/24",),
    "COMMENT_CLOSE_AFTER_DAYS": 0,
}
VALID = {
    "max_links": "5",
    "moderation_words": "steroids",
    "blocklist_words": "casino",
    "blocklist_emails": "@junk.example.org",
    "blocklist_ips": "192.0.2.0/24",
    "auto_approve_returning": "yes",
    "close_after_days": "0",
    "comments_per_page": "50",
}


@pytest.fixture
def app_settings() -> dict[str, object]:
    return dict(ENVIRONMENT)


@pytest.fixture
def article(app):  # type: ignore[no-untyped-def]
    return make_article("lift-well", title="Lift Well", published_at=utcnow() - timedelta(days=10))


def save(client: FlaskClient, **changes: str):  # type: ignore[no-untyped-def]
    data = {**VALID, **changes, "csrf_token": csrf_token(client, PAGE)}
    return client.post(PAGE, data=data)


def stored() -> CommentSettingsRow | None:
    return db.session.get(CommentSettingsRow, 1)


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def latest_comment() -> Comment:
    return db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()


def test_page_starts_from_the_environment(admin_client):  # type: ignore[no-untyped-def]
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    page = text_of(response)
    assert "These are the environment's defaults" in page
    assert re.search(r'id="max_links"[^>]*value="5"', page)
    assert re.search(r'id="comments_per_page"[^>]*value="50"', page)
    assert re.search(r'id="moderation_words"[^>]*>\s*steroids</textarea>', page)
    assert re.search(r'id="blocklist_emails"[^>]*>\s*@junk.example.org</textarea>', page)
    assert re.search(r'value="yes"[^>]*checked|checked[^>]*value="yes"', page)
    assert stored() is None


def test_saving_stores_the_settings_and_shows_who_saved(admin_client):  # type: ignore[no-untyped-def]
    response = save(
        admin_client,
        max_links="3",
        blocklist_emails="@junk.example.org\n  Spammer@Example.com \n\nspammer@example.com\n",
        blocklist_ips="192.0.2.0/24\n2001:db8::/48\n203.0.113.9",
        moderation_words=" Casino Royale \n\nDEAL\ndeal",
        comments_per_page="20",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    row = stored()
    assert row is not None
    assert row.max_links == 3
    assert row.blocklist_emails == ["@junk.example.org", "spammer@example.com"]
    assert row.blocklist_ips == ["192.0.2.0/24", "2001:db8::/48", "203.0.113.9"]
    assert row.moderation_words == ["Casino Royale", "DEAL"]
    assert row.comments_per_page == 20
    assert row.updated_by == "coach@musclebox.test"

    page = visible_text(admin_client.get(PAGE))
    assert "Comment settings saved" in page
    assert "Last saved by coach@musclebox.test" in page


def test_the_audit_entry_names_the_changes_but_not_who_is_blocked(admin_client):  # type: ignore[no-untyped-def]
    save(
        admin_client,
        max_links="3",
        blocklist_emails="@junk.example.org\nspammer@example.com\nother@example.com",
        blocklist_ips="192.0.2.0/24\n203.0.113.9",
    )
    (entry,) = db.session.scalars(select(AuditEntry)).all()
    assert entry.action == "settings.comments"
    assert entry.actor_email == "coach@musclebox.test"
    assert entry.details["changed"] == ["max_links", "blocklist_emails", "blocklist_ips"]
    assert entry.details["max_links"] == {"before": 5, "after": 3}
    assert entry.details["blocklist_emails"] == {
        "before_count": 1,
        "after_count": 3,
        "added": 2,
        "removed": 0,
    }
    assert "links threshold 5 → 3" in entry.summary
    recorded = json.dumps([entry.summary, entry.details])
    assert "spammer" not in recorded and "other@" not in recorded and "203.0.113.9" not in recorded


def test_saving_the_settings_in_force_changes_nothing(admin_client):  # type: ignore[no-untyped-def]
    response = save(admin_client)
    assert response.status_code == 303
    assert "Nothing changed" in visible_text(admin_client.get(PAGE))
    assert stored() is None
    assert audit_count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("comments_per_page", "4", "Enter a whole number from 5 to 200."),
        ("comments_per_page", "201", "Enter a whole number from 5 to 200."),
        ("comments_per_page", "", "Enter a whole number from 5 to 200."),
        ("comments_per_page", "twenty", "Enter a whole number from 5 to 200."),
        ("max_links", "-1", "Enter a whole number from 0 to 50."),
        ("max_links", "51", "Enter a whole number from 0 to 50."),
        ("max_links", str(2**63), "Enter a whole number from 0 to 50."),
        ("close_after_days", "3651", "Enter a whole number from 0 to 3650."),
        ("blocklist_ips", "192.0.2.0/24\n999.1.1.1", "Entry 2 ('999.1.1.1') is not an IP address"),
        ("blocklist_ips", "10.0.0.5/8", "did you mean 10.0.0.0/8?"),
        ("blocklist_ips", "0.0.0.0/0", "is too broad"),
        ("blocklist_ips", "2000::/16", "is too broad"),
        ("blocklist_ips", "../../etc/passwd", "is not an IP address"),
        ("blocklist_emails", "not-an-email", "needs an @"),
        ("blocklist_emails", "@localhost", "is not a domain like @example.com"),
        ("blocklist_emails", "sam@@example.com", "is not an email address"),
        ("blocklist_emails", "' OR '1'='1'; DROP TABLE comments;--", "needs an @"),
        ("moderation_words", "fine\nbad\x07bell", "has hidden control characters"),
        ("blocklist_words", "\u202egnp.exe", "has hidden control characters"),
        ("blocklist_words", "w" * 101, "is longer than 100 characters."),
        ("blocklist_emails", "spam*@example.com", "has a * the blocklist can't match"),
        ("blocklist_emails", "*.spam.example", "has a * the blocklist can't match"),
        ("blocklist_emails", "@junk.example.org\n*", "has a * the blocklist can't match"),
        ("blocklist_emails", "**@spam.example", "has a * the blocklist can't match"),
        ("blocklist_words", "\n".join(f"word{n}" for n in range(501)), "500 words at most"),
        ("moderation_words", "x" * 20_001, "Keep this list under 20,000 characters."),
        ("auto_approve_returning", "maybe", "Not a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_saved(admin_client, field, value, message):  # type: ignore[no-untyped-def]
    response = save(admin_client, **{"max_links": "3", field: value})
    assert response.status_code == 400
    page = text_of(response)
    assert f'id="{field}-error"' in page
    assert message in page
    if value and field != "auto_approve_returning" and "\x07" not in value and len(value) < 1000:
        assert value.splitlines()[-1] in page  # what was typed is kept
    assert stored() is None
    assert audit_count() == 0


def field_error(response, field: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', text_of(response), re.S)
    assert match, f"no error at {field}"
    return " ".join(match.group(1).split())


def test_many_bad_lines_are_named_a_few_at_a_time_in_sentences(admin_client):  # type: ignore[no-untyped-def]
    response = save(
        admin_client,
        blocklist_ips="\n".join(["10.0.0.5/8", *(f"bad{n}" for n in range(9))]),
    )
    assert response.status_code == 400
    assert field_error(response, "blocklist_ips") == (
        "Entry 1 ('10.0.0.5/8') has bits set past the prefix: did you mean 10.0.0.0/8? "
        "Entry 2 ('bad0') is not an IP address or network (like 198.51.100.0/24). "
        "Entry 3 ('bad1') is not an IP address or network (like 198.51.100.0/24). "
        "7 more entries are wrong too. Nothing was saved."
    )


def test_an_overlong_list_is_one_sentence_not_a_check_of_its_lines(admin_client):  # type: ignore[no-untyped-def]
    response = save(admin_client, moderation_words="x" * 20_001)
    assert response.status_code == 400
    assert field_error(response, "moderation_words") == (
        "Keep this list under 20,000 characters. Nothing was saved."
    )


def test_every_field_error_is_a_sentence(admin_client):  # type: ignore[no-untyped-def]
    response = save(
        admin_client,
        max_links="51",
        moderation_words="w" * 101,
        blocklist_words="\n".join(f"word{n}" for n in range(501)),
        blocklist_emails="sam@@example.com\nnot-an-email\n@localhost\nspam*@example.com",
        blocklist_ips="0.0.0.0/0",
        comments_per_page="",
    )
    assert response.status_code == 400
    errors = re.findall(r'class="field-error"[^>]*>(.*?)</p>', text_of(response), re.S)
    assert len(errors) == 6
    for error in errors:
        error = " ".join(error.split())
        assert error[0].isupper(), error
        assert error.endswith((".", "?")), error


def test_a_wildcard_domain_is_saved_as_the_domain_and_blocks_it(app, admin_client, article):  # type: ignore[no-untyped-def]
    response = save(admin_client, blocklist_emails="*@Spam.Example\n@junk.example.org")
    assert response.status_code == 303
    assert stored().blocklist_emails == ["@spam.example", "@junk.example.org"]
    page = admin_client.get(PAGE)
    assert re.search(
        r'id="blocklist_emails"[^>]*>\s*@spam.example\n@junk.example.org</textarea>', text_of(page)
    )
    assert "*@example.com is saved as @example.com" in visible_text(page)

    post_comment(app.test_client(), "lift-well", comment="Cheap pills", email="bot@spam.example")
    spam = latest_comment()
    assert spam.status is CommentStatus.SPAM
    assert "Email is on the blocklist (@spam.example)" in spam.status_reasons


def test_a_wildcard_domain_from_the_environment_blocks_it_too(app, app_settings, article):  # type: ignore[no-untyped-def]
    app.config["COMMENT_BLOCKLIST_EMAILS"] = ("*@spam.example",)
    post_comment(app.test_client(), "lift-well", comment="Cheap pills", email="Bot@Spam.Example")
    spam = latest_comment()
    assert spam.status is CommentStatus.SPAM
    assert "Email is on the blocklist (@spam.example)" in spam.status_reasons


def test_a_post_without_the_csrf_token_is_refused(admin_client):  # type: ignore[no-untyped-def]
    response = admin_client.post(PAGE, data={**VALID, "max_links": "3"})
    assert response.status_code == 400
    assert stored() is None


def returning_commenter(client: FlaskClient) -> None:
    """The client's browser posts a comment, and an admin approves it."""
    post_comment(client, "lift-well", comment="My first comment")
    first = latest_comment()
    first.status = CommentStatus.APPROVED
    db.session.commit()


@pytest.fixture
def reader(app, article) -> FlaskClient:  # type: ignore[no-untyped-def]
    """A reader's browser whose first comment on the article an admin has approved."""
    client = app.test_client()
    returning_commenter(client)
    return client


def test_lowering_the_links_threshold_holds_the_next_comment(admin_client, reader):  # type: ignore[no-untyped-def]
    three_links = "See https://a.example/1 and https://b.example/2 and www.c.example/3"
    post_comment(reader, "lift-well", comment=three_links)
    assert latest_comment().status is CommentStatus.APPROVED

    save(admin_client, max_links="3")
    post_comment(reader, "lift-well", comment=three_links + " again")
    held = latest_comment()
    assert held.status is CommentStatus.PENDING
    assert held.status_reasons == ["Contains 3 links (hold at 3 or more)"]


def test_blocklists_apply_at_once(app, admin_client, article):  # type: ignore[no-untyped-def]
    reader = app.test_client()
    post_comment(reader, "lift-well", comment="Before the block", email="spammer@example.com")
    assert latest_comment().status is CommentStatus.PENDING

    save(admin_client, blocklist_emails="Spammer@Example.com", blocklist_ips="127.0.0.1")
    post_comment(reader, "lift-well", comment="After the block", email="spammer@example.com")
    spam = latest_comment()
    assert spam.status is CommentStatus.SPAM
    assert "Email is on the blocklist (spammer@example.com)" in spam.status_reasons
    assert "IP address is on the blocklist (127.0.0.1)" in spam.status_reasons


def test_environment_lists_stop_applying_once_saved(admin_client, reader):  # type: ignore[no-untyped-def]
    post_comment(reader, "lift-well", comment="Talking about steroids")
    assert latest_comment().status is CommentStatus.PENDING  # the environment's moderation word

    save(admin_client, moderation_words="")
    post_comment(reader, "lift-well", comment="Talking about steroids again")
    assert latest_comment().status is CommentStatus.APPROVED


def test_turning_auto_approval_off_holds_returning_commenters(admin_client, reader):  # type: ignore[no-untyped-def]
    save(admin_client, auto_approve_returning="no")
    post_comment(reader, "lift-well", comment="Back again")
    held = latest_comment()
    assert held.status is CommentStatus.PENDING
    assert "auto-approval is off" in held.status_reasons[0]

    save(admin_client, auto_approve_returning="yes")
    post_comment(reader, "lift-well", comment="And again")
    assert latest_comment().status is CommentStatus.APPROVED


def test_closing_age_holds_comments_on_older_articles(admin_client, reader):  # type: ignore[no-untyped-def]
    save(admin_client, close_after_days="7")
    post_comment(reader, "lift-well", comment="Late to the party")
    held = latest_comment()
    assert held.status is CommentStatus.PENDING
    assert held.status_reasons == ["The article is older than 7 days"]


def _shown(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r"Top-level comment (\d+)\b", visible_text(response))


def test_comments_per_page_applies_to_the_article_and_its_pages(app, admin_client, article):  # type: ignore[no-untyped-def]
    for n in range(12):
        make_comment(
            article, body=f"Top-level comment {n}", created_at=utcnow() - timedelta(hours=12 - n)
        )
    reader = app.test_client()
    assert len(_shown(reader.get("/blog/lift-well"))) == 12

    save(admin_client, comments_per_page="5")
    assert _shown(reader.get("/blog/lift-well")) == [str(n) for n in range(5)]
    assert _shown(reader.get("/blog/lift-well?page=3")) == ["10", "11"]
    assert reader.get("/blog/lift-well?page=4").status_code == 404

    # A new approved comment is sent to the page it is on, counted five a page.
    returning_commenter(reader)  # the 13th approved top-level comment
    response = post_comment(reader, "lift-well", comment="The fourteenth")
    assert latest_comment().status is CommentStatus.APPROVED
    assert "/blog/lift-well?page=3#comment-" in response.headers["Location"]


def test_settings_are_read_once_per_request(app, admin_client, article):  # type: ignore[no-untyped-def]
    """Posting a comment reads the settings for the policy and for the page it lands on: one
    query, kept for the rest of the request."""
    from sqlalchemy import event

    save(admin_client, comments_per_page="5")
    reader = app.test_client()
    returning_commenter(reader)
    form_page = reader.get("/blog/lift-well")
    assert form_page.status_code == 200
    reads: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "FROM comment_settings" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = post_comment(reader, "lift-well", comment="Counting reads")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 303
    # post_comment loads the article page for its form first: two requests, one read each.
    assert len(reads) == 2
