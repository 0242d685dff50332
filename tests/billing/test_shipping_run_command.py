"""`flask shipping-run --month YYYY-MM`: freeze a month, say what it did, safe to repeat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.billing.models import Shipment
from shop.extensions import db
from tests.billing.calendar_helpers import move_to_day
from tests.billing.conftest import buy, deliver


def shipments() -> int:
    return db.session.scalar(select(func.count(Shipment.id))) or 0


def test_the_run_freezes_the_month_and_running_again_changes_nothing(
    app, client, pages, runner, stripe_emulator, catalogue
):
    month = move_to_day(stripe_emulator, 10)
    buy(client, pages, stripe_emulator, "musclebox", 3)
    buy(app.test_client(), pages, stripe_emulator, "protein-musclebox", 1, email="cal@example.com")
    deliver(stripe_emulator, client)

    first = runner.invoke(args=["shipping-run", "--month", month])
    assert first.exit_code == 0, first.output
    assert f"{month}: 2 new shipment(s), 0 already in the run." in first.output
    assert "MuscleBox: 1" in first.output and "Protein MuscleBox: 1" in first.output
    assert shipments() == 2

    again = runner.invoke(args=["shipping-run", "--month", month])
    assert again.exit_code == 0
    assert f"{month}: 0 new shipment(s), 2 already in the run." in again.output
    assert shipments() == 2


@pytest.mark.parametrize("month", ["2026-13", "26-12", "december", "2026-1"])
def test_a_malformed_month_is_refused_and_changes_nothing(app, runner, month):
    result = runner.invoke(args=["shipping-run", "--month", month])
    assert result.exit_code == 2
    assert "A month looks like 2026-12" in result.output
    assert shipments() == 0


def test_without_a_month_it_runs_this_month(app, runner):
    from shop.billing.calendar import current_month

    result = runner.invoke(args=["shipping-run"])
    assert result.exit_code == 0
    assert f"{current_month()}: 0 new shipment(s)" in result.output
