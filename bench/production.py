"""The production benchmark: the shop as production serves it, against a bare-Flask ceiling.

`make bench` (or `python -m bench.production`):

1. builds the large dataset on PostgreSQL (bench.dataset; database `bench`, dropped and made
   again each run; BENCH_SCALE multiplies the issue's sizes, default 1) and empties the bench's
   Redis databases (12 rate limits, 13 jobs, 14 the shared page cache);
2. requests every page once in-process (bench.plans): the SQL each one runs, and for the admin
   pages and the client's article PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of it on the dataset;
3. serves the shop with gunicorn under the shop's own gunicorn.conf.py and production settings
   (SHOP_ENV=production, Redis for rate limits, jobs and the page cache), with the file's own
   worker count, class and threads: the bench overrides only what production may set in the
   environment (the comment limits, raised so one machine can post as many visitors);
4. fetches each anonymous page from the shop, then serves those bytes from memory with a bare
   Flask app (bench.ceiling) under the same gunicorn settings: the ceiling;
5. drives both with wrk from a separate process on loopback, BENCH_SECONDS per run, at 16 and
   64 connections (admin pages also at 1: one admin's wait), BENCH_ROUNDS rounds, shop and
   ceiling interleaved so drift hits both. Signed-in customers, comment posters and webhook
   events are distinct per request (bench.visitors, sent by bench/requests.lua), and what the
   shop answered is counted by status: comments/s are the POSTs answered 2xx or 3xx (a 303 to
   the comment, or a page), events/s the deliveries acknowledged 2xx;
6. samples each gunicorn worker's peak and current RSS (VmHWM, VmRSS in /proc) while it runs;
7. writes bench/results/<date>-<time>-production.md: machine, commit, scale, every round,
   medians, ratio to the ceiling, statement counts, query plans, and the issue's targets met
   or not, by how much.

It measures; it never fails because a target is missed (the results say so). It is bounded:
the whole run (dataset included) takes about 6 minutes on the 2-core machine at the defaults.
"""

# It runs fixed local programs (gunicorn, wrk, psql, git) with fixed, bench-only settings.
# ruff: noqa: S105, S106, S603, S607

from __future__ import annotations

import json
import math
import os
import platform
import re
import secrets
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import plans, visitors
from bench.dataset import BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD, build_dataset

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")
LUA = Path(__file__).with_name("requests.lua")
# The servers' logs of the last run, kept for a look after it (the run's own folder goes).
LOGS = Path(tempfile.gettempdir()) / "musclebox-bench"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
)
REDIS = "redis://127.0.0.1:6379"
RATE_LIMIT_DB, JOBS_DB, PAGE_CACHE_DB = 12, 13, 14
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
# The whole run stays under 10 minutes: a round that would end past this is not started (the
# results say how many rounds ran).
BUDGET_SECONDS = int(os.environ.get("BENCH_BUDGET_SECONDS", "570"))
CONNECTIONS = (16, 64)
# An admin page's own latency is one admin waiting for it; 16 and 64 admins at once are shown
# as well, but the target is judged with one.
ADMIN_CONNECTIONS = (1, 16, 64)
WRK_THREADS = 2
SHOP_PORT, CEILING_PORT = 8101, 8102
BOOT_SECONDS = 3
# Fixed, bench-only secrets: this shop listens on loopback for the length of the run.
SECRET_KEY = "bench-production-secret-key-0123456789-abcdefghijklmnop"
WEBHOOK_SECRET = "whsec_bench_production_webhook_secret"
# Distinct requests made for each scripted run: more than the fastest rate seen, so a run
# never wraps round to a duplicate (the results count wraps, should one happen).
MAX_EVENTS_PER_SECOND = 2500
MAX_COMMENTS_PER_SECOND = 1500
CUSTOMERS_SIGNED_IN = 5000
COMMENT_VISITORS = 200
# The targets.
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_WORKER_MB = 150.0
TARGET_ADMIN_P50_MS = 200.0
TARGET_COMMENTS_PER_SECOND = 200.0
TARGET_EVENTS_PER_SECOND = 300.0
TARGET_COMMENT_PAGES_SPREAD = 0.2


@dataclass
class Run:
    """One wrk run: requests/s, p50 and p99 in ms, responses other than 2xx/3xx (and socket
    timeouts); for scripted runs the count per status code and how often a thread wrapped."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    wraps: int = 0

    def accepted_rps(self, accepted: Callable[[int], bool]) -> float:
        total = sum(self.statuses.values())
        if not total:
            return 0.0
        return self.rps * sum(n for s, n in self.statuses.items() if accepted(s)) / total


def ok_page(status: int) -> bool:
    return status == 200


def ok_comment(status: int) -> bool:
    return 200 <= status < 400


def ok_event(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class Scenario:
    """One thing measured. `requests` (scripted scenarios) makes a run's raw requests from a
    count and a run id; without it wrk sends a plain GET of `path`."""

    label: str
    path: str
    kind: str  # page, account, comment, webhook, admin
    ceiling: bool = False
    connections: tuple[int, ...] = CONNECTIONS
    requests: Callable[[int, str], list[str]] | None = None
    count: int = 0
    unit: str = "req/s"
    accepted: Callable[[int], bool] = ok_page
    runs: dict[tuple[str, int], list[Run]] = field(default_factory=dict)

    def median(self, server: str, connections: int, key: str) -> float:
        return statistics.median(getattr(r, key) for r in self.runs[(server, connections)])

    def median_accepted(self, connections: int) -> float:
        return statistics.median(
            r.accepted_rps(self.accepted) for r in self.runs[("shop", connections)]
        )


def production_env(tmp: Path) -> dict[str, str]:
    """The environment production requires, pointed at this machine's PostgreSQL and Redis.

    Stripe: a test-mode key (no page measured calls Stripe; STRIPE_API_BASE, the emulator, is
    refused in production, so it is unset) and the webhook secret the bench signs events with.
    Mail: an SMTP URL on loopback, used only by jobs, which are not run here. Comments: limits
    raised so that the visitors of one machine (one IP address) can each post, at once.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BENCH_DB"))}
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS"):
        env.pop(name, None)  # gunicorn.conf.py's own choices, as production gets them
    env.update(
        SHOP_ENV="production",
        SECRET_KEY=SECRET_KEY,
        SITE_URL="https://shop.example",
        DATABASE_URL=DATABASE_URL,
        RATELIMIT_STORAGE_URI=f"{REDIS}/{RATE_LIMIT_DB}",
        JOB_QUEUE_URL=f"{REDIS}/{JOBS_DB}",
        PAGE_CACHE_URL=f"{REDIS}/{PAGE_CACHE_DB}",
        STRIPE_SECRET_KEY="sk_test_bench_not_used_by_page_views",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        MAIL_URL="smtp://127.0.0.1:1025",
        MEDIA_DIR=str(tmp / "media"),
        COMMENT_RATE_LIMIT="1000000 per minute",
        COMMENT_FLOOD_SECONDS="0",
        COMMENT_MIN_SECONDS="0",
        # Behind a proxy, as production is: each comment poster comes from its own address
        # (X-Forwarded-For), as distinct visitors do, instead of all from 127.0.0.1.
        TRUSTED_PROXY_COUNT="1",
        HOST="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    return env


def flush_redis() -> None:
    """Empty the bench's Redis databases: no limit, job or cached page from an earlier run."""
    import redis

    for number in (RATE_LIMIT_DB, JOBS_DB, PAGE_CACHE_DB):
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()


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
        except urllib.error.HTTPError:
            pass  # it answers (the ceiling has no /healthz)
        except OSError:
            time.sleep(0.3)
            continue
        # One worker answers; the others may still be loading the app, and a connection that
        # reaches a worker while it boots waits for it (seconds, not milliseconds).
        time.sleep(BOOT_SECONDS)
        return process
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

    def close(self) -> list[tuple[int, float, float | None]]:
        """Each worker process seen: (pid, peak RSS, RSS at the end if still alive), in MB.
        gunicorn's max_requests may have replaced some during the run."""
        self._stop.set()
        self._thread.join()
        alive = set(self._children())
        return [
            (pid, peak, self.last.get(pid) if pid in alive else None)
            for pid, peak in sorted(self.peaks.items())
        ]


def wrk(url: str, connections: int, seconds: int = SECONDS, requests: Path | None = None) -> Run:
    """One bounded wrk run against `url`; with `requests`, bench/requests.lua sends that file's
    requests (and counts the answers by status)."""
    threads = min(WRK_THREADS, connections)  # wrk needs a connection per thread
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s", url]
    if requests is not None:
        command[-1:-1] = ["-s", str(LUA)]
        command += ["--", str(requests), visitors.SEPARATOR.replace("\n", "\\n"), str(threads)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    completed = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    statuses = re.search(r"^bench-statuses ?(.*)$", out, re.M)
    wraps = re.search(r"^bench-wraps (\d+)$", out, re.M)
    return Run(
        rps=rps,
        # No request finished within the run: its latency is longer than the run, not zero.
        p50_ms=_latency_ms(out, "50%") if completed else math.inf,
        p99_ms=_latency_ms(out, "99%") if completed else math.inf,
        errors=(int(errors.group(1)) if errors else 0)
        + (int(socket_errors.group(1)) if socket_errors else 0),
        statuses={
            int(code): int(n)
            for code, n in (
                part.split("=") for part in (statuses.group(1).split() if statuses else [])
            )
        },
        wraps=int(wraps.group(1)) if wraps else 0,
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
        ["git", "status", "--porcelain", "--", "shop", "templates", "static", "gunicorn.conf.py"],
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
        "commit": commit
        + (" (shop/templates/static/gunicorn.conf.py modified, uncommitted)" if dirty else ""),
    }


def gunicorn_settings(env: dict[str, str]) -> dict[str, str]:
    """The worker settings gunicorn.conf.py gives under this environment (as the run used)."""
    probe = (
        "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('workers', 'worker_class', 'threads', "
        "'max_requests', 'max_requests_jitter', 'accesslog', 'keepalive')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return {k: str(v) for k, v in json.loads(out).items()}


def build_scenarios(counts: dict, last: int, tmp: Path) -> list[Scenario]:
    slug, copy = counts["client_article"], counts["client_copy"]
    # Comments go to an article no other scenario reads (their moderation queue grows).
    comment_slug = "bench-article-1"
    customers = [(n % counts["customers"]) + 1 for n in range(CUSTOMERS_SIGNED_IN)]
    account = visitors.account_requests(
        SHOP_PORT, visitors.customer_cookies(SECRET_KEY, [(cid, 0) for cid in customers])
    )
    comment_visitors = visitors.fetch_comment_visitors(SHOP_PORT, comment_slug, COMMENT_VISITORS)
    cookie = visitors.admin_cookie(SHOP_PORT, BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD)

    def admin(label: str, path: str) -> Scenario:
        request = visitors.raw_request("GET", path, SHOP_PORT, {"Cookie": f"session={cookie}"})
        return Scenario(
            label,
            path,
            "admin",
            connections=ADMIN_CONNECTIONS,
            requests=lambda count, run: [request] * WRK_THREADS,
        )

    return [
        Scenario("home", "/", "page", ceiling=True),
        Scenario("a box page", "/boxes/protein-musclebox", "page", ceiling=True),
        Scenario("blog index", "/blog/", "page", ceiling=True),
        Scenario("the client's article (page 1)", f"/blog/{slug}", "page", ceiling=True),
        Scenario(
            f"its last comment page ({last})", f"/blog/{slug}?page={last}", "page", ceiling=True
        ),
        Scenario("the same article with 10 comments", f"/blog/{copy}", "page", ceiling=True),
        Scenario("a tag page", f"/blog/tag/{counts['tag']}", "page", ceiling=True),
        Scenario("the feed", "/feed.xml", "page", ceiling=True),
        Scenario(
            "account page (signed in, distinct customers)",
            "/account/",
            "account",
            requests=lambda count, run: account,
        ),
        admin("admin comment queue (pending)", "/admin/comments"),
        admin("admin dashboard", "/admin/"),
        admin("admin shipments (this month)", "/admin/shipments"),
        admin("admin subscriptions list", "/admin/subscriptions"),
        Scenario(
            "comment POST (distinct visitors)",
            f"/blog/{comment_slug}/comments",
            "comment",
            requests=lambda count, run: visitors.comment_requests(
                SHOP_PORT, comment_slug, comment_visitors, count, run
            ),
            count=MAX_COMMENTS_PER_SECOND,
            unit="comments/s",
            accepted=ok_comment,
        ),
        Scenario(
            "webhook POST (distinct signed events)",
            "/webhooks/stripe",
            "webhook",
            requests=lambda count, run: visitors.webhook_requests(
                SHOP_PORT, WEBHOOK_SECRET, counts["subscriptions"], count, run
            ),
            count=MAX_EVENTS_PER_SECOND,
            unit="events/s",
            accepted=ok_event,
        ),
    ]


def plan_pages(scenarios: list[Scenario], counts: dict) -> list[plans.Page]:
    """The pages whose SQL is captured; admin pages and the client's article are explained."""
    pages = []
    for s in scenarios:
        if s.kind in {"comment", "webhook"}:
            continue
        who = {"admin": "admin", "account": "customer"}.get(s.kind, "anonymous")
        explain = s.kind == "admin" or s.path == f"/blog/{counts['client_article']}"
        pages.append(plans.Page(s.label, s.path, who, explain))
    return pages


def settle(port: int, limit: float = 60.0) -> float:
    """Wait until the server has worked off what the last run left queued; the seconds waited.

    wrk stops after its duration, but the requests its connections had sent are still queued
    in the workers (64 slow admin pages are seconds of work), and would slow the next run.
    /healthz answers at the end of a worker's queue; each probe is a new connection that either
    worker may take, so the server counts as idle after IDLE_PROBES quick answers in a row (one
    quick answer may only mean the other worker is the busy one).
    """
    started = time.monotonic()
    quick = 0
    while time.monotonic() - started < limit and quick < IDLE_PROBES:
        asked = time.monotonic()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=limit)
        except urllib.error.HTTPError:
            pass
        except OSError:
            pass
        quick = quick + 1 if time.monotonic() - asked < 0.05 else 0
    return time.monotonic() - started


IDLE_PROBES = 8


def run_scenario(scenario: Scenario, connections: int, tmp: Path, run_id: str, seconds: int) -> tuple[Run, Run | None]:  # fmt: skip
    """One run of the shop (and of the ceiling, when the scenario has one)."""
    url = f"http://127.0.0.1:{SHOP_PORT}{scenario.path}"
    if scenario.requests is not None:
        made = scenario.requests(max(scenario.count * seconds, 1), run_id)
        file = visitors.write_requests(tmp / f"requests-{run_id}.txt", made)
        shop = wrk(url, connections, seconds, file)
        file.unlink()
    else:
        shop = wrk(url, connections, seconds)
    settle(SHOP_PORT)
    ceiling = None
    if scenario.ceiling:
        ceiling = wrk(f"http://127.0.0.1:{CEILING_PORT}{scenario.path}", connections, seconds)
        settle(CEILING_PORT)
    return shop, ceiling


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    # The commit the servers load (they start in a minute); others may commit during the run.
    at_start = machine()["commit"]
    print(f"dataset: building at scale {SCALE} ...", flush=True)
    counts = build_dataset(DATABASE_URL, SCALE)
    print(f"dataset: {counts}", flush=True)
    flush_redis()
    slug = counts["client_article"]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = production_env(tmp)
        settings = gunicorn_settings(env)
        shop = serve("shop:create_app()", SHOP_PORT, env, tmp / "shop.log")
        shop_memory = PeakMemory(shop.pid)
        ceiling = None
        last_round, rounds_done = 0.0, 0
        try:
            last = last_comment_page(SHOP_PORT, slug)
            scenarios = build_scenarios(counts, last, tmp)
            print("plans: capturing each page's SQL in-process ...", flush=True)
            captured = plans.capture(
                DATABASE_URL, SECRET_KEY, counts["admin_id"], 1, plan_pages(scenarios, counts)
            )
            pages: dict[str, dict[str, str]] = {}
            sizes: dict[str, int] = {}
            for scenario in scenarios:
                if scenario.kind != "page":
                    continue
                status, content_type, body = fetch(SHOP_PORT, scenario.path)
                if status != 200:
                    raise SystemExit(f"{scenario.path} answered {status}; see {tmp / 'shop.log'}")
                pages[scenario.path] = {"content_type": content_type, "body": body}
                sizes[scenario.path] = len(body.encode())
            (tmp / "pages.json").write_text(json.dumps(pages))
            ceiling = serve("bench.ceiling:app", CEILING_PORT, env | {"BENCH_PAGES": str(tmp / "pages.json")}, tmp / "ceiling.log")  # fmt: skip
            for scenario in scenarios:  # warm-up: templates compiled, pools and caches filled
                run_scenario(scenario, CONNECTIONS[0], tmp, f"w{secrets.token_hex(3)}", 1)
            for round_number in range(1, ROUNDS + 1):
                round_started = time.monotonic()
                if round_number > 1 and round_started - started + last_round > BUDGET_SECONDS:
                    print(f"round {round_number}: not started, it would end past the budget")
                    break
                for scenario in scenarios:
                    for connections in scenario.connections:
                        run_id = f"r{round_number}c{connections}{secrets.token_hex(3)}"
                        shop_run, ceiling_run = run_scenario(scenario, connections, tmp, run_id, SECONDS)  # fmt: skip
                        scenario.runs.setdefault(("shop", connections), []).append(shop_run)
                        report = [("shop", shop_run)]
                        if ceiling_run is not None:
                            scenario.runs.setdefault(("ceiling", connections), []).append(ceiling_run)  # fmt: skip
                            report.append(("ceiling", ceiling_run))
                        for server, run in report:
                            rate = run.accepted_rps(scenario.accepted) if run.statuses else run.rps
                            print(
                                f"round {round_number} {scenario.label[:40]:40} c{connections:<3} "
                                f"{server:8} {rate:8.1f} {scenario.unit:10} p50 {_ms(run.p50_ms):>7} ms  "
                                f"p99 {_ms(run.p99_ms):>7} ms  errors {run.errors}"
                                + (f"  statuses {run.statuses}" if run.statuses else "")
                                + (f"  WRAPPED {run.wraps}" if run.wraps else ""),
                                flush=True,
                            )
                last_round = time.monotonic() - round_started
                rounds_done = round_number
        finally:
            memory = shop_memory.close()
            stop(shop)
            if ceiling is not None:
                stop(ceiling)
            LOGS.mkdir(exist_ok=True)
            for log in ("shop.log", "ceiling.log"):
                if (tmp / log).exists():
                    shutil.copy(tmp / log, LOGS / log)
    elapsed = time.monotonic() - started
    host = machine()
    if host["commit"] != at_start:
        host["commit"] = f"{at_start} when the run started, {host['commit']} when it ended"
    host |= {
        # Other work on the machine shares its two cores with the run: the load says how much.
        "load average (1 min) before / after the run": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    }
    path = write_results(
        scenarios, counts, sizes, memory, captured, settings, elapsed, rounds_done, host
    )
    print(f"results: {path.relative_to(ROOT)} ({elapsed:.0f} s in all); server logs in {LOGS}")
    return 0


def _ms(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else f"none in {SECONDS} s"


def _met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def write_results(
    scenarios: list[Scenario],
    counts: dict,
    sizes: dict[str, int],
    memory: list[tuple[int, float, float | None]],
    captured: list[plans.PagePlans],
    settings: dict[str, str],
    elapsed: float,
    rounds: int,
    host: dict[str, str],
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    now = time.gmtime()
    path = RESULTS / f"{time.strftime('%Y-%m-%d-%H%M', now)}-production.md"
    lines = [
        f"# Production benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', now)}",
        "",
        "`make bench` (bench/production.py). The shop under gunicorn with its own "
        "gunicorn.conf.py and SHOP_ENV=production (PostgreSQL; Redis for rate limits db 12, jobs "
        "db 13, the page cache db 14; access log on), comment limits raised for the run. The "
        "ceiling: a bare Flask app (bench/ceiling.py) under the same gunicorn settings returning "
        "the same pages' bytes from memory. wrk -t2 on loopback from a separate process, "
        f"{SECONDS} s per run, {rounds} round(s) of {ROUNDS} asked, shop and ceiling interleaved, after a 1 s "
        "warm-up of each scenario. Figures are medians over the rounds.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in host.items()),
        "- gunicorn: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
        f"- scale: BENCH_SCALE={SCALE:g}",
        f"- whole run: {elapsed:.0f} s (dataset {counts['seconds']} s)",
        "",
        "## Dataset",
        "",
        *(
            f"- {key}: {value:,}" if isinstance(value, int) else f"- {key}: {value}"
            for key, value in counts.items()
            if key not in {"first_article_id", "seconds", "admin_id"}
        ),
        "",
        "## Results (medians)",
        "",
        "Rates are requests/s, except comments/s (POSTs answered 2xx or 3xx) and events/s "
        "(deliveries answered 2xx). Errors: responses other than 2xx/3xx and timeouts, summed "
        "over the rounds (for the account and admin pages, anything but 200).",
        "",
        "| scenario | bytes | c | shop rate | ceiling req/s | ratio | shop p50 ms | shop p99 ms "
        "| ceiling p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        for c in s.connections:
            rate = s.median_accepted(c) if s.requests else s.median("shop", c, "rps")
            shop_runs = s.runs[("shop", c)]
            if s.requests:
                errors = sum(
                    n
                    for r in shop_runs
                    for status, n in r.statuses.items()
                    if not s.accepted(status)
                ) + sum(r.errors for r in shop_runs if not r.statuses)
            else:
                errors = sum(r.errors for r in shop_runs)
            ceiling = ratio = ceiling_p99 = "—"
            if s.ceiling:
                ceiling_rps = s.median("ceiling", c, "rps")
                errors += sum(r.errors for r in s.runs[("ceiling", c)])
                ceiling, ratio = f"{ceiling_rps:,.0f}", f"{rate / ceiling_rps:.2f}"
                ceiling_p99 = _ms(s.median("ceiling", c, "p99_ms"))
            wraps = sum(r.wraps for r in shop_runs if s.kind in {"comment", "webhook"})
            lines.append(
                f"| {s.label} | {f'{sizes[s.path]:,}' if s.path in sizes else '—'} | {c} | {rate:,.0f} {s.unit} "
                f"| {ceiling} | {ratio} | {_ms(s.median('shop', c, 'p50_ms'))} "
                f"| {_ms(s.median('shop', c, 'p99_ms'))} | {ceiling_p99} | {errors}"
                + (f" ({wraps} wrapped: duplicates sent)" if wraps else "")
                + " |"
            )
    lines += ["", "## Targets (issue 10)", "", *_targets(scenarios, memory, captured)]
    lines += [
        "",
        "## Worker memory",
        "",
        "Each shop worker process seen over the whole run: its peak RSS (VmHWM) and its RSS "
        "when the run ended. "
        + (
            f"gunicorn's max_requests replaced workers after {settings['max_requests']} "
            f"requests (± {settings['max_requests_jitter']})."
            if settings.get("max_requests", "0") != "0"
            else "gunicorn.conf.py does not recycle workers (max_requests=0): the same two "
            "served every request of the run."
        ),
        "",
        "| worker pid | peak RSS MB | RSS at the end MB |",
        "|---:|---:|---:|",
        *(
            f"| {pid} | {peak:.0f} | {f'{final:.0f}' if final is not None else 'replaced'} |"
            for pid, peak, final in memory
        ),
        "",
        "## SQL per page and query plans (full dataset, in-process)",
        "",
        "Each page requested twice in-process with the bench settings (page cache in memory): "
        "the statements of the first request and of the second (the page cache may serve that "
        "one), and for the admin pages and the client's article the total execution time of "
        "their SELECTs under EXPLAIN (ANALYZE, BUFFERS), any sequential scan of a table of more "
        f"than {plans.LARGE_TABLE_ROWS:,} rows, and the plans of the slowest statements.",
        "",
        *plans.report(captured),
        "",
        "## Every round",
        "",
        "| scenario | c | server | round | rate | p50 ms | p99 ms | errors | statuses |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for s in scenarios:
        for c in s.connections:
            for server in ("shop", "ceiling"):
                for n, r in enumerate(s.runs.get((server, c), []), 1):
                    rate = r.accepted_rps(s.accepted) if r.statuses else r.rps
                    statuses = " ".join(f"{k}x{v}" for k, v in sorted(r.statuses.items()))
                    lines.append(
                        f"| {s.label} | {c} | {server} | {n} | {rate:,.1f} | {_ms(r.p50_ms)} "
                        f"| {_ms(r.p99_ms)} | {r.errors} | {statuses} |"
                    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _targets(
    scenarios: list[Scenario],
    memory: list[tuple[int, float, float | None]],
    captured: list[plans.PagePlans],
) -> list[str]:
    """The issue's targets against the medians: met or not, and by how much."""
    by_kind = {s.kind: s for s in scenarios if s.kind not in {"page", "admin"}}
    lines = [
        "| target | measured | met |",
        "|---|---:|---|",
    ]
    for s in scenarios:
        if s.kind != "page" or "10 comments" in s.label:
            continue
        ratio = s.median("shop", 16, "rps") / s.median("ceiling", 16, "rps")
        p99 = s.median("shop", 16, "p99_ms")
        lines.append(
            f"| {s.label}: ≥ {TARGET_RATIO}x the ceiling's req/s at 16 connections "
            f"| {ratio:.2f}x ({ratio / TARGET_RATIO:.0%} of the target) | {_met(ratio >= TARGET_RATIO)} |"
        )
        lines.append(
            f"| {s.label}: p99 < {TARGET_P99_MS:.0f} ms at 16 connections | {_ms(p99)} ms "
            f"| {_met(p99 < TARGET_P99_MS)} |"
        )
    full = next(s for s in scenarios if s.label.startswith("the client's article"))
    ten = next(s for s in scenarios if "10 comments" in s.label)
    for c in CONNECTIONS:
        slower = 1 - full.median("shop", c, "rps") / ten.median("shop", c, "rps")
        lines.append(
            f"| the article with 2,000 comments within {TARGET_COMMENT_PAGES_SPREAD:.0%} of the "
            f"same page with 10 (req/s, {c} connections) "
            f"| {abs(slower):.0%} {'slower' if slower > 0 else 'faster'} "
            f"({full.median('shop', c, 'rps'):,.0f} vs {ten.median('shop', c, 'rps'):,.0f} req/s) "
            f"| {_met(slower <= TARGET_COMMENT_PAGES_SPREAD)} |"
        )
    made = {page.label: page for page in captured}
    if full.label in made and ten.label in made:
        lines.append(
            "| (for comparison, not the target: the same two pages rendered without the page "
            f"cache, in-process, one request each) | {made[full.label].first_ms:.0f} vs "
            f"{made[ten.label].first_ms:.0f} ms | — |"
        )
    for s in scenarios:
        if s.kind != "admin":
            continue
        for c in (1, 16):
            p50 = s.median("shop", c, "p50_ms")
            lines.append(
                f"| {s.label}: p50 < {TARGET_ADMIN_P50_MS:.0f} ms ({c} connection{'s' if c > 1 else ''}) "
                f"| {_ms(p50)} ms | {_met(p50 < TARGET_ADMIN_P50_MS)} |"
            )
    for kind, target in (("webhook", TARGET_EVENTS_PER_SECOND), ("comment", TARGET_COMMENTS_PER_SECOND)):  # fmt: skip
        s = by_kind[kind]
        for c in CONNECTIONS:
            rate = s.median_accepted(c)
            lines.append(
                f"| {s.label}: ≥ {target:.0f} {s.unit} ({c} connections) | {rate:,.0f} {s.unit} "
                f"({rate / target:.0%} of the target) | {_met(rate >= target)} |"
            )
    finals = [final for _, _, final in memory if final is not None]
    peak = max((p for _, p, _ in memory), default=0.0)
    final = max(finals, default=0.0)
    lines.append(
        f"| worker memory < {TARGET_WORKER_MB:.0f} MB after the run (largest worker) "
        f"| {final:.0f} MB (peak {peak:.0f} MB) | {_met(final < TARGET_WORKER_MB and peak < TARGET_WORKER_MB)} |"
    )
    return lines


if __name__ == "__main__":
    sys.exit(main())
