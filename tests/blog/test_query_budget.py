"""The article page runs the same number of SQL statements whatever its comment count.

tests/site/test_statement_counts.py holds every public page to a fixed count on a small and a
large shop; this test grows one article's comments under a visitor's own held comment.
`count_statements` is re-exported here for the tests that import it from this module.
"""

from __future__ import annotations

from tests.builders.content import make_article, make_box, make_comment
from tests.helpers import count_statements, post_comment, statements_of_get

__all__ = ["count_statements"]


def test_article_page_query_count_does_not_grow_with_comments(app, client):
    make_box()
    article = make_article("budget", tags=["a", "b"])
    post_comment(client, "budget", comment="my own held comment")
    make_comment(article, body="the first approved comment")
    few = len(statements_of_get(client, "/blog/budget"))

    for n in range(40):
        parent = make_comment(article, body=f"top {n}")
        reply = make_comment(article, body=f"reply {n}", parent=parent)
        make_comment(article, body=f"deeper {n}", parent=reply)
    many = len(statements_of_get(client, "/blog/budget"))
    assert many == few
    # 9: the comment settings (per page, one row read per request) joined the 8 of before.
    assert many <= 9
