"""Click commands: ``stripe-emulator`` (serve it) and ``stripe-clock`` (move its clock).

They are not registered here; the shop adds them to its ``flask`` CLI.

A running emulator with a state file announces its URL in a file beside that state
(``stripe-emulator.sqlite3`` -> ``stripe-emulator-url``: JSON with the URL and the serving
process's id), removed when it stops. ``stripe-clock`` without ``--url`` talks to the emulator
announced beside ``<instance folder>/stripe-emulator.sqlite3`` (where ``make run`` keeps it) if
its process is alive, else to ``$STRIPE_API_BASE``, else to ``DEFAULT_URL``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click
from flask import current_app, has_app_context
from werkzeug.serving import run_simple

DEFAULT_URL = "http://127.0.0.1:12111"
DEFAULT_STATE_NAME = "stripe-emulator.sqlite3"


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


def running_url(state_path: str | os.PathLike[str], *, others_only: bool = False) -> str | None:
    """The URL of the emulator serving ``state_path``, if one announced itself and still runs.

    ``others_only`` ignores an announcement bearing this process's id: before a process
    announces anything, such a file was left by a killed process whose id was reused.
    """
    announced = _read_announcement(running_url_file(state_path))
    url, pid = announced.get("url"), announced.get("pid")
    if not (isinstance(url, str) and isinstance(pid, int) and _process_alive(pid)):
        return None
    if others_only and pid == os.getpid():
        return None
    return url


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
        f"Stripe emulator on http://{host}:{port} (dashboard: /_emulator/); "
        f"state: {state_path or 'in memory'}"
    )
    if state_path:
        # Listening on every interface: it is reached on the loopback one.
        reachable = "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104
        announce_running_url(state_path, f"http://{reachable}:{port}")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        app.extensions["stripe_emulator"].close()
        if state_path:
            withdraw_running_url(state_path)


@click.group("stripe-clock")
def stripe_clock_command() -> None:
    """Read or advance the emulator's clock (like a Stripe test clock)."""


def _call(url: str, method: str = "GET", data: dict[str, str] | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise click.ClickException(exc.read().decode("utf-8", "replace")) from exc
    except OSError as exc:
        raise click.ClickException(
            f"Cannot reach the emulator at {url}: {exc}. Is `make run` running? "
            "Otherwise give the emulator's address with --url."
        ) from exc


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
@click.option("--days", type=float, default=0, help="Days to advance.")
@click.option("--hours", type=float, default=0, help="Hours to advance.")
@click.option("--seconds", type=int, default=0, help="Seconds to advance.")
@click.option("--url", default=None, help=URL_HELP)
def advance_clock(days: float, hours: float, seconds: int, url: str | None) -> None:
    """Advance the clock; renewals, payment retries and expiries that fall due are processed."""
    total = int(days * 86400 + hours * 3600 + seconds)
    if total <= 0:
        raise click.BadParameter("give a positive --days, --hours or --seconds")
    result = _call(
        f"{emulator_url(url).rstrip('/')}/_emulator/clock/advance", "POST", {"seconds": str(total)}
    )
    click.echo(f"Clock now {result['now']}; processed {result['processed']} due item(s).")
