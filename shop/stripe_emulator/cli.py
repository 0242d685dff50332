"""Click commands: ``stripe-emulator`` (serve it) and ``stripe-clock`` (move its clock).

They are not registered here; the shop adds them to its ``flask`` CLI.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import click
from werkzeug.serving import run_simple

DEFAULT_URL = "http://127.0.0.1:12111"


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
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        app.extensions["stripe_emulator"].close()


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
        raise click.ClickException(f"Cannot reach the emulator at {url}: {exc}") from exc


@stripe_clock_command.command("show")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The emulator's base URL.")
def show_clock(url: str) -> None:
    """Print the emulator's current time."""
    result = _call(f"{url.rstrip('/')}/_emulator/clock")
    click.echo(f"{result['iso']} ({result['now']})")


@stripe_clock_command.command("advance")
@click.option("--days", type=float, default=0, help="Days to advance.")
@click.option("--hours", type=float, default=0, help="Hours to advance.")
@click.option("--seconds", type=int, default=0, help="Seconds to advance.")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The emulator's base URL.")
def advance_clock(days: float, hours: float, seconds: int, url: str) -> None:
    """Advance the clock; renewals, payment retries and expiries that fall due are processed."""
    total = int(days * 86400 + hours * 3600 + seconds)
    if total <= 0:
        raise click.BadParameter("give a positive --days, --hours or --seconds")
    result = _call(f"{url.rstrip('/')}/_emulator/clock/advance", "POST", {"seconds": str(total)})
    click.echo(f"Clock now {result['now']}; processed {result['processed']} due item(s).")
