"""The production benchmark: the shop as production serves it, against a bare-Flask ceiling.

`make bench` (or `python -m bench.production`):

1. builds the large dataset on PostgreSQL (bench.dataset; database `bench`, dropped and made
   again each run; BENCH_SCALE multiplies the issue's sizes, default 1);
2. serves the shop with gunicorn under the shop's own gunicorn.conf.py and production settings
   (SHOP_ENV=production, Redis for rate limits and jobs), WEB_CONCURRENCY=2 gthread workers of
   GUNICORN_THREADS=4 threads: one process per core because the work per page is Python under
   the GIL, and the file's threads because that is how production ships (a request waiting on
   PostgreSQL or Redis lets the worker's other threads run);
3. fetches each scenario's page from the shop, then serves those bytes from memory with a bare
   Flask app (bench.ceiling) under the same gunicorn settings: the ceiling;
4. drives both with wrk from a separate process on loopback, BENCH_SECONDS per scenario, at 16
   and 64 connections, BENCH_ROUNDS rounds (shop and ceiling interleaved, so drift hits both);
5. samples each gunicorn worker's peak RSS (VmHWM in /proc) while it runs;
6. writes bench/results/<date>-production.md: machine, commit, scale, every round, medians,
   ratio to the ceiling, and the issue's targets met or not.

It measures; it never fails because a target is missed (the results say so).
"""

# It runs fixed local programs (gunicorn, wrk, psql, git) with fixed, bench-only settings.
# ruff: noqa: S106, S603, S607

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.dataset import build_dataset

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
)
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = (16, 64)
SHOP_PORT, CEILING_PORT = 8101, 8102
WORKERS, THREADS = 2, 4
# The targets for anonymous pages at 16 connections.
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_WORKER_MB = 150.0
MISSING = [
    "account page (signed in)",
    "comment POST (distinct visitors)",
    "webhook POST (distinct signed events)",
    "admin comment queue, dashboard, shipments and subscriptions list (p50 and query plans)",
    "the client's article with 10 comments (for the 2,000-vs-10 comparison)",
    "query counts per page",
]


@dataclass
class Run:
    """One wrk run: requests/s, p50 and p99 in ms, and responses other than 2xx/3xx."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Scenario:
    label: str
    path: str
    runs: dict[tuple[str, int], list[Run]] = field(default_factory=dict)

    def median(self, server: str, connections: int, key: str) -> float:
        return statistics.median(getattr(r, key) for r in self.runs[(server, connections)])


def production_env(tmp: Path) -> dict[str, str]:
    """The environment production requires, pointed at this machine's PostgreSQL and Redis.

    Stripe: a test-mode key and webhook secret that are never used by the pages measured (no
    page view calls Stripe); STRIPE_API_BASE (the emulator) is refused in production, so it is
    unset. Mail: an SMTP URL on loopback, used only by jobs, which are not run here.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BENCH_DB"))}
    # Fixed, bench-only secrets: this shop listens on loopback for the length of the run.
    env.update(
        SHOP_ENV="production",
        SECRET_KEY="bench-production-secret-key-0123456789-abcdefghijklmnop",
        SITE_URL="https://shop.example",
        DATABASE_URL=DATABASE_URL,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/12",
        JOB_QUEUE_URL="redis://127.0.0.1:6379/13",
        STRIPE_SECRET_KEY="sk_test_bench_not_used_by_page_views",
        STRIPE_WEBHOOK_SECRET="whsec_bench_not_used_by_page_views",
        MAIL_URL="smtp://127.0.0.1:1025",
        MEDIA_DIR=str(tmp / "media"),
        WEB_CONCURRENCY=str(WORKERS),
        GUNICORN_THREADS=str(THREADS),
        HOST="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    return env


def serve(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with the shop's gunicorn.conf.py serving `app` on `port`; waits until it answers."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", app],
        cwd=ROOT,
        env=env | {"PORT": str(port)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return process
        except urllib.error.HTTPError:
            return process  # it answers (the ceiling has no /healthz)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn {app} did not answer on port {port}; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


class PeakMemory:
    """Samples the peak RSS (VmHWM) of each worker process of a gunicorn master, in MB."""

    def __init__(self, master_pid: int) -> None:
        self.master_pid = master_pid
        self.peaks: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _children(self) -> list[int]:
        path = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in self._children():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
                rss = re.search(r"VmRSS:\s+(\d+) kB", status)
                if hwm:
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(hwm.group(1)) / 1024)
                if rss:
                    self.last[pid] = int(rss.group(1)) / 1024
            self._stop.wait(0.5)

    def close(self) -> tuple[float, float, int]:
        """Largest peak over all workers seen, largest RSS of the workers alive at the end,
        and how many worker processes were seen (max_requests replaces them during the run)."""
        self._stop.set()
        self._thread.join()
        alive = self._children()
        final = max((self.last.get(pid, 0.0) for pid in alive), default=0.0)
        return max(self.peaks.values(), default=0.0), final, len(self.peaks)


def wrk(url: str, connections: int, seconds: int = SECONDS) -> Run:
    """One bounded wrk run (2 threads, --latency) against `url`."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    return Run(
        rps=rps,
        p50_ms=_latency_ms(out, "50%"),
        p99_ms=_latency_ms(out, "99%"),
        errors=(int(errors.group(1)) if errors else 0)
        + (int(socket_errors.group(1)) if socket_errors else 0),
    )


def _latency_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def fetch(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), ""


def last_comment_page(port: int, slug: str) -> int:
    """The highest ?page= of the article that answers 200 (pages past the last do not)."""
    low, high = 1, 2
    while fetch(port, f"/blog/{slug}?page={high}")[0] == 200 and high < 4096:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if fetch(port, f"/blog/{slug}?page={middle}")[0] == 200:
            low = middle
        else:
            high = middle
    return low


def machine() -> dict[str, str]:
    postgres = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "shop", "templates", "static"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "postgres": postgres,
        "kernel": platform.release(),
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n")[0],
        "commit": commit + (" (shop/templates/static modified)" if dirty else ""),
    }


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    started = time.monotonic()
    print(f"dataset: building at scale {SCALE} ...", flush=True)
    counts = build_dataset(DATABASE_URL, SCALE)
    print(f"dataset: {counts}", flush=True)
    slug = counts["client_article"]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = production_env(tmp)
        shop = serve("shop:create_app()", SHOP_PORT, env, tmp / "shop.log")
        last = last_comment_page(SHOP_PORT, slug)
        scenarios = [
            Scenario("home", "/"),
            Scenario("a box page", "/boxes/protein-musclebox"),
            Scenario("blog index", "/blog/"),
            Scenario("the client's article (page 1)", f"/blog/{slug}"),
            Scenario(f"its last comment page ({last})", f"/blog/{slug}?page={last}"),
            Scenario("a tag page", f"/blog/tag/{counts['tag']}"),
            Scenario("the feed", "/feed.xml"),
        ]
        pages: dict[str, dict[str, str]] = {}
        sizes: dict[str, int] = {}
        for scenario in scenarios:
            status, content_type, body = fetch(SHOP_PORT, scenario.path)
            if status != 200:
                stop(shop)
                raise SystemExit(f"{scenario.path} answered {status}; see {tmp / 'shop.log'}")
            pages[scenario.path] = {"content_type": content_type, "body": body}
            sizes[scenario.path] = len(body.encode())
        (tmp / "pages.json").write_text(json.dumps(pages))
        ceiling = serve("bench.ceiling:app", CEILING_PORT, env | {"BENCH_PAGES": str(tmp / "pages.json")}, tmp / "ceiling.log")  # fmt: skip
        shop_memory = PeakMemory(shop.pid)
        try:
            for scenario in scenarios:  # warm-up: templates compiled, pools and caches filled
                for port in (SHOP_PORT, CEILING_PORT):
                    wrk(f"http://127.0.0.1:{port}{scenario.path}", CONNECTIONS[0], seconds=1)
            for round_number in range(1, ROUNDS + 1):
                for scenario in scenarios:
                    for connections in CONNECTIONS:
                        for server, port in (("shop", SHOP_PORT), ("ceiling", CEILING_PORT)):
                            run = wrk(f"http://127.0.0.1:{port}{scenario.path}", connections)
                            scenario.runs.setdefault((server, connections), []).append(run)
                            print(
                                f"round {round_number} {scenario.label:34} c{connections:<3} "
                                f"{server:8} {run.rps:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  "
                                f"p99 {run.p99_ms:7.1f} ms  errors {run.errors}",
                                flush=True,
                            )
        finally:
            peak_mb, final_mb, workers_seen = shop_memory.close()
            stop(shop)
            stop(ceiling)
    elapsed = time.monotonic() - started
    path = write_results(
        scenarios, counts, sizes, (peak_mb, final_mb, workers_seen), elapsed, machine()
    )
    print(f"results: {path.relative_to(ROOT)} ({elapsed:.0f} s in all)")
    return 0


def write_results(
    scenarios: list[Scenario],
    counts: dict,
    sizes: dict[str, int],
    memory: tuple[float, float, int],
    elapsed: float,
    host: dict[str, str],
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    path = RESULTS / f"{day}-production.md"
    peak_mb, final_mb, workers_seen = memory
    lines = [
        f"# Production benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "`make bench` (bench/production.py). The shop under gunicorn with its own "
        f"gunicorn.conf.py and SHOP_ENV=production: {WORKERS} gthread workers x {THREADS} threads, "
        "PostgreSQL, Redis (rate limits db 12, jobs db 13), access log on. The ceiling: a bare "
        "Flask app (bench/ceiling.py) under the same gunicorn settings returning the same pages' "
        "bytes from memory. wrk -t2 on loopback from a separate process, "
        f"{SECONDS} s per scenario per connection count per server, {ROUNDS} round(s), shop and "
        "ceiling interleaved, after a 1 s warm-up of each page on each. Figures are medians over "
        "the rounds.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in host.items()),
        f"- scale: BENCH_SCALE={SCALE:g}",
        f"- whole run: {elapsed:.0f} s (dataset {counts['seconds']} s)",
        "",
        "## Dataset",
        "",
        *(
            f"- {key}: {value:,}" if isinstance(value, int) else f"- {key}: {value}"
            for key, value in counts.items()
            if key not in {"first_article_id", "seconds"}
        ),
        "",
        "## Results (medians)",
        "",
        "| page | bytes | c | shop req/s | ceiling req/s | ratio | shop p50 ms | shop p99 ms "
        "| ceiling p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        for c in CONNECTIONS:
            shop_rps, ceiling_rps = s.median("shop", c, "rps"), s.median("ceiling", c, "rps")
            errors = sum(r.errors for r in s.runs[("shop", c)] + s.runs[("ceiling", c)])
            lines.append(
                f"| {s.label} | {sizes[s.path]:,} | {c} | {shop_rps:,.0f} | {ceiling_rps:,.0f} "
                f"| {shop_rps / ceiling_rps:.2f} | {s.median('shop', c, 'p50_ms'):.1f} "
                f"| {s.median('shop', c, 'p99_ms'):.1f} | {s.median('ceiling', c, 'p99_ms'):.1f} "
                f"| {errors} |"
            )
    lines += [
        "",
        "## Targets (issue 10) at 16 connections",
        "",
        f"Anonymous pages: at least {TARGET_RATIO}x the ceiling's requests/s and p99 under "
        f"{TARGET_P99_MS:.0f} ms. Worker memory under {TARGET_WORKER_MB:.0f} MB.",
        "",
        "| page | ratio | met | p99 ms | met |",
        "|---|---:|---|---:|---|",
    ]
    for s in scenarios:
        ratio = s.median("shop", 16, "rps") / s.median("ceiling", 16, "rps")
        p99 = s.median("shop", 16, "p99_ms")
        lines.append(
            f"| {s.label} | {ratio:.2f} | {'yes' if ratio >= TARGET_RATIO else 'NO'} "
            f"| {p99:.1f} | {'yes' if p99 < TARGET_P99_MS else 'NO'} |"
        )
    lines += [
        "",
        f"Shop worker memory: peak RSS {peak_mb:.0f} MB over {workers_seen} worker processes "
        f"(gunicorn's max_requests={1000}±100 replaces workers during the run); largest RSS of "
        f"the workers alive at the end {final_mb:.0f} MB — target under {TARGET_WORKER_MB:.0f} MB: "
        f"{'met' if peak_mb < TARGET_WORKER_MB else 'NOT met'}.",
        "",
        "## Every round",
        "",
        "| page | c | server | round | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        for c in CONNECTIONS:
            for server in ("shop", "ceiling"):
                for n, r in enumerate(s.runs[(server, c)], 1):
                    lines.append(
                        f"| {s.label} | {c} | {server} | {n} | {r.rps:,.1f} | {r.p50_ms:.1f} "
                        f"| {r.p99_ms:.1f} | {r.errors} |"
                    )
    lines += [
        "",
        "## Not measured yet",
        "",
        *(f"- {item}" for item in MISSING),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
