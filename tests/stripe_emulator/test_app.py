"""Factory guards, persistence, the testing helper and the CLI commands."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import stripe
from click.testing import CliRunner
from flask import Flask

from shop.stripe_emulator import ProductionRefused, create_emulator_app
from shop.stripe_emulator.cli import (
    DEFAULT_URL,
    announce_running_url,
    emulator_url,
    is_loopback_http,
    running_url_file,
    stripe_clock_command,
    stripe_emulator_command,
    withdraw_running_url,
)
from shop.stripe_emulator.testing import RunningEmulator

from .conftest import Receiver, make_plan


def test_refuses_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_ENV", "production")
    with pytest.raises(ProductionRefused, match="production"):
        create_emulator_app(deliver_async=False)
    result = CliRunner().invoke(stripe_emulator_command, ["--port", "0"])
    assert result.exit_code != 0 and "production" in result.output


def test_state_survives_restart(tmp_path: Path) -> None:
    state = str(tmp_path / "stripe.sqlite3")
    with RunningEmulator(state_path=state) as first:
        price = make_plan(first.client(), lookup_key="keep_me")
        first.advance(days=3)
        clock = first.emulator.now()
    with RunningEmulator(state_path=state) as second:
        stripe_client = second.client()
        assert stripe_client.v1.prices.retrieve(price.id).lookup_key == "keep_me"
        assert second.emulator.now() >= clock
        assert len(stripe_client.v1.events.list().data) == 2


def test_client_is_configured(running: RunningEmulator) -> None:
    stripe_client = running.client()
    assert isinstance(stripe_client, stripe.StripeClient)
    assert running.base_url.startswith("http://127.0.0.1:")
    assert stripe_client.v1.products.list().data == []


def test_api_key_can_be_pinned() -> None:
    app = create_emulator_app(deliver_async=False, api_key="sk_test_only_this")
    pages = app.test_client()
    assert (
        pages.get("/v1/products", headers={"Authorization": "Bearer sk_test_other"}).status_code
        == 401
    )
    assert (
        pages.get("/v1/products", headers={"Authorization": "Bearer sk_test_only_this"}).status_code
        == 200
    )
    app.extensions["stripe_emulator"].close()


def test_stripe_clock_cli(running: RunningEmulator) -> None:
    runner = CliRunner()
    before = running.emulator.now()
    result = runner.invoke(
        stripe_clock_command, ["advance", "--days", "2", "--url", running.base_url]
    )
    assert result.exit_code == 0, result.output
    assert "processed" in result.output
    assert running.emulator.now() >= before + 2 * 86400
    shown = runner.invoke(stripe_clock_command, ["show", "--url", running.base_url])
    assert shown.exit_code == 0 and "(" in shown.output
    assert (
        runner.invoke(stripe_clock_command, ["advance", "--url", running.base_url]).exit_code != 0
    )
    down = runner.invoke(stripe_clock_command, ["show", "--url", "http://127.0.0.1:9"])
    assert down.exit_code != 0 and "Cannot reach" in down.output


def test_pages_404_are_html(running: RunningEmulator) -> None:
    response = running.app.test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_reset_forgets_everything(running: RunningEmulator) -> None:
    client = running.client()
    make_plan(client)
    assert running.app.test_client().post("/_emulator/reset").get_json() == {"reset": True}
    assert client.v1.prices.list().data == []
    assert client.v1.events.list().data == []


def test_stripe_emulator_command_registers_forwarding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served: dict[str, object] = {}

    def fake_run_simple(host: str, port: int, app: object, **options: object) -> None:
        served.update(host=host, port=port, options=options)
        served["announced"] = json.loads((tmp_path / "s-url").read_text())["url"]

    monkeypatch.setattr("shop.stripe_emulator.cli.run_simple", fake_run_simple)
    state = tmp_path / "s.sqlite3"
    args = [
        "--port",
        "12345",
        "--state",
        str(state),
        "--forward-to",
        "http://127.0.0.1:5000/hook",
        "--webhook-secret",
        "whsec_dev",
    ]
    result = CliRunner().invoke(stripe_emulator_command, args)
    assert result.exit_code == 0, result.output
    assert "whsec_dev" in result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 12345
    assert served["announced"] == "http://127.0.0.1:12345", "its URL is announced while it runs"
    assert not (tmp_path / "s-url").exists(), "and withdrawn when it stops"
    with RunningEmulator(state_path=str(state)) as again:
        endpoints = again.client().v1.webhook_endpoints.list().data
        assert [e.url for e in endpoints] == ["http://127.0.0.1:5000/hook"]


def test_refuses_to_start_next_to_a_live_key(monkeypatch) -> None:
    import pytest as _pytest

    from shop.stripe_emulator import ProductionRefused, create_emulator_app

    monkeypatch.delenv("SHOP_ENV", raising=False)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_123")
    with _pytest.raises(ProductionRefused, match="live Stripe key"):
        create_emulator_app()


def _instance_app(tmp_path: Path) -> Flask:
    """An app whose instance folder is ``tmp_path``, as the shop's `flask` commands run in."""
    return Flask(__name__, instance_path=str(tmp_path))


def test_stripe_clock_finds_the_emulator_make_run_started(
    running: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    state = tmp_path / "stripe-emulator.sqlite3"
    announce_running_url(state, running.base_url)
    before = running.emulator.now()
    with _instance_app(tmp_path).app_context():
        result = CliRunner().invoke(stripe_clock_command, ["advance", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert running.emulator.now() >= before + 3 * 86400

    withdraw_running_url(state)
    assert not running_url_file(state).exists()
    with _instance_app(tmp_path).app_context():
        assert emulator_url() == DEFAULT_URL
        assert emulator_url("http://127.0.0.1:9") == "http://127.0.0.1:9", "--url wins"


def test_stripe_clock_ignores_an_announcement_of_a_stopped_process(
    running: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    state = tmp_path / "stripe-emulator.sqlite3"
    running_url_file(state).write_text(
        json.dumps({"url": "http://127.0.0.1:9", "pid": int(gone.stdout)})
    )
    monkeypatch.setenv("STRIPE_API_BASE", running.base_url)
    with _instance_app(tmp_path).app_context():
        assert emulator_url() == running.base_url
        shown = CliRunner().invoke(stripe_clock_command, ["show"])
    assert shown.exit_code == 0, shown.output
    monkeypatch.delenv("STRIPE_API_BASE")
    assert emulator_url() == DEFAULT_URL


def test_an_announcement_is_withdrawn_only_by_its_own_process(tmp_path: Path) -> None:
    state = tmp_path / "stripe-emulator.sqlite3"
    running_url_file(state).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 1}))
    withdraw_running_url(state)
    assert running_url_file(state).exists()


@pytest.mark.parametrize("days", ["1e308", "nan", "inf", "-1", "3651", "two"])
def test_stripe_clock_refuses_an_amount_it_cannot_advance_by(
    running: RunningEmulator, days: str
) -> None:
    before = running.emulator.now()
    result = CliRunner().invoke(
        stripe_clock_command, ["advance", "--days", days, "--url", running.base_url]
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), "a usage error, not a traceback"
    assert "--days" in result.output and "Traceback" not in result.output
    assert running.emulator.now() < before + 86400


def test_stripe_clock_refuses_more_than_ten_years_in_all(running: RunningEmulator) -> None:
    result = CliRunner().invoke(
        stripe_clock_command,
        ["advance", "--days", "3650", "--hours", "24", "--url", running.base_url],
    )
    assert result.exit_code == 2 and "at most 3650 days" in result.output


def test_stripe_clock_at_something_else_says_so_in_one_line(running: RunningEmulator) -> None:
    # The shop's URL by mistake: an HTML 404 page, not the emulator's JSON.
    result = CliRunner().invoke(stripe_clock_command, ["show", "--url", f"{running.base_url}/shop"])
    assert result.exit_code == 1
    message = result.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "HTTP 404" in message and "is this the emulator?" in message
    assert "<" not in message


def test_stripe_clock_ignores_a_live_process_that_is_not_an_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After kill -9 or a reboot the announced pid (here this test's own) may be anyone's.
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    state = tmp_path / "stripe-emulator.sqlite3"
    other = Receiver()
    try:
        for url in (other.url.removesuffix("/webhooks/stripe"), "http://192.0.2.1:12111"):
            running_url_file(state).write_text(json.dumps({"url": url, "pid": os.getpid()}))
            with _instance_app(tmp_path).app_context():
                assert emulator_url() == DEFAULT_URL, url
    finally:
        other.stop()
    assert other.requests == [], "asked with a GET only, never posted to"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:12111", True),
        ("http://localhost:12111", True),
        ("http://[::1]:12111", True),
        ("http://127.8.0.1:1", True),
        ("https://127.0.0.1:12111", False),
        ("http://192.0.2.1:12111", False),
        ("http://example.com", False),
        ("http://127.0.0.1:99999", False),
        ("file:///etc/passwd", False),
        ("http://::1:12111", False),
    ],
)
def test_only_loopback_http_announcements_are_followed(url: str, loopback: bool) -> None:
    assert is_loopback_http(url) is loopback


@pytest.mark.parametrize(
    ("host", "announced"), [("::1", "http://[::1]:12345"), ("::", "http://[::1]:12345")]
)
def test_stripe_emulator_command_announces_an_ipv6_url_in_brackets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str, announced: str
) -> None:
    served: dict[str, object] = {}

    def fake_run_simple(host: str, port: int, app: object, **options: object) -> None:
        served["announced"] = json.loads((tmp_path / "s-url").read_text())["url"]

    monkeypatch.setattr("shop.stripe_emulator.cli.run_simple", fake_run_simple)
    args = ["--host", host, "--port", "12345", "--state", str(tmp_path / "s.sqlite3")]
    result = CliRunner().invoke(stripe_emulator_command, args)
    assert result.exit_code == 0, result.output
    assert served["announced"] == announced
    assert f"Stripe emulator on http://[{host}]:12345" in result.output
