"""Production settings for gunicorn, which reads ./gunicorn.conf.py by default.

    gunicorn 'shop:create_app()'

Environment: HOST (default 127.0.0.1) and PORT (default 8000) make the bind address;
WEB_CONCURRENCY sets the number of worker processes; GUNICORN_THREADS the threads in each.
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

# Each worker holds its own database pool and uses at most one connection per thread, so
# workers x threads is the shop's peak number of PostgreSQL connections (capped at 8 x 4 = 32
# by default, well under PostgreSQL's 100 with room for the job worker and psql).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))

# Threads, so one request waiting on Stripe (up to STRIPE_TIMEOUT_SECONDS) or on a slow database
# does not hold up every other page served by its worker.
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

# Replace each worker after about a thousand requests, at staggered times, so a slow leak never
# grows without end and workers never all restart together.
max_requests = 1000
max_requests_jitter = 100

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
