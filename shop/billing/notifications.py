"""Emails about billing, sent only once the change they tell about has committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shop.accounts.models import Customer
from shop.urls import absolute_url

logger = logging.getLogger(__name__)


@dataclass
class AfterCommit:
    """Work to do once the transaction has committed (emails), never before."""

    actions: list[Callable[[], Any]] = field(default_factory=list)

    def add(self, action: Callable[[], Any]) -> None:
        self.actions.append(action)

    def run(self) -> None:
        for action in self.actions:
            try:
                action()
            except Exception:  # a notification must never undo a committed change
                logger.exception("after-commit action failed")


def email(customer: Customer, template: str, **context: Any) -> Callable[[], Any]:
    """An email to the customer, to send after the commit (see `shop.mail.services`)."""
    from shop.mail.services import send_email

    account_url = absolute_url("accounts.account")
    to = customer.email
    return lambda: send_email(to, template, customer=customer, account_url=account_url, **context)
