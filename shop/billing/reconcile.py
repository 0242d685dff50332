"""Reconcile: make the shop agree with Stripe after missed webhooks or an outage.

Every subscription in the Stripe account is fetched and applied (subscriptions the shop never
saw, states that drifted), and every paid invoice of each is checked against the box calendar:
a paid period without its boxes (a missed `invoice.paid`) gets them now. Each subscription is
repaired in its own transaction; one that fails is reported and rolled back, the others still
repaired. Subscriptions that are not the shop's (another product on the same Stripe account)
are reported as skipped, not as failures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shop.billing.gateway import PaymentProviderError, gateway
from shop.billing.invoices import apply_paid_invoice
from shop.billing.models import Subscription
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import UnknownStripeObject, period_line
from shop.billing.subscriptions import apply_subscription, lock_subscription
from shop.extensions import db

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Difference:
    """One thing reconcile found: a field repaired, boxes granted, a skip or a failure."""

    stripe_subscription_id: str
    field: str
    shop_value: object
    stripe_value: object

    @property
    def is_failure(self) -> bool:
        return self.field == "error"


RECONCILED_FIELDS = (
    "status",
    "plan_id",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "cancel_at",
    "canceled_at",
    "ended_at",
    "pause_behavior",
)


def reconcile_subscriptions() -> list[Difference]:
    """Fetch every subscription from Stripe and repair the shop's copies and calendars.
    Commits each subscription. Returns what differed, what was skipped and what failed."""
    differences: list[Difference] = []
    for data in gateway().list_subscriptions():
        after = AfterCommit()
        try:
            differences.extend(_reconcile_one(data, after))
        except UnknownStripeObject as exc:
            db.session.rollback()
            differences.append(Difference(data["id"], "skipped", None, str(exc)))
            continue
        except PaymentProviderError as exc:
            db.session.rollback()
            differences.append(Difference(data["id"], "error", None, str(exc)))
            continue
        except Exception as exc:  # one subscription's surprise must not stop the others
            db.session.rollback()
            logger.exception("reconcile: %s failed", data["id"])
            differences.append(
                Difference(data["id"], "error", None, f"{type(exc).__name__}: {exc}")
            )
            continue
        db.session.commit()
        after.run()
    return differences


def _reconcile_one(data: dict[str, Any], after: AfterCommit) -> list[Difference]:
    lock_subscription(data["id"])
    local = db.session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == data["id"])
        .with_for_update()
    )
    before = {name: getattr(local, name) for name in RECONCILED_FIELDS} if local else None
    subscription = apply_subscription(data, local, after)
    if before is None:
        found = [Difference(data["id"], "missing", None, subscription.status.value)]
    else:
        found = [
            Difference(data["id"], name, before[name], getattr(subscription, name))
            for name in RECONCILED_FIELDS
            if before[name] != getattr(subscription, name)
        ]
    # Oldest first, so the boxes of repaired periods keep the order they were paid in.
    for invoice in reversed(list(gateway().paid_invoices(data["id"]))):
        if period_line(invoice) is None:
            continue
        _invoice, granted = apply_paid_invoice(invoice, subscription)
        if granted:
            months = ", ".join(box.ship_month for box in granted)
            found.append(Difference(data["id"], "boxes", None, f"{invoice['id']}: {months}"))
    return found
