"""An offline, stateful Stripe emulator speaking API version 2026-10-28.endive.

The shop talks to it over HTTP through the real ``stripe`` library. Start it with
``create_emulator_app()`` (a Flask app), the ``stripe-emulator`` CLI command, or in tests with
``shop.stripe_emulator.testing.RunningEmulator``.
"""

from .app import create_emulator_app
from .core import API_VERSION, Emulator, ProductionRefused

__all__ = ["API_VERSION", "Emulator", "ProductionRefused", "create_emulator_app"]
