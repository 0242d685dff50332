"""The hosted pages (Checkout, billing portal) and the emulator's dashboard, on one blueprint."""

from . import checkout, dashboard, portal
from .blueprint import bp

__all__ = ["bp", "checkout", "dashboard", "portal"]
