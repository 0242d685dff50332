"""The production benchmark's dataset: a large shop on PostgreSQL, built with bulk inserts.

`build_dataset(url, scale)` drops and recreates the database named in `url`, creates the schema
(`db.create_all()`), seeds the demo catalogue and articles, imports the client's article from
../shared/content, then inserts, with explicit ids so rows can refer to each other without
round trips (sequences are moved past them afterwards):

- 1,000 published articles (tagged, from one rendered body) — at scale 1;
- the client's article with 2,000 approved comments (every other one a reply);
- 100,000 comments in all, in every status, over the other articles;
- 20,000 customers, one subscription each, the states taken in turn; each with ten shipped
  months of boxes (invoices one per term), this month's box scheduled, and a shipment per
  shipped box: 200,000 shipments;
- 240,000 recorded webhook events;
- a copy of the client's article (same body, its own slug) with 10 approved comments, so the
  page with 2,000 comments can be compared with the same page with 10;
- one admin (BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD) for the admin pages.

Counts are the issue's multiplied by `scale` (the client's article keeps its 2,000 comments).
Returns the counts made and the client's article's slug.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from shop import create_app
from shop.accounts.models import Customer
from shop.accounts.services import create_admin
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    EventOutcome,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.blog.models import Article, ArticleStatus, Tag, article_tags
from shop.blog.services import parse_article_file, save_article
from shop.catalog.models import Plan
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.demo import seed_demo
from shop.extensions import db

CLIENT_ARTICLE = Path(__file__).resolve().parents[2] / "shared/content"
CLIENT_SLUG = "back-pain-isnt-the-end-of-your-training"
CLIENT_COMMENTS = 2000
COPY_SLUG = f"{CLIENT_SLUG}-ten-comments"
COPY_COMMENTS = 10
# Bench-only credentials for a database that lives for the length of the run.
BENCH_ADMIN_EMAIL = "bench-admin@example.com"
BENCH_ADMIN_PASSWORD = "bench-admin-password-not-secret"  # noqa: S105
CHUNK = 5000
# Statuses for the comments on the other articles, in proportion: most approved, a real queue.
OTHER_STATUSES = (
    [CommentStatus.APPROVED] * 14
    + [CommentStatus.PENDING] * 3
    + [CommentStatus.SPAM] * 2
    + [CommentStatus.TRASH]
)
TAGS = [f"topic-{n}" for n in range(20)]


def recreate_database(url: str) -> None:
    """Drop and create the database `url` names (connecting to `postgres` on the same server)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def _bulk(table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start : start + CHUNK])


def build_dataset(url: str, scale: float) -> dict[str, Any]:
    """Build the dataset (see the module docstring); returns what it made, with timings."""
    started = time.perf_counter()
    recreate_database(url)
    app = create_app(
        {
            "SHOP_ENV": "testing",
            "SECRET_KEY": "bench-dataset-secret-key-long-enough-123456",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
        }
    )
    counts: dict[str, Any] = {}
    with app.app_context():
        db.create_all()
        seed_demo()
        client_file = CLIENT_ARTICLE / f"{CLIENT_SLUG}.md"
        client, _ = save_article(parse_article_file(client_file))
        counts["client_article"] = client.slug
        now = utcnow()
        template = db.session.scalar(
            select(Article).where(Article.id != client.id).order_by(Article.id)
        )
        _articles(client.author_id, template, now, scale, counts)
        _comments(client.id, now, scale, counts)
        _client_copy(client, now, counts)
        admin = create_admin(BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD)
        counts["admin_id"] = admin.id
        _business(now, scale, counts)
        _webhook_events(now, scale, counts)
        for table in ("articles", "tags", "comments", "customers", "subscriptions", "invoices",
                      "calendar_boxes", "shipments", "webhook_events"):  # fmt: skip
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
        db.session.commit()
        db.session.execute(text("COMMIT"))
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as conn:
        conn.execute("VACUUM ANALYZE")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def _next_id(model: Any) -> int:
    return (db.session.scalar(select(db.func.max(model.id))) or 0) + 1


def _articles(author_id: int, template: Article, now: Any, scale: float, counts: dict) -> None:
    first_tag = _next_id(Tag)
    _bulk(
        Tag.__table__,
        [{"id": first_tag + n, "slug": slug, "name": slug.title()} for n, slug in enumerate(TAGS)],
    )
    first = _next_id(Article)
    total = max(20, int(1000 * scale))
    rows, links = [], []
    for n in range(total):
        article_id = first + n
        rows.append(
            {
                "id": article_id,
                "slug": f"bench-article-{n}",
                "title": f"Training note {n}: progressive overload without the fuss",
                "excerpt": template.excerpt,
                "body_markdown": template.body_markdown,
                "body_html": template.body_html,
                "reading_minutes": template.reading_minutes,
                "status": ArticleStatus.PUBLISHED,
                # Older than the demo and client articles, one every 12 hours back.
                "published_at": now - timedelta(days=30, hours=12 * n),
                "author_id": author_id,
                "created_at": now - timedelta(days=30, hours=12 * n),
                "updated_at": now - timedelta(days=30, hours=12 * n),
            }
        )
        links += [
            {"article_id": article_id, "tag_id": first_tag + n % len(TAGS)},
            {"article_id": article_id, "tag_id": first_tag + (n * 7 + 3) % len(TAGS)},
        ]
    _bulk(Article.__table__, rows)
    unique_links = {(r["article_id"], r["tag_id"]): r for r in links}
    _bulk(article_tags, list(unique_links.values()))
    counts["articles"] = total
    counts["first_article_id"] = first
    counts["tag"] = TAGS[0]


def _comments(client_id: int, now: Any, scale: float, counts: dict) -> None:
    first = _next_id(Comment)
    rows: list[dict[str, Any]] = []
    start = now - timedelta(days=20)
    for n in range(CLIENT_COMMENTS):
        comment_id = first + n
        parent = None if n % 2 == 0 else comment_id - 1
        rows.append(
            _comment(comment_id, client_id, parent, parent or comment_id, n, start, now)
            | {"status": CommentStatus.APPROVED}
        )
    others = max(0, int(100_000 * scale) - CLIENT_COMMENTS)
    first_article, articles = counts["first_article_id"], counts["articles"]
    for n in range(others):
        comment_id = first + CLIENT_COMMENTS + n
        status = OTHER_STATUSES[n % len(OTHER_STATUSES)]
        row = _comment(comment_id, first_article + n % articles, None, comment_id, n, start, now)
        row["status"] = status
        if status == CommentStatus.TRASH:
            row["status_before_trash"] = CommentStatus.PENDING
        rows.append(row)
    _bulk(Comment.__table__, rows)
    counts["comments"] = len(rows)
    counts["client_comments"] = CLIENT_COMMENTS


def _client_copy(client: Article, now: Any, counts: dict) -> None:
    """The client's article under another slug, a day older, with COPY_COMMENTS approved ones."""
    copy_id = _next_id(Article)
    _bulk(
        Article.__table__,
        [
            {
                "id": copy_id,
                "slug": COPY_SLUG,
                "title": client.title,
                "excerpt": client.excerpt,
                "body_markdown": client.body_markdown,
                "body_html": client.body_html,
                "reading_minutes": client.reading_minutes,
                "hero_image_path": client.hero_image_path,
                "hero_image_alt": client.hero_image_alt,
                "status": ArticleStatus.PUBLISHED,
                "published_at": client.published_at - timedelta(days=1),
                "author_id": client.author_id,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    _bulk(article_tags, [{"article_id": copy_id, "tag_id": tag.id} for tag in client.tags])
    first = _next_id(Comment)
    start = now - timedelta(days=20)
    _bulk(
        Comment.__table__,
        [
            _comment(first + n, copy_id, None if n % 2 == 0 else first + n - 1,
                     first + n - n % 2, n, start, now)
            | {"status": CommentStatus.APPROVED}
            for n in range(COPY_COMMENTS)
        ],
    )  # fmt: skip
    counts["client_copy"] = COPY_SLUG
    counts["client_copy_comments"] = COPY_COMMENTS


def _comment(
    comment_id: int, article_id: int, parent: int | None, thread: int, n: int, start: Any, now: Any
) -> dict[str, Any]:
    created = min(now, start + timedelta(seconds=17 * n))
    return {
        "id": comment_id,
        "article_id": article_id,
        "parent_id": parent,
        "thread_id": thread,
        "depth": 0 if parent is None else 1,
        "author_name": f"Reader {n}",
        "author_email": f"reader{n % 5000}@example.com",
        "author_url": "",
        "body": f"Comment {n}: deadlifts twice a week and my back has never felt better.",
        "status_reasons": ["bench"],
        "fingerprint": f"bench-{comment_id}",
        "is_staff_reply": False,
        "ip_address": f"10.0.{n % 250}.{n % 200}",
        "user_agent": "Mozilla/5.0 (bench)",
        "created_at": created,
        "updated_at": created,
    }


def _business(now: Any, scale: float, counts: dict) -> None:
    plans = db.session.execute(
        select(Plan.id, Plan.box_id, Plan.term_months, Plan.price_cents)
    ).all()
    statuses = list(SubscriptionStatus)
    customers = max(10, int(20_000 * scale))
    months_shipped = 10
    this_month = now.strftime("%Y-%m")

    def month(back: int) -> str:
        year, mon = now.year, now.month - back
        while mon <= 0:
            mon += 12
            year -= 1
        return f"{year:04d}-{mon:02d}"

    cust, subs, invoices, boxes, shipments = [], [], [], [], []
    invoice_id = box_id = 0
    for n in range(customers):
        cid = n + 1
        plan = plans[n % len(plans)]
        address = {
            "name": f"Customer {n}",
            "line1": f"{n} George Street",
            "line2": "",
            "city": "Sydney",
            "state": "NSW",
            "postal_code": "2000",
            "country": "AU",
        }
        started = now - timedelta(days=31 * (months_shipped + 1))
        cust.append(
            {"id": cid, "email": f"customer{n}@example.com", "name": f"Customer {n}",
             "stripe_customer_id": f"cus_bench{n}", "created_at": started, "updated_at": started}
            | {f"shipping_{k}": v for k, v in address.items()}
        )  # fmt: skip
        status = statuses[n % len(statuses)]
        subs.append(
            {"id": cid, "stripe_subscription_id": f"sub_bench{n}", "stripe_customer_id":
             f"cus_bench{n}", "customer_id": cid, "plan_id": plan.id, "status": status,
             "current_period_start": now - timedelta(days=10),
             "current_period_end": now + timedelta(days=20), "cancel_at_period_end": False,
             "created_at": started, "updated_at": started}
            | {f"ship_to_{k}": v for k, v in address.items()}
        )  # fmt: skip
        term = plan.term_months
        for k in range(months_shipped + 1):  # ten shipped months, then this month's box
            back = months_shipped - k
            if k % term == 0:
                invoice_id += 1
                invoices.append(
                    {"id": invoice_id, "stripe_invoice_id": f"in_bench{invoice_id}",
                     "subscription_id": cid, "plan_id": plan.id, "status": "paid",
                     "amount_due_cents": plan.price_cents, "amount_paid_cents": plan.price_cents,
                     "currency": "aud", "period_start": now - timedelta(days=31 * back),
                     "period_end": now - timedelta(days=31 * (back - term)),
                     "paid_at": now - timedelta(days=31 * back),
                     "created_at": now - timedelta(days=31 * back)}
                )  # fmt: skip
            box_id += 1
            ship_month = month(back)
            boxes.append(
                {"id": box_id, "subscription_id": cid, "customer_id": cid,
                 "invoice_id": invoice_id, "plan_id": plan.id, "box_id": plan.box_id,
                 "ship_month": ship_month, "sequence": k % term + 1, "term_months": term,
                 "status": BoxStatus.SCHEDULED, "created_at": now - timedelta(days=31 * back),
                 "updated_at": now - timedelta(days=31 * back)}
            )  # fmt: skip
            if ship_month != this_month:
                shipped_at = now - timedelta(days=31 * back - 3)
                shipments.append(
                    {"id": box_id, "calendar_box_id": box_id, "invoice_id": invoice_id,
                     "subscription_id": cid, "customer_id": cid, "box_id": plan.box_id,
                     "plan_id": plan.id, "ship_month": ship_month,
                     "status": ShipmentStatus.SHIPPED, "carrier": "Australia Post",
                     "tracking_number": f"AP{box_id:010d}", "packed_at": shipped_at,
                     "shipped_at": shipped_at, "shipped_email_sent_at": shipped_at,
                     "created_at": shipped_at, "updated_at": shipped_at}
                    | {f"ship_to_{k2}": v for k2, v in address.items()}
                )  # fmt: skip
    _bulk(Customer.__table__, cust)
    _bulk(Subscription.__table__, subs)
    _bulk(Invoice.__table__, invoices)
    _bulk(CalendarBox.__table__, boxes)
    _bulk(Shipment.__table__, shipments)
    counts |= {
        "customers": len(cust),
        "subscriptions": len(subs),
        "invoices": len(invoices),
        "calendar_boxes": len(boxes),
        "shipments": len(shipments),
    }


def _webhook_events(now: Any, scale: float, counts: dict) -> None:
    total = max(10, int(240_000 * scale))
    customers = counts["customers"]
    types = ["invoice.paid", "customer.subscription.updated", "checkout.session.completed",
             "invoice.payment_failed", "customer.subscription.deleted", "charge.refunded"]  # fmt: skip
    rows = []
    for n in range(total):
        at = now - timedelta(seconds=120 * (total - n))
        sub = f"sub_bench{n % customers}"
        event_type = types[n % len(types)]
        outcome = (
            EventOutcome.IGNORED
            if event_type == "charge.refunded"
            else EventOutcome.FAILED
            if n % 997 == 0
            else EventOutcome.PROCESSED
        )
        rows.append(
            {"id": n + 1, "stripe_event_id": f"evt_bench{n}", "type": event_type,
             "api_version": "2026-10-28.endive", "stripe_created_at": at,
             "payload": {"id": f"evt_bench{n}", "type": event_type,
                         "data": {"object": {"id": sub, "object": "subscription"}}},
             "received_at": at, "processed_at": at, "outcome": outcome,
             "error": "bench: handler failed" if outcome == EventOutcome.FAILED else None,
             "attempts": 1, "next_attempt_at": at, "object_id": sub,
             "stripe_subscription_id": sub}
        )  # fmt: skip
    _bulk(WebhookEvent.__table__, rows)
    counts["webhook_events"] = total
