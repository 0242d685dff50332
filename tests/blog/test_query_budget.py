"""The article page runs the same number of SQL statements whatever its comment count."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from shop.extensions import db
from tests.builders.content import make_article, make_box, make_comment
from tests.helpers import post_comment


@contextmanager
def count_statements(engine):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _statements_for(client, path: str) -> int:  # type: ignore[no-untyped-def]
    with count_statements(db.engine) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_article_page_query_count_does_not_grow_with_comments(app, client):
    make_box()
    article = make_article("budget", tags=["a", "b"])
    post_comment(client, "budget", comment="my own held comment")
    make_comment(article, body="the first approved comment")
    few = _statements_for(client, "/blog/budget")

    for n in range(40):
        parent = make_comment(article, body=f"top {n}")
        reply = make_comment(article, body=f"reply {n}", parent=parent)
        make_comment(article, body=f"deeper {n}", parent=reply)
    many = _statements_for(client, "/blog/budget")
    assert many == few
    # 9: the comment settings (per page, one row read per request) joined the 8 of before.
    assert many <= 9
