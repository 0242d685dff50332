"""Click commands: ``stripe-emulator`` (serve it) and ``stripe-clock`` (move its clock).

They are not registered here; the shop adds them to its ``flask`` CLI.

A running emulator with a state file announces its URL in a file beside that state
(``stripe-emulator.sqlite3`` -> ``stripe-emulator-url``: JSON with the URL and the serving
process's id), removed when it stops. An announcement counts only while its process lives
and an emulator answers at its URL (``GET /_emulator/clock``, asked only of an ``http://``
loopback address): a file left by a killed process, whose id another process may now have, is
stale and ignored. ``stripe-clock`` without ``--url`` talks to the emulator announced beside
``<instance folder>/stripe-emulator.sqlite3`` (where ``make run`` keeps it), else to
``$STRIPE_API_BASE``, else to ``DEFAULT_URL``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import click
from flask import current_app, has_app_context
from werkzeug.serving import run_simple

DEFAULT_URL = "http://127.0.0.1:12111"
DEFAULT_STATE_NAME = "stripe-emulator.sqlite3"
# How long asking an announced URL whether it is an emulator may take: it is a local server.
PROBE_SECONDS = 2.0
# The emulator refuses to move its clock by more than ten years at once.
MAX_ADVANCE_DAYS = 3650
WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 (names, not binds)


def http_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets (``http://[::1]:5000``)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def reachable_url(host: str, port: int) -> str:
    """The URL to announce for a server bound to ``host``: one listening on every interface is
    reached on the loopback one."""
    if host in WILDCARD_HOSTS:
        host = "::1" if host == "::" else "127.0.0.1"
    return http_url(host, port)


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is plain http on this machine's loopback (127.0.0.1, localhost, ::1)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme != "http" or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def running_url_file(state_path: str | os.PathLike[str]) -> Path:
    """Where the emulator serving ``state_path`` announces its URL."""
    state = Path(state_path)
    return state.with_name(f"{state.stem}-url")


def announce_running_url(state_path: str | os.PathLike[str], url: str) -> Path:
    """Record that this process serves ``state_path`` at ``url``; returns the file written."""
    path = running_url_file(state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    partial.replace(path)
    return path


def withdraw_running_url(state_path: str | os.PathLike[str]) -> None:
    """Remove this process's announcement (one written by another process stays)."""
    path = running_url_file(state_path)
    if _read_announcement(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


class Announced(NamedTuple):
    """An emulator announced beside a state file whose announcement is not known to be stale.

    ``confirmed`` is True when an emulator answered at ``url``; False when its process lives but
    that could not be checked (the URL is not a loopback http one, so it is never asked, or
    nothing answered in time): whoever relies on the file being stale must not assume it is.
    """

    file: Path
    url: str
    confirmed: bool


def announced_emulator(
    state_path: str | os.PathLike[str], *, others_only: bool = False
) -> Announced | None:
    """The emulator announced beside ``state_path``; None when there is no announcement or it
    is stale (unreadable, its process gone, or nothing but a non-emulator at its URL).

    ``others_only`` ignores an announcement bearing this process's id: before a process
    announces anything, such a file was left by a killed process whose id was reused.
    """
    file = running_url_file(state_path)
    announced = _read_announcement(file)
    url, pid = announced.get("url"), announced.get("pid")
    if not (isinstance(url, str) and isinstance(pid, int) and _process_alive(pid)):
        return None
    if others_only and pid == os.getpid():
        return None
    if not is_loopback_http(url):
        return Announced(file, url, confirmed=False)
    answer = _probe(url)
    if answer is None:
        return Announced(file, url, confirmed=False)
    return Announced(file, url, confirmed=True) if answer else None


def _probe(url: str) -> bool | None:
    """Whether an emulator answers at ``url``: True, False (refused, or something else
    answered), or None (no answer in time: a busy emulator looks like that)."""
    try:
        with urllib.request.urlopen(  # noqa: S310 (a loopback http URL, checked by the caller)
            f"{url.rstrip('/')}/_emulator/clock", timeout=PROBE_SECONDS
        ) as response:
            answer = json.loads(response.read(4096))
    except TimeoutError:
        return None
    except urllib.error.URLError as exc:
        return None if isinstance(exc.reason, TimeoutError) else False
    except (OSError, ValueError):
        return False
    return isinstance(answer, dict) and isinstance(answer.get("now"), int)


def running_url(state_path: str | os.PathLike[str], *, others_only: bool = False) -> str | None:
    """The URL of the emulator serving ``state_path``, if one announced itself and answers
    there as an emulator (see `announced_emulator`)."""
    found = announced_emulator(state_path, others_only=others_only)
    return found.url if found and found.confirmed else None


def _read_announcement(path: Path) -> dict[str, object]:
    try:
        announced = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return announced if isinstance(announced, dict) else {}


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def emulator_url(given: str | None = None) -> str:
    """The emulator ``stripe-clock`` talks to (see the module docstring for the order)."""
    if given:
        return given
    if has_app_context():
        found = running_url(Path(current_app.instance_path) / DEFAULT_STATE_NAME)
        if found:
            return found
    return os.environ.get("STRIPE_API_BASE", "").strip() or DEFAULT_URL


@click.command("stripe-emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=12111, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file that keeps the emulator's state across restarts.",
)
@click.option(
    "--public-url",
    default=None,
    help="Base URL for hosted page links (default: the request's host).",
)
@click.option(
    "--forward-to",
    default=None,
    help="Register a webhook endpoint receiving every event at this URL.",
)
@click.option(
    "--webhook-secret",
    default=None,
    envvar="STRIPE_WEBHOOK_SECRET",
    help="Signing secret (whsec_...) for --forward-to; default: generated and printed.",
)
def stripe_emulator_command(
    host: str,
    port: int,
    state_path: str | None,
    public_url: str | None,
    forward_to: str | None,
    webhook_secret: str | None,
) -> None:
    """Serve the offline Stripe emulator (API at /v1, dashboard at /_emulator/)."""
    from .app import create_emulator_app
    from .core import ProductionRefused

    try:
        app = create_emulator_app(state_path=state_path, public_base_url=public_url)
    except ProductionRefused as exc:
        raise click.ClickException(str(exc)) from exc
    if forward_to:
        try:
            endpoint = app.extensions["stripe_emulator"].ensure_webhook_endpoint(
                forward_to, webhook_secret
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--webhook-secret") from exc
        click.echo(f"Forwarding every event to {forward_to}, signed with {endpoint['secret']}")
    click.echo(
        f"Stripe emulator on {http_url(host, port)} (dashboard: /_emulator/); "
        f"state: {state_path or 'in memory'}"
    )
    if state_path:
        announce_running_url(state_path, reachable_url(host, port))
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        app.extensions["stripe_emulator"].close()
        if state_path:
            withdraw_running_url(state_path)


@click.group("stripe-clock")
def stripe_clock_command() -> None:
    """Read or advance the emulator's clock (like a Stripe test clock)."""


class _Amount(click.ParamType):
    """A finite number from 0 to ``maximum`` (click's FloatRange lets ``nan`` through)."""

    name = "number"

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number.", param, ctx)
        if not math.isfinite(number) or not 0 <= number <= self.maximum:
            self.fail(f"{value} is not a number from 0 to {self.maximum:g}.", param, ctx)
        return number


def _error_message(body: bytes) -> str | None:
    """The emulator's own one-line error (``{"error": {"message": ...}}``), if that is what
    ``body`` holds."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return " ".join(message.split()) if isinstance(message, str) and message.strip() else None


def _call(url: str, method: str = "GET", data: dict[str, str] | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
    not_emulator = "is this the emulator? Give the emulator's address with --url."
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        message = _error_message(exc.read(65536))
        if message:
            raise click.ClickException(f"The emulator refused: {message}") from exc
        raise click.ClickException(
            f"{url} answered HTTP {exc.code} {exc.reason}: {not_emulator}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"Cannot reach the emulator at {url}: {exc}. Is `make run` running? "
            "Otherwise give the emulator's address with --url."
        ) from exc
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise click.ClickException(f"{url} answered something other than JSON: {not_emulator}")
    return answer


URL_HELP = (
    "The emulator's base URL (default: the one `make run` started, else $STRIPE_API_BASE, "
    f"else {DEFAULT_URL})."
)


@stripe_clock_command.command("show")
@click.option("--url", default=None, help=URL_HELP)
def show_clock(url: str | None) -> None:
    """Print the emulator's current time."""
    result = _call(f"{emulator_url(url).rstrip('/')}/_emulator/clock")
    click.echo(f"{result['iso']} ({result['now']})")


@stripe_clock_command.command("advance")
@click.option(
    "--days", type=_Amount(MAX_ADVANCE_DAYS), default=0, help="Days to advance (at most 3650)."
)
@click.option("--hours", type=_Amount(MAX_ADVANCE_DAYS * 24), default=0, help="Hours to advance.")
@click.option(
    "--seconds",
    type=click.IntRange(0, MAX_ADVANCE_DAYS * 86400),
    default=0,
    help="Seconds to advance.",
)
@click.option("--url", default=None, help=URL_HELP)
def advance_clock(days: float, hours: float, seconds: int, url: str | None) -> None:
    """Advance the clock; renewals, payment retries and expiries that fall due are processed."""
    total = int(days * 86400 + hours * 3600 + seconds)
    if total <= 0:
        raise click.BadParameter("give a positive --days, --hours or --seconds")
    if total > MAX_ADVANCE_DAYS * 86400:
        raise click.BadParameter(f"advance by at most {MAX_ADVANCE_DAYS} days at once")
    result = _call(
        f"{emulator_url(url).rstrip('/')}/_emulator/clock/advance", "POST", {"seconds": str(total)}
    )
    click.echo(f"Clock now {result['now']}; processed {result['processed']} due item(s).")
