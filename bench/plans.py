"""What SQL each benchmarked page runs on the full dataset, and PostgreSQL's plans for it.

`capture(url, secret_key, admin_id, customer_id, pages)` builds the shop in this process against
the bench database, requests each page with Flask's test client (anonymous pages without
cookies, admin pages as the dataset's admin, the account page as a customer), and collects every
statement the page runs with its parameters through SQLAlchemy's `before_cursor_execute` event.
Each page is requested twice, and each request timed: the first shows what the page costs to
make; the second what it costs once made (the shared page cache may answer it).

For the pages asked to be explained, each SELECT of the first request runs again under
`EXPLAIN (ANALYZE, BUFFERS)` with the same parameters. The report keeps per page: the statement
counts and request times, the total execution time, the plan of the slowest statements, and
every sequential scan of a large table (over LARGE_TABLE_ROWS rows), because on the full dataset
a full scan of a big table is what makes a page slow as the shop grows. Statements that change
data are counted but never explained (EXPLAIN ANALYZE would run them).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text

LARGE_TABLE_ROWS = 10_000
SLOWEST_SHOWN = 2


@dataclass
class Statement:
    sql: str
    parameters: Any
    plan: str = ""
    execution_ms: float = 0.0
    large_seq_scans: list[str] = field(default_factory=list)


@dataclass
class PagePlans:
    label: str
    path: str
    status: int
    statements: list[Statement]
    second_count: int
    explained: bool
    first_ms: float
    second_ms: float

    @property
    def total_ms(self) -> float:
        return sum(s.execution_ms for s in self.statements)


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    who: str  # "anonymous", "admin" or "customer"
    explain: bool = False


def capture(url: str, secret_key: str, admin_id: int, customer_id: int, pages: list[Page]) -> list[PagePlans]:  # fmt: skip
    """Request each page in-process on the bench database; see the module docstring."""
    from shop import create_app
    from shop.accounts.sessions import (
        ADMIN_SIGNED_IN_AT_KEY,
        CUSTOMER_EPOCH_KEY,
        CUSTOMER_SESSION_KEY,
    )
    from shop.extensions import db

    app = create_app(
        {
            "SHOP_ENV": "testing",
            "SECRET_KEY": secret_key,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "SITE_URL": "http://localhost",
            # This process's own cache (the settings read the environment, not this dict, to
            # choose the default): the second request of a shared page is served from it.
            "PAGE_CACHE_URL": "memory://",
        }
    )
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, Any]] = []

    def collect(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    # Requests are made outside any app context held here: a request reuses an app context
    # already pushed, and with it `g`, where the previous request left its signed-in user.
    results = []
    event.listen(engine, "before_cursor_execute", collect)
    try:
        for page in pages:
            # An anonymous reader's browser brings back no cookie it was not asked to keep;
            # one without any cookie is the visitor the shared page cache serves.
            client = app.test_client(use_cookies=page.who != "anonymous")
            if page.who == "admin":
                with client.session_transaction() as session:
                    session["_user_id"] = f"admin:{admin_id}:0"
                    session["_fresh"] = True
                    session[ADMIN_SIGNED_IN_AT_KEY] = int(time.time())
            elif page.who == "customer":
                with client.session_transaction() as session:
                    session[CUSTOMER_SESSION_KEY] = customer_id
                    session[CUSTOMER_EPOCH_KEY] = 0
            seen.clear()
            asked = time.perf_counter()
            status = client.get(page.path).status_code
            first_ms = (time.perf_counter() - asked) * 1000
            first = list(seen)
            seen.clear()
            asked = time.perf_counter()
            client.get(page.path)
            second_ms = (time.perf_counter() - asked) * 1000
            second = len(seen)
            statements = [Statement(sql, params) for sql, params in first]
            results.append(
                PagePlans(
                    page.label,
                    page.path,
                    status,
                    statements,
                    second,
                    page.explain,
                    first_ms,
                    second_ms,
                )
            )
    finally:
        event.remove(engine, "before_cursor_execute", collect)
    with app.app_context(), engine.connect() as conn:
        for result in results:
            if result.explained:
                for statement in result.statements:
                    _explain(conn, statement)
        conn.rollback()
    return results


def _explain(conn: Any, statement: Statement) -> None:
    if not statement.sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return
    cursor = conn.connection.driver_connection.cursor()
    cursor.execute(
        "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql,
        statement.parameters if statement.parameters else None,
    )
    lines = [row[0] for row in cursor.fetchall()]
    statement.plan = "\n".join(lines)
    timing = re.search(r"Execution Time: ([\d.]+) ms", statement.plan)
    statement.execution_ms = float(timing.group(1)) if timing else 0.0
    for line in lines:
        scan = re.search(r"Seq Scan on (\w+).*rows=(\d+)", line)
        if scan and _table_rows(conn, scan.group(1)) > LARGE_TABLE_ROWS:
            statement.large_seq_scans.append(scan.group(1))


_ROWS: dict[str, int] = {}


def _table_rows(conn: Any, table: str) -> int:
    if table not in _ROWS:
        _ROWS[table] = int(
            conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
            ).scalar()
            or 0
        )
    return _ROWS[table]


def report(results: list[PagePlans]) -> list[str]:
    """Markdown: a table of statements per page, then the explained pages' notable plans."""
    lines = [
        "| page | status | statements (first request) | statements (again) | first request ms "
        "| again ms | SQL execution ms (EXPLAIN ANALYZE) | seq scans of large tables |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        scans = sorted({t for s in r.statements for t in s.large_seq_scans})
        lines.append(
            f"| {r.label} | {r.status} | {len(r.statements)} | {r.second_count} "
            f"| {r.first_ms:.1f} | {r.second_ms:.1f} "
            f"| {f'{r.total_ms:.1f}' if r.explained else '—'} "
            f"| {', '.join(scans) if scans else ('none' if r.explained else '—')} |"
        )
    for r in results:
        if not r.explained:
            continue
        notable = sorted(r.statements, key=lambda s: s.execution_ms, reverse=True)
        shown = [s for s in notable if s.large_seq_scans] or notable[:SLOWEST_SHOWN]
        shown = shown[: max(SLOWEST_SHOWN, len([s for s in notable if s.large_seq_scans]))]
        lines += ["", f"### {r.label} (`{r.path}`)", ""]
        for s in shown:
            lines += [
                f"{s.execution_ms:.2f} ms"
                + (f", seq scan of {', '.join(s.large_seq_scans)}" if s.large_seq_scans else ""),
                "",
                "```sql",
                _one_line(s.sql),
                "```",
                "",
                "```",
                s.plan,
                "```",
                "",
            ]
    return lines


def _one_line(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()
