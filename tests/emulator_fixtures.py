"""Fixtures for tests of the shop on the Stripe emulator: import them into a test module or a
conftest (`from tests.emulator_fixtures import app_settings, catalogue, pages`)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from shop.billing.gateway import gateway
from shop.catalog.services import sync_catalogue
from shop.demo import seed_demo
from shop.stripe_emulator.testing import RunningEmulator
from tests.helpers import shop_on_emulator


@pytest.fixture
def app_settings(stripe_emulator: RunningEmulator) -> dict[str, object]:
    """The shop's Stripe pointed at the emulator, which delivers to the shop's webhook."""
    return shop_on_emulator(stripe_emulator)


@pytest.fixture
def catalogue(app) -> None:  # type: ignore[no-untyped-def]
    """The demo boxes and plans, synced to the emulator."""
    seed_demo()
    sync_catalogue(gateway())


@pytest.fixture
def pages(stripe_emulator: RunningEmulator) -> FlaskClient:
    """A browser on the emulator's hosted pages."""
    return stripe_emulator.app.test_client()
