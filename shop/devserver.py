"""`make run`: the shop on http://127.0.0.1:5000, with the Stripe emulator and the job worker
beside it.

When STRIPE_SECRET_KEY is unset, the emulator starts on 127.0.0.1:12111 (state kept in
instance/stripe-emulator.sqlite3, so a demo survives a restart), the shop's webhook endpoint
is registered with it, the catalogue is synced to it, and the shop talks to it through the
real stripe library. With a real key set, the shop talks to Stripe and no emulator starts.
The job worker (`flask --app shop worker`) runs as a child process with the same settings and
stops with the shop.
"""

from __future__ import annotations

import argparse
import atexit
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from shop import PROJECT_ROOT, create_app
from shop.logs import RedactedRequestHandler
from shop.stripe_emulator.testing import QuietHandler

EMULATOR_KEY = "sk_test_emulator"


def _webhook_secret(state_path: Path) -> str:
    """The development webhook secret, kept beside the emulator's state."""
    path = state_path.with_name(state_path.stem + "-webhook-secret")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("whsec_" + secrets.token_hex(24))
        path.chmod(0o600)
    return path.read_text().strip()


def start_emulator(host: str, port: int, shop_url: str, state_path: Path) -> str:
    """Serve the emulator in a background thread and point the shop's settings at it."""
    from shop.stripe_emulator import create_emulator_app

    base_url = f"http://{host}:{port}"
    state_path.parent.mkdir(parents=True, exist_ok=True)
    app = create_emulator_app(
        state_path=str(state_path), public_base_url=base_url, api_key=EMULATOR_KEY
    )
    secret = _webhook_secret(state_path)
    app.extensions["stripe_emulator"].ensure_webhook_endpoint(
        f"{shop_url}/webhooks/stripe", secret=secret
    )
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, name="stripe-emulator", daemon=True).start()
    os.environ.update(
        STRIPE_SECRET_KEY=EMULATOR_KEY, STRIPE_API_BASE=base_url, STRIPE_WEBHOOK_SECRET=secret
    )
    return base_url


def start_worker() -> subprocess.Popen[bytes]:
    """The job worker, in a child process with this process's settings; stopped at exit."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "shop", "worker"], env=os.environ.copy()
    )

    def stop() -> None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()

    atexit.register(stop)
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--emulator-port", type=int, default=12111)
    parser.add_argument(
        "--emulator-state",
        type=Path,
        default=PROJECT_ROOT / "instance" / "stripe-emulator.sqlite3",
        help="SQLite file keeping the emulator's state across restarts",
    )
    args = parser.parse_args()

    shop_url = f"http://{args.host}:{args.port}"
    os.environ.setdefault("SHOP_DEV_OUTBOX", "1")  # read your emails at /dev/outbox
    os.environ.setdefault("SITE_URL", shop_url)
    emulator_url = None
    if not os.environ.get("STRIPE_SECRET_KEY"):
        emulator_url = start_emulator(args.host, args.emulator_port, shop_url, args.emulator_state)

    app = create_app()
    with app.app_context():
        from shop.billing.gateway import gateway
        from shop.catalog.services import sync_catalogue

        for line in sync_catalogue(gateway()):
            print(f"sync-stripe: {line}")
    start_worker()
    if emulator_url:
        print(f"Stripe emulator: {emulator_url}/_emulator/ (test cards: 4242 4242 4242 4242 pays)")
    print(f"The shop: {shop_url}/")
    # Its access log leaves out sign-in tokens and query strings (checkout session ids).
    app.run(
        host=args.host,
        port=args.port,
        threaded=True,
        use_reloader=False,
        request_handler=RedactedRequestHandler,
    )


if __name__ == "__main__":
    main()
