"""Production settings for gunicorn, which reads ./gunicorn.conf.py by default.

    gunicorn 'shop:create_app()'

Environment: HOST (default 127.0.0.1) and PORT (default 8000) make the bind address;
WEB_CONCURRENCY sets the number of worker processes (default: one per core), GUNICORN_THREADS
the threads in each (default 4), GUNICORN_MAX_REQUESTS recycles workers after that many requests
(default 0: never).
Command-line flags still win over this file.
"""

import multiprocessing
import os

from dotenv import load_dotenv
from gunicorn.glogging import Logger

# The same .env the shop reads, so WEB_CONCURRENCY and friends can live there too.
load_dotenv(override=False)

# gunicorn serves the shop to others; the shop's default, development settings are for this
# computer only. Say which settings you mean rather than fall into those by forgetting.
if not os.environ.get("SHOP_ENV", "").strip():
    raise SystemExit(
        "gunicorn: set SHOP_ENV=production (with its SECRET_KEY, DATABASE_URL and the rest) "
        "before serving the shop; `make run` is the way to run it on this computer."
    )

# Behind a TLS-terminating proxy on the same host: listen on loopback unless told otherwise.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# Workers and threads, for this 2-core machine (measured 2026-11-30 with the benchmark's dataset
# and settings, wrk 3 s per figure, on a shared machine: runs differ by up to a third; `make
# bench` records the chosen settings' figures in bench/results/):
# - One worker process per core. A page is Python work under the GIL, so one process keeps one
#   core busy at most, and PostgreSQL and Redis share the same two cores. More processes only
#   take turns on them and cost ~100 MB each: 4 sync workers served the uncached account page
#   no faster than 2 (37-45 vs 48-53 req/s); they helped a little on cached pages, within the
#   noise of a shared machine.
# - gthread with 4 threads per worker, not sync: a request waiting on Redis (the page cache),
#   PostgreSQL or Stripe (checkout, up to STRIPE_PAGE_TIMEOUT_SECONDS) lets the worker's other
#   threads run, where a sync worker would leave its core idle for the whole wait; and gthread
#   keeps keep-alive connections open, where sync closes each after one response (the bare
#   ceiling app: ~4,900 req/s with 2 x 4 gthread, ~2,900-3,300 with 2 sync). With one thread
#   per worker the shop served less (home 240 vs 450-490 req/s at 16 connections).
# Each worker holds its own database pool and uses at most one connection per thread, so
# workers x threads is the shop's peak number of PostgreSQL connections (2 x 4 = 8 here, well
# under PostgreSQL's 100 with room for the job worker, another instance and psql).
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# A worker silent this long is killed and replaced (with gthread, a wedged worker process, not a
# slow request: requests are bounded by the Stripe, mail and database timeouts instead).
timeout = 30
# On SIGTERM (a deploy) requests in flight get this long to finish: more than a Stripe call
# with its retry, less than a process manager's own patience (systemd waits 90 s).
graceful_timeout = 25
# Idle keep-alive connections from the reverse proxy are closed after this many seconds.
keepalive = 5

# Workers are not recycled after a number of requests unless GUNICORN_MAX_REQUESTS says so
# (then with 10% jitter, so workers never restart together). Measured: recycling every 1,000
# requests cut the bare ceiling app from ~4,900 to ~880 req/s with a p99 of 0.4-0.7 s, because
# the connections that reach a worker while it restarts wait for it, and a restarted shop
# worker starts with cold pools and templates. The shop's workers do not grow: the benchmark
# records each worker's peak and final memory over the whole run (well under 150 MB). Should a
# leak appear, set GUNICORN_MAX_REQUESTS to a large number (e.g. 100000) until it is fixed.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10

# Workers build the app themselves after the fork: no database connection or Redis socket is
# ever shared between processes.
preload_app = False

# Heartbeat files in memory: a slow or full disk must not get healthy workers killed.
# (gunicorn creates its heartbeat files there with mkstemp, so a shared directory is safe.)
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108


class RedactedAccessLogger(Logger):
    """The access log's path (%(U)s) with a sign-in link's token replaced (shop.logs)."""

    def atoms(self, resp, req, environ, request_time):
        from shop.logs import redact_path

        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms["U"] or "")
        return atoms


# Access log without query strings or referrers: the checkout success URL carries
# session_id=cs_..., which is enough to read an order, and a referrer can repeat it. %(U)s is
# the path alone, and a sign-in link's token in a path is redacted; no remote user (%(u)s);
# %(M)s is the time taken in milliseconds.
logger_class = RedactedAccessLogger
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = "info"
