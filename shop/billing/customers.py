"""Stripe customers and the shop's accounts: one person, one account, whatever they bought.

A person may reach Stripe as several Stripe customers (buying again while signed out creates a
new one). Every one of them leads to the single account with that email, and each subscription
remembers the Stripe customer that pays for it — that is where its billing portal opens and where
its boxes are addressed. An unverified checkout never rewrites the account's own name or address;
only the account's own Stripe customer (the first) and the signed-in customer do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.models import Customer
from shop.accounts.services import find_or_create_customer, normalise_email, set_customer_address
from shop.billing.gateway import NotFoundAtProvider, gateway
from shop.billing.models import Subscription
from shop.billing.shipping import readdress_unshipped
from shop.billing.stripe_data import UnknownStripeObject
from shop.extensions import db

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StripeCustomerMatch:
    customer: Customer
    ship_to: PostalAddress | None  # the Stripe customer's own shipping address, if it has one


def customer_for_stripe(
    stripe_customer_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    shipping: dict[str, Any] | None = None,
) -> StripeCustomerMatch:
    """The account a Stripe customer belongs to, created (from Stripe if need be). No commit.

    `email`, `name` and `shipping` come from a completed checkout; without them the Stripe
    customer is fetched. Raises UnknownStripeObject for a customer Stripe has no email for.
    """
    ship_to = PostalAddress.from_stripe(shipping)
    customer = db.session.scalar(
        select(Customer).where(Customer.stripe_customer_id == stripe_customer_id).with_for_update()
    )
    if customer is None:
        customer = _by_subscriptions(stripe_customer_id)
    if customer is None and not email:
        try:
            remote = gateway().retrieve_customer(stripe_customer_id)
        except NotFoundAtProvider as exc:
            raise UnknownStripeObject(f"Stripe has no customer {stripe_customer_id}") from exc
        email, name = remote.get("email"), name or remote.get("name")
        ship_to = ship_to or PostalAddress.from_stripe(remote.get("shipping"))
    if customer is None:
        if not email:
            raise UnknownStripeObject(f"Stripe customer {stripe_customer_id} has no email")
        customer = find_or_create_customer(email, name or "")
        if customer.stripe_customer_id is None:
            customer.stripe_customer_id = stripe_customer_id
    if customer.stripe_customer_id == stripe_customer_id:
        if name and not customer.name:
            customer.name = name
        set_customer_address(customer, ship_to)
    else:
        # Another Stripe customer with this email, e.g. a checkout while signed out: its
        # subscription is theirs to see and manage, but it never rewrites the account.
        logger.info("customer %s: another Stripe customer used their email", customer.id)
    db.session.flush()
    return StripeCustomerMatch(customer, ship_to)


def _by_subscriptions(stripe_customer_id: str) -> Customer | None:
    return db.session.scalar(
        select(Customer)
        .join(Subscription, Subscription.customer_id == Customer.id)
        .where(Subscription.stripe_customer_id == stripe_customer_id)
        .limit(1)
    )


def apply_customer_update(stripe_customer_id: str) -> Customer:
    """customer.updated: keep email, name and address as Stripe has them now. No commit.

    The Stripe customer is fetched afresh, so a late, older snapshot never brings back an old
    address. Its subscriptions' boxes not yet packed go to the new address. Raises
    UnknownStripeObject for a Stripe customer the shop has never sold to.
    """
    customer = db.session.scalar(
        select(Customer).where(Customer.stripe_customer_id == stripe_customer_id).with_for_update()
    ) or _by_subscriptions(stripe_customer_id)
    if customer is None:
        raise UnknownStripeObject(f"customer {stripe_customer_id} has never bought from the shop")
    try:
        data = gateway().retrieve_customer(stripe_customer_id)
    except NotFoundAtProvider as exc:
        raise UnknownStripeObject(f"Stripe has no customer {stripe_customer_id}") from exc
    address = PostalAddress.from_stripe(data.get("shipping"))
    if customer.stripe_customer_id == stripe_customer_id:
        new_email = normalise_email(data.get("email") or "")
        if new_email and new_email != customer.email:
            taken = db.session.scalar(select(Customer.id).where(Customer.email == new_email))
            if taken is None:
                customer.email = new_email
            else:
                logger.warning("customer %s: new email belongs to another account", customer.id)
        if data.get("name"):
            customer.name = data["name"]
        set_customer_address(customer, address)
    if address is not None:
        subscriptions = db.session.scalars(
            select(Subscription).where(Subscription.stripe_customer_id == stripe_customer_id)
        ).all()
        for subscription in subscriptions:
            store_address(subscription, "ship_to_", address)
        readdress_unshipped([s.id for s in subscriptions], address)
    db.session.flush()
    return customer


def stripe_customer_ids(customer: Customer) -> list[str]:
    """Every Stripe customer that pays for this account's subscriptions, the account's own first."""
    ids = [customer.stripe_customer_id] if customer.stripe_customer_id else []
    for stripe_id in db.session.scalars(
        select(Subscription.stripe_customer_id)
        .where(Subscription.customer_id == customer.id)
        .distinct()
    ):
        if stripe_id and stripe_id not in ids:
            ids.append(stripe_id)
    return ids


def change_shipping_address(customer: Customer, address: PostalAddress) -> int:
    """The signed-in customer moved: tell Stripe (every Stripe customer of the account), then
    address the account, its subscriptions and every box not yet packed there. Commits.

    Returns how many shipments already in a run were readdressed. Raises PaymentProviderError
    when Stripe fails — then the shop changed nothing (repeating it is safe).
    """
    for stripe_id in stripe_customer_ids(customer):
        gateway().update_customer(
            stripe_id, {"shipping": address.to_stripe(), "address": address.to_stripe()["address"]}
        )
    customer = db.session.get(Customer, customer.id, with_for_update=True) or customer
    set_customer_address(customer, address)
    subscriptions = db.session.scalars(
        select(Subscription).where(Subscription.customer_id == customer.id)
    ).all()
    for subscription in subscriptions:
        store_address(subscription, "ship_to_", address)
    changed = readdress_unshipped([s.id for s in subscriptions], address)
    db.session.commit()
    return changed
