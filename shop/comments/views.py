"""Posting a comment on an article."""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, redirect, request, session, url_for
from sqlalchemy import func

from shop.blog.queries import commentable_article, published_article
from shop.blog.views import OWN_COMMENTS_SESSION_KEY, render_article
from shop.comments.cookies import read_commenter_cookie, seconds_since_stamp, write_commenter_cookie
from shop.comments.forms import CommentForm
from shop.comments.models import Comment, CommentStatus
from shop.comments.queries import approved_top_level
from shop.comments.rendering import avatar_colour, comment_html, initials
from shop.comments.services import CommentInput, CommentRejected, Visitor, submit_comment
from shop.comments.settings import comments_per_page
from shop.db import utcnow
from shop.extensions import client_ip, csrf, db, limiter
from shop.site.params import as_id

bp = Blueprint("comments", __name__)

MAX_OWN_COMMENTS_IN_SESSION = 50


def _comment_rate_limit() -> str:
    return current_app.config["COMMENT_RATE_LIMIT"]


def _too_many_comments(limit: object) -> Response | None:
    """Over the per-IP limit: the article again, the visitor's text kept, with the reason."""
    article = db.session.scalar(
        published_article((request.view_args or {}).get("slug", ""), utcnow())
    )
    if article is None:
        return None
    return render_article(
        article,
        CommentForm(),
        status=429,
        form_message=(
            "You've posted a lot of comments in a short time. Please wait a few minutes, "
            "then post again — your comment is kept below."
        ),
    )


@bp.post("/blog/<slug>/comments")
@limiter.limit(_comment_rate_limit, methods=["POST"], on_breach=_too_many_comments)
# The form checks its own CSRF token in validate(), so a stale token re-renders the form with
# the visitor's text kept instead of throwing it away on a bare error page.
@csrf.exempt
def post(slug: str) -> Response:
    article = db.one_or_404(commentable_article(slug, utcnow()))
    slug = article.slug  # read now: the commit below expires the article
    form = CommentForm()
    if not form.validate():
        return render_article(article, form, status=400)

    cookie = read_commenter_cookie()
    try:
        comment = submit_comment(
            article,
            CommentInput(
                body=form.comment.data or "",
                author_name=form.author.data or "",
                author_email=form.email.data or "",
                author_url=form.url.data or "",
                parent_id=as_id(form.parent_id.data),
                honeypot=form.mb_trap.data or "",
                seconds_since_render=seconds_since_stamp(form.rendered_at.data),
            ),
            Visitor(
                ip_address=client_ip(),
                user_agent=request.user_agent.string,
                cookie_comment_ids=tuple(cookie.comment_ids),
            ),
        )
    except CommentRejected as rejection:
        return render_article(
            article, form, status=rejection.status_code, form_message=str(rejection)
        )

    own = [*session.get(OWN_COMMENTS_SESSION_KEY, []), comment.id]
    session[OWN_COMMENTS_SESSION_KEY] = own[-MAX_OWN_COMMENTS_IN_SESSION:]

    page = _page_of_thread(comment)
    response = redirect(
        url_for("blog.article", slug=slug, page=page if page > 1 else None)
        + f"#comment-{comment.id}",
        code=303,
    )
    cookie.comment_ids.append(comment.id)
    cookie.name, cookie.email, cookie.url = (
        comment.author_name,
        comment.author_email,
        comment.author_url,
    )
    write_commenter_cookie(response, cookie, remember=bool(form.remember.data))
    return response


def _page_of_thread(comment: Comment) -> int:
    """The page of approved top-level comments where this comment is shown."""
    approved = approved_top_level(comment.article_id).with_only_columns(func.count()).order_by(None)
    per_page = comments_per_page()
    if comment.parent_id is None and comment.status != CommentStatus.APPROVED:
        # The author's own held comment is listed after the approved ones, on the last page.
        total = db.session.scalar(approved) or 0
        return max(1, math.ceil(total / per_page))
    before = db.session.scalar(approved.where(Comment.id < (comment.thread_id or comment.id))) or 0
    return before // per_page + 1


bp.add_app_template_filter(comment_html, "comment_html")
bp.add_app_template_filter(initials, "initials")
bp.add_app_template_filter(avatar_colour, "avatar_colour")
