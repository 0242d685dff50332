"""Posting comments through the article's form, as a browser does."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.comments.models import Comment, CommentStatus
from shop.extensions import db
from tests.builders.content import make_article, make_comment
from tests.helpers import comment_form, post_comment, text_of, visible_text

AWAITING = "Your comment is awaiting moderation."


@pytest.fixture
def article(app):
    return make_article("lift-well", title="Lift Well")


def comments():
    return db.session.scalars(select(Comment).order_by(Comment.id)).all()


def test_form_has_the_fields_and_the_privacy_notice(client, article):
    response = client.get("/blog/lift-well")
    assert "Your email address will not be published. Required fields are marked *" in (
        visible_text(response)
    )
    page = text_of(response)
    for name in ("comment", "author", "email", "url", "parent_id", "csrf_token"):
        assert f'name="{name}"' in page
    assert '<label for="comment">Comment <span class="required" aria-hidden="true">*</span>' in page
    assert '<label for="url">Website</label>' in page
    assert "Save my name, email, and website in this browser for the next time I comment." in page
    assert not re.search(r'id="remember"[^>]*checked', page), "the save box starts unticked"


def test_valid_comment_is_held_and_redirects_to_it(client, article):
    response = post_comment(client, "lift-well", comment="First!\n\nSecond paragraph.")
    assert response.status_code == 303
    (comment,) = comments()
    assert response.headers["Location"].endswith(f"/blog/lift-well#comment-{comment.id}")
    assert comment.status is CommentStatus.PENDING
    assert comment.status_reasons == ["New commenter: held for review"]
    assert comment.author_email == "sam@example.com"
    assert comment.ip_address == "127.0.0.1"


def test_held_comment_is_shown_to_its_author_only(app, client, article):
    post_comment(client, "lift-well", comment="Only I can see this for now")
    mine = text_of(client.get("/blog/lift-well"))
    assert "Only I can see this for now" in mine and AWAITING in mine

    stranger = app.test_client()
    theirs = text_of(stranger.get("/blog/lift-well"))
    assert "Only I can see this for now" not in theirs and AWAITING not in theirs


def test_held_comment_shown_only_for_that_browser_session(client, article):
    post_comment(client, "lift-well", comment="Session only")
    client.delete_cookie("session")  # the browser was closed: its session cookie is gone
    assert "Session only" not in text_of(client.get("/blog/lift-well"))


def test_approved_comment_is_public(app, client, article):
    make_comment(article, body="Everyone sees this", name="Public Person")
    page = text_of(app.test_client().get("/blog/lift-well"))
    assert "Everyone sees this" in page and "Public Person" in page
    assert "1 response to “Lift Well”" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("comment", "", "Please write a comment."),
        ("comment", "   \n  ", "Please write a comment."),
        ("author", "", "Please tell us your name."),
        ("email", "", "Please enter your email address."),
        ("email", "not-an-email", "Please enter a valid email address."),
        ("email", "a@b", "Please enter a valid email address."),
        ("email", "<script>alert(1)</script>@x.com", "Please enter a valid email address."),
        ("url", "javascript:alert(1)", "http:// or https://"),
        ("url", "JaVaScRiPt:alert(1)", "http:// or https://"),
        ("url", "ftp://example.com", "http:// or https://"),
        ("url", "data:text/html,<script>x</script>", "http:// or https://"),
        ("author", "n" * 246, "under 245 characters"),
        ("email", "e" * 95 + "@x.com", "under 100 characters"),
        ("url", "https://example.com/" + "p" * 190, "under 200 characters"),
        ("comment", "c" * 65_526, "under 65,525 characters"),
        ("parent_id", "abc", "isn't available"),
    ],
)
def test_invalid_input_rerenders_the_form_with_a_message(client, article, field, value, message):
    typed = {
        "comment": "My carefully written comment",
        "author": "Sam <b>Reader</b>",
        "email": "sam@example.com",
    }
    typed[field] = value
    response = post_comment(client, "lift-well", **typed)
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert "field-error" in response.get_data(as_text=True)
    if field != "comment":
        assert "My carefully written comment" in page, "the visitor's text is kept"
    assert comments() == []


def test_limits_at_their_maximum_are_accepted(client, article):
    response = post_comment(
        client,
        "lift-well",
        author="n" * 245,
        email="e" * 94 + "@x.com",
        url="https://example.com/" + "p" * 180,
        comment="c" * 65_525,
    )
    assert response.status_code == 303
    (comment,) = comments()
    assert len(comment.body) == 65_525 and len(comment.author_name) == 245


def test_website_without_scheme_gets_https(client, article):
    post_comment(client, "lift-well", url="example.com/me")
    assert comments()[0].author_url == "https://example.com/me"


def test_missing_csrf_token_is_refused(client, article):
    data = comment_form(client, "lift-well")
    del data["csrf_token"]
    response = client.post("/blog/lift-well/comments", data=data)
    assert response.status_code == 400
    assert comments() == []


def test_wrong_csrf_token_is_refused(client, article):
    data = comment_form(client, "lift-well", csrf_token="forged-token")
    response = client.post("/blog/lift-well/comments", data=data)
    assert response.status_code == 400
    assert "session expired" in text_of(response)
    assert comments() == []


def test_comment_on_unknown_or_draft_article_is_404(client, article):
    from shop.blog.models import ArticleStatus

    make_article("secret", status=ArticleStatus.DRAFT)
    data = comment_form(client, "lift-well")
    assert client.post("/blog/secret/comments", data=data).status_code == 404
    assert client.post("/blog/nope/comments", data=data).status_code == 404
    assert comments() == []


def test_script_tags_in_every_field_are_stored_as_text_and_escaped(app, client, article):
    response = post_comment(
        client,
        "lift-well",
        comment="<script>alert('c')</script> <img src=x onerror=alert(1)>",
        author="<script>alert('n')</script>",
        url="https://example.com/\"><script>alert('u')</script>",
    )
    assert response.status_code in (303, 400)
    if response.status_code == 303:
        (comment,) = comments()
        comment.status = CommentStatus.APPROVED
        db.session.commit()
    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "<img src=x" not in page


def test_url_field_with_quotes_cannot_break_out_of_the_attribute(app, client, article):
    make_comment(article, url='https://example.com/" onmouseover="alert(1)', body="hi")
    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    assert 'onmouseover="alert(1)"' not in page


def test_comment_text_is_plain_text_with_paragraphs_and_nofollow_links(app, article):
    make_comment(article, body="Line one\nline two\n\nSee https://example.com/x for <b>more</b>.")
    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    assert "<p>Line one<br>\nline two</p>" in page
    assert (
        '<a href="https://example.com/x" rel="nofollow ugc noopener">https://example.com/x</a>'
        in page
    )
    assert "&lt;b&gt;more&lt;/b&gt;" in page


def test_names_link_to_the_website_only_when_given(app, article):
    make_comment(article, name="With Site", url="https://with.example")
    make_comment(article, name="No Site")
    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    assert '<a href="https://with.example" rel="nofollow ugc noopener">With Site</a>' in page
    assert re.search(r'id="comment-\d+-author">\s*No Site', page)


def test_avatar_is_initials_drawn_by_the_shop(app, article):
    make_comment(article, name="Sam Reader")
    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    assert re.search(r'class="avatar avatar-\d"[^>]*>SR</span>', page)
    assert "gravatar" not in page.lower()


# -- remembering the commenter ----------------------------------------------------------------


def test_details_are_not_remembered_when_the_box_is_unticked(client, article):
    response = post_comment(client, "lift-well")
    cookie = response.headers.get("Set-Cookie", "")
    assert "mb_commenter=" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie, "a browser-session cookie only"
    page = text_of(client.get("/blog/lift-well"))
    assert 'value="sam@example.com"' not in page


def test_details_are_remembered_for_a_year_when_ticked(client, article):
    response = post_comment(client, "lift-well", remember="y", url="https://sam.example")
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("mb_commenter=")]
    assert cookies and "Max-Age=31536000" in cookies[0] and "HttpOnly" in cookies[0]
    page = text_of(client.get("/blog/lift-well"))
    assert 'value="Sam Reader"' in page and 'value="sam@example.com"' in page
    assert 'value="https://sam.example"' in page
    assert re.search(r'id="remember"[^>]*checked', page)


def test_unticking_later_forgets_the_details(client, article, app):
    post_comment(client, "lift-well", remember="y")
    with app.app_context():
        db.session.execute(db.update(Comment).values(status=CommentStatus.APPROVED))
        db.session.commit()
    post_comment(client, "lift-well", comment="Second, box unticked")
    assert 'value="sam@example.com"' not in text_of(client.get("/blog/lift-well"))


def test_proven_returning_commenter_is_approved(client, article):
    post_comment(client, "lift-well", comment="My first comment")
    first = comments()[0]
    first.status = CommentStatus.APPROVED
    db.session.commit()

    response = post_comment(client, "lift-well", comment="Back again")
    assert response.status_code == 303
    second = comments()[1]
    assert second.status is CommentStatus.APPROVED
    assert "Returning commenter" in second.status_reasons[0]


def test_cookie_for_another_email_proves_nothing(client, article):
    post_comment(client, "lift-well", comment="Mine")
    comments()[0].status = CommentStatus.APPROVED
    db.session.commit()
    post_comment(client, "lift-well", comment="As someone else", email="other@example.com")
    assert comments()[1].status is CommentStatus.PENDING


def test_cookie_naming_a_comment_that_is_not_approved_proves_nothing(client, article):
    post_comment(client, "lift-well", comment="Still pending")
    post_comment(client, "lift-well", comment="Second")
    assert [c.status for c in comments()] == [CommentStatus.PENDING, CommentStatus.PENDING]


def test_typed_in_name_and_email_of_an_approved_commenter_are_held(app, article):
    make_comment(article, name="Sam Reader", email="sam@example.com", body="approved earlier")
    impostor = app.test_client()
    post_comment(impostor, "lift-well", comment="I am Sam, honest")
    latest = comments()[-1]
    assert latest.status is CommentStatus.PENDING
    assert "did not prove" in latest.status_reasons[0]


def test_forged_commenter_cookie_is_ignored(app, client, article):
    approved = make_comment(article, email="sam@example.com", body="approved earlier")
    client.set_cookie("mb_commenter", f'{{"ids":[{approved.id}]}}.forged')
    post_comment(client, "lift-well", comment="Trying my luck")
    assert comments()[-1].status is CommentStatus.PENDING


# -- spam, duplicates and floods ----------------------------------------------------------------


def test_honeypot_makes_spam_but_looks_held_to_the_robot(client, article):
    response = post_comment(client, "lift-well", mb_trap="0400 000 000")
    assert response.status_code == 303
    (comment,) = comments()
    assert comment.status is CommentStatus.SPAM
    assert AWAITING in text_of(client.get("/blog/lift-well"))


@pytest.fixture
def app_settings(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_settings", [{"COMMENT_MIN_SECONDS": 3}], indirect=True)
def test_posting_within_three_seconds_of_rendering_is_spam(client, article):
    post_comment(client, "lift-well")
    (comment,) = comments()
    assert comment.status is CommentStatus.SPAM
    assert "faster than 3 s" in comment.status_reasons[0]


def test_forged_form_stamp_is_spam(client, article):
    data = comment_form(client, "lift-well", rendered_at="1000.forged")
    client.post("/blog/lift-well/comments", data=data)
    assert comments()[0].status is CommentStatus.SPAM


@pytest.mark.parametrize(
    "app_settings",
    [
        {
            "COMMENT_BLOCKLIST_WORDS": ("pills",),
            "COMMENT_BLOCKLIST_EMAILS": ("@junk.example.org",),
            "COMMENT_BLOCKLIST_IPS": ("127.0.0.0/8",),
        }
    ],
    indirect=True,
)
def test_blocklist_settings_make_spam(client, article):
    post_comment(client, "lift-well", comment="cheap pills", email="a@junk.example.org")
    reasons = comments()[0].status_reasons
    assert comments()[0].status is CommentStatus.SPAM
    assert len(reasons) == 3


@pytest.mark.parametrize(
    "app_settings", [{"COMMENT_MODERATION_WORDS": ("steroids",)}], indirect=True
)
def test_moderation_words_setting_holds(client, article):
    post_comment(client, "lift-well", comment="Are Steroids worth it?")
    assert comments()[0].status_reasons == ["Contains moderation words: steroids"]


def test_duplicate_comment_answers_409_and_keeps_the_text(client, article):
    assert post_comment(client, "lift-well", comment="Same words").status_code == 303
    response = post_comment(client, "lift-well", comment="Same words")
    assert response.status_code == 409
    page = text_of(response)
    assert "You've already posted that comment." in page
    assert "Same words" in page
    assert len(comments()) == 1


def test_same_text_from_another_email_or_on_another_article_is_not_a_duplicate(client, article):
    make_article("other-article")
    post_comment(client, "lift-well", comment="Same words")
    post_comment(client, "lift-well", comment="Same words", email="else@example.com")
    post_comment(client, "other-article", comment="Same words")
    assert len(comments()) == 3


@pytest.mark.parametrize("app_settings", [{"COMMENT_FLOOD_SECONDS": 15}], indirect=True)
def test_second_comment_within_15_seconds_answers_429(app, client, article):
    assert post_comment(client, "lift-well", comment="one").status_code == 303
    response = post_comment(client, "lift-well", comment="two", email="new@example.com")
    assert response.status_code == 429
    assert "too quickly" in text_of(response)
    assert "two" in text_of(response)
    # Same email from another address is refused too.
    other_ip = app.test_client()
    data = comment_form(other_ip, "lift-well", comment="three")
    response = other_ip.post(
        "/blog/lift-well/comments", data=data, environ_base={"REMOTE_ADDR": "192.0.2.99"}
    )
    assert response.status_code == 429, text_of(response)[-3000:]
    assert len(comments()) == 1


@pytest.mark.parametrize("app_settings", [{"COMMENT_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_per_ip_rate_limit(client, article):
    for n in range(2):
        assert (
            post_comment(client, "lift-well", comment=f"c{n}", email=f"{n}@x.com").status_code
            == 303
        )
    response = post_comment(client, "lift-well", comment="my third thought", email="3@x.com")
    assert response.status_code == 429
    page = text_of(response)
    assert "posted a lot of comments in a short time" in page
    assert "my third thought" in page, "the visitor's text is kept"
    assert len(comments()) == 2


# -- replies and pages ----------------------------------------------------------------------------


def test_reply_link_renders_form_for_that_comment(client, article):
    parent = make_comment(article, name="Parent Person")
    page = text_of(client.get(f"/blog/lift-well?replyto={parent.id}"))
    assert "Reply to Parent Person" in page
    assert f'name="parent_id" type="hidden" value="{parent.id}"' in page


def test_reply_is_threaded_under_its_parent(app, client, article):
    parent = make_comment(article, body="parent")
    post_comment(client, "lift-well", comment="a reply", parent_id=str(parent.id))
    reply = comments()[-1]
    assert (reply.parent_id, reply.thread_id, reply.depth) == (parent.id, parent.id, 1)


def test_replies_nest_five_levels_then_stay_at_the_fifth(app, client, article):
    chain = [make_comment(article, body="level 1")]
    for level in range(2, 6):
        chain.append(make_comment(article, body=f"level {level}", parent=chain[-1]))
    assert chain[-1].depth == 4
    post_comment(client, "lift-well", comment="level 6?", parent_id=str(chain[-1].id))
    deepest = comments()[-1]
    assert deepest.depth == 4 and deepest.parent_id == chain[-2].id

    page = app.test_client().get("/blog/lift-well").get_data(as_text=True)
    for level in range(1, 6):
        assert f"level {level}" in page
    assert page.count('<ol class="comment-children">') == 4


@pytest.mark.parametrize("state", ["pending", "other-article", "missing"])
def test_reply_to_unavailable_comment_is_refused(client, article, state):
    if state == "missing":
        parent_id = "999999"
    elif state == "pending":
        parent_id = str(make_comment(article, status=CommentStatus.PENDING).id)
    else:
        parent_id = str(make_comment(make_article("elsewhere")).id)
    response = post_comment(client, "lift-well", comment="reply", parent_id=parent_id)
    assert response.status_code == 400
    assert "isn't available" in text_of(response)
    assert all(c.body != "reply" for c in comments())


def test_comments_are_oldest_first_and_paginated_at_50_top_level(app, article):
    from datetime import timedelta

    from shop.db import utcnow

    start = utcnow() - timedelta(days=2)
    first = None
    for n in range(55):
        c = make_comment(
            article, body=f"comment number {n:02d}", created_at=start + timedelta(minutes=n)
        )
        first = first or c
    make_comment(article, body="reply on page one", parent=first)
    client = app.test_client()
    page1 = client.get("/blog/lift-well").get_data(as_text=True)
    assert "comment number 00" in page1 and "comment number 49" in page1
    assert "comment number 50" not in page1
    assert page1.index("comment number 00") < page1.index("comment number 01")
    assert "reply on page one" in page1
    page2 = client.get("/blog/lift-well?page=2").get_data(as_text=True)
    assert "comment number 50" in page2 and "comment number 54" in page2
    assert "comment number 00" not in page2
    assert client.get("/blog/lift-well?page=3").status_code == 404


def test_new_comment_redirects_to_the_page_it_is_on(app, client, article):
    from datetime import timedelta

    from shop.db import utcnow

    old = utcnow() - timedelta(days=1)
    for n in range(50):
        make_comment(article, body=f"c{n}", created_at=old + timedelta(seconds=n))
    response = post_comment(client, "lift-well", comment="new one")
    new = comments()[-1]
    assert response.headers["Location"].endswith(f"/blog/lift-well#comment-{new.id}")
    assert "new one" in text_of(client.get("/blog/lift-well"))


def test_posting_a_comment_runs_a_fixed_number_of_statements(app, client):  # type: ignore[no-untyped-def]
    """The article alone (no author or tags), the duplicate, flood and returning-commenter
    checks, the settings, the insert and its thread, the comment and its page for the redirect."""
    from shop.extensions import db
    from tests.builders.content import make_article, make_box, make_comment
    from tests.helpers import comment_form, count_statements

    make_box()
    article = make_article("budget-post", tags=["a", "b"])
    for n in range(30):
        make_comment(article, body=f"earlier {n}")
    data = comment_form(client, "budget-post", email="first-timer@example.com")
    with count_statements(db.engine) as statements:
        response = client.post("/blog/budget-post/comments", data=data)
    assert response.status_code == 303
    assert len(statements) == 9, "\n".join(statements)
