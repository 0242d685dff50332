"""Which writes change which shared pages: the page cache's topics, found from the session.

A flush that inserts, updates or deletes a row of a model in TOPIC_RULES adds the rule's topic to
the session's changed topics (a comment only when it is, or was, approved: a held comment is on
no shared page); an ORM bulk INSERT, UPDATE or DELETE adds its model's topic whatever rows it
touched.
When the transaction commits, those topics get new versions (shop.site.page_cache.bump_topics);
when it rolls back, they are forgotten. Rows written outside the ORM (raw SQL typed into psql)
are not seen: `flask --app shop clear-page-cache` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState

from shop.site.page_cache import BLOG, CATALOGUE, COMMENTS, bump_topics

TOPICS_KEY = "page_topics"


def _comment_shown(comment: Any) -> bool:
    """An approved comment is on its article's page; so was one that just stopped being."""
    from shop.comments.models import CommentStatus

    history = inspect(comment).attrs.status.history
    seen = [*history.added, *history.unchanged, *history.deleted, comment.status]
    return CommentStatus.APPROVED in seen


def _rules() -> list[tuple[type, str, Callable[[Any], bool] | None]]:
    from shop.blog.models import Article, ArticleSlugRedirect, Author, Tag
    from shop.catalog.models import Box, Plan
    from shop.comments.models import Comment
    from shop.comments.settings import CommentSettingsRow

    return [
        (Article, BLOG, None),
        (Author, BLOG, None),
        (Tag, BLOG, None),
        (ArticleSlugRedirect, BLOG, None),
        (Box, CATALOGUE, None),
        (Plan, CATALOGUE, None),
        (Comment, COMMENTS, _comment_shown),
        (CommentSettingsRow, COMMENTS, None),
    ]


TOPIC_RULES: list[tuple[type, str, Callable[[Any], bool] | None]] = []


def _topic_for(instance: Any) -> str | None:
    for model, topic, applies in TOPIC_RULES:
        if isinstance(instance, model) and (applies is None or applies(instance)):
            return topic
    return None


def _after_flush(session: Session, _flush_context: Any) -> None:
    changed: set[str] = set()
    for instance in (*session.new, *session.deleted):
        if (topic := _topic_for(instance)) is not None:
            changed.add(topic)
    for instance in session.dirty:
        if session.is_modified(instance) and (topic := _topic_for(instance)) is not None:
            changed.add(topic)
    if changed:
        session.info.setdefault(TOPICS_KEY, set()).update(changed)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    for rule_model, topic, _applies in TOPIC_RULES:
        if issubclass(model, rule_model):
            state.session.info.setdefault(TOPICS_KEY, set()).add(topic)


def _after_commit(session: Session) -> None:
    topics = session.info.pop(TOPICS_KEY, None)
    if topics and has_app_context():
        bump_topics(current_app._get_current_object(), topics)  # type: ignore[attr-defined]


def _after_rollback(session: Session) -> None:
    session.info.pop(TOPICS_KEY, None)


_watching = False


def watch_sessions() -> None:
    """Listen on Flask-SQLAlchemy's sessions (once per process; every app shares the class)."""
    global _watching
    if _watching:
        return
    TOPIC_RULES.extend(_rules())
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _watching = True
