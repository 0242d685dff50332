"""Page benchmarks: in-process requests against a SQLite file seeded with a busy blog.

Run with `make bench`. Each scenario runs a bounded number of requests and prints the median
and 95th-percentile latency, requests per second and peak Python memory per request.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from shop import create_app
from shop.blog.services import ArticleSource, save_article
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.demo import seed_demo
from shop.extensions import db

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
RESULTS = Path(__file__).with_name("RESULTS.md")
# Targets for one in-process request on the 2-core reference machine.
TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 100.0
TARGET_PEAK_KIB = 5 * 1024
COMMENTS = 1000  # approved comments on the busy article (20 pages of 50 top-level threads)


def seed_busy_blog() -> None:
    seed_demo()
    article, _ = save_article(
        ArticleSource(
            title="A busy article",
            slug="busy",
            body_markdown="Lift.\n\n" * 200,
            author_name="Mia Harper",
            tags=("busy",),
        )
    )
    article_id = article.id
    start = utcnow() - timedelta(days=5)
    previous_id: int | None = None
    for n in range(COMMENTS):
        # Every other comment replies to the one before it (ids start at 1).
        parent_id = None if n % 2 == 0 else previous_id
        comment = Comment(
            article_id=article_id,
            parent_id=parent_id,
            thread_id=parent_id,
            depth=0 if parent_id is None else 1,
            author_name=f"Reader {n}",
            author_email=f"reader{n}@example.com",
            body=f"Comment {n} with a link https://example.com/{n}",
            status=CommentStatus.APPROVED,
            status_reasons=["bench"],
            created_at=start + timedelta(minutes=n),
        )
        db.session.add(comment)
        db.session.flush()
        if comment.thread_id is None:
            comment.thread_id = comment.id
        previous_id = comment.id
    db.session.commit()


def measure(client, path: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Latency over REQUESTS requests, then peak traced memory over a few more.

    Memory is traced in a separate pass because tracemalloc slows every allocation.
    """
    for _ in range(10):  # warm-up
        assert client.get(path).status_code == 200, path
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    timings.sort()

    tracemalloc.start()
    peak = 0
    for _ in range(5):
        tracemalloc.reset_peak()
        client.get(path)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    return {
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "rps": len(timings) / sum(timings),
        "peak_kib": peak / 1024,
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SHOP_ENV": "testing",
                "SECRET_KEY": "bench-secret-key-long-enough-for-the-shop-123",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            seed_busy_blog()
        client = app.test_client()
        rows: list[tuple[str, dict[str, float]]] = []
        for label, path in [
            ("home", "/"),
            ("blog index", "/blog/"),
            ("box page with plans", "/boxes/protein-musclebox"),
            ("article, 1000 comments (page 1)", "/blog/busy"),
            ("article, 1000 comments (page 10)", "/blog/busy?page=10"),
            ("feed", "/feed.xml"),
            ("sitemap", "/sitemap.xml"),
        ]:
            result = measure(client, path)
            rows.append((label, result))
            print(
                f"{label:36} median {result['median_ms']:6.2f} ms  p95 {result['p95_ms']:6.2f} ms"
                f"  {result['rps']:7.1f} req/s  peak {result['peak_kib']:8.1f} KiB",
                flush=True,
            )
    failures = [
        label
        for label, r in rows
        if r["median_ms"] > TARGET_MEDIAN_MS
        or r["p95_ms"] > TARGET_P95_MS
        or r["peak_kib"] > TARGET_PEAK_KIB
    ]
    _record(rows, failures)
    print("all targets met" if not failures else f"targets missed: {', '.join(failures)}")
    return 1 if failures else 0


def _record(rows: list[tuple[str, dict[str, float]]], failures: list[str]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite file, "
        f"{REQUESTS} in-process requests per page after 10 warm-up requests.",
        "",
        f"Targets per page: median ≤ {TARGET_MEDIAN_MS:.0f} ms, p95 ≤ {TARGET_P95_MS:.0f} ms, "
        f"peak traced memory ≤ {TARGET_PEAK_KIB // 1024} MiB per request.",
        "",
        "| page | median ms | p95 ms | req/s | peak KiB |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {label} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['rps']:.1f} | "
            f"{r['peak_kib']:.1f} |"
            for label, r in rows
        ),
        "",
        "All targets met." if not failures else f"Targets missed: {', '.join(failures)}.",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
