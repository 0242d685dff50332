"""A year of subscription history made on the Stripe emulator, captured as the events Stripe sent.

`generate_history(running, price_ids, ...)` creates subscribers straight through the emulator's
API handlers, called in-process (no checkout pages, and no HTTP round trip whose rollback snapshot
of the whole state makes each POST cost ~0.1 s once a year of history exists): a customer with an
email and a shipping address, then a subscription on a test card. It moves the clock on in steps of a few days for `days`, and at each step does what
customers do: cancel now, cancel at the period end (and take it back), switch plan, skip a month
(`pause_collection` void until a day after the renewal, as the shop's skip does), pause and resume,
move house (customer.updated) and fix a failing card (the portal's "update card", which retries
the open invoice). Cards that pay once and then decline give failing renewals, dunning, recovery
or an unpaid end. Nothing is delivered: no webhook endpoint is registered; the events are read
from the emulator's own list afterwards, each as the JSON body Stripe would post.

Seeded (`random.Random(seed)`), so a run can be repeated exactly.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shop.stripe_emulator.billing.cards import CardInput
from shop.stripe_emulator.billing.renewals import change_card
from shop.stripe_emulator.core import Emulator
from shop.stripe_emulator.objects import new_id
from shop.stripe_emulator.resources import customers as customer_api
from shop.stripe_emulator.resources import subscriptions as subscription_api
from shop.stripe_emulator.testing import RunningEmulator

DAY = 86400
HALF_DAY = DAY // 2
BOXES = ("musclebox", "miss-musclebox", "protein-musclebox")
TERMS = (1, 3, 6, 12)
GOOD_PM = "pm_card_visa"
GOOD_PM_NUMBER = "4242424242424242"
FAILS_LATER_PM = "pm_card_chargeCustomerFail"  # pays the first invoice, declines every later one
ADDRESS = {
    "line1": "1 Storm Street",
    "line2": "",
    "city": "Melbourne",
    "state": "VIC",
    "postal_code": "3000",
    "country": "AU",
}


@dataclass
class History:
    """What was made: the Stripe subscription ids, the captured events, and the actions taken."""

    subscription_ids: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # (event id, JSON body)
    actions: Counter[str] = field(default_factory=Counter)

    @property
    def event_types(self) -> Counter[str]:
        return Counter(json.loads(body)["type"] for _id, body in self.events)

    def summary(self) -> str:
        acts = ", ".join(f"{name} {count}" for name, count in sorted(self.actions.items()))
        return f"{len(self.subscription_ids)} subscriptions, {len(self.events)} events ({acts})"


def generate_history(
    running: RunningEmulator,
    price_ids: dict[str, str],
    *,
    subscriptions: int = 110,
    days: int = 365,
    step_days: int = 4,
    seed: int = 8,
    checkpoints: tuple[int, ...] = (),
    on_checkpoint: Callable[[list[tuple[str, str]]], object] | None = None,
) -> History:
    """Make the history on `running` (see the module docstring). `price_ids` maps each plan's
    lookup key (``musclebox-3m``) to its Stripe price. Returns it with every event captured.

    At each day in `checkpoints` the history pauses and `on_checkpoint(new_events)` is called
    with the events made since the last one (a test delivers them: then the shop has seen the
    subscriptions live before they end, as it would have)."""
    rng = random.Random(seed)
    em = running.emulator
    history = History()
    keys = [f"{box}-{term}m" for box in BOXES for term in TERMS]
    started = 0
    # Most subscribe on day one; the rest over the first nine months.
    joins = sorted(rng.randrange(0, 270) for _ in range(subscriptions - subscriptions * 3 // 5))
    customers: list[tuple[str, str]] = []  # (Stripe customer id, email)

    def subscribe(index: int) -> None:
        key = keys[index % len(keys)]  # every box on every term
        roll = rng.random()
        if customers and roll < 0.08:  # a second subscription for the same Stripe customer
            customer_id, _email = rng.choice(customers)
            history.actions["second subscription"] += 1
        else:
            email = f"storm{index}@example.com"
            if customers and roll < 0.14:  # the same person again as a new Stripe customer
                email = rng.choice(customers)[1]
                history.actions["same email, new Stripe customer"] += 1
            customer = _api(
                em,
                customer_api.create_customer,
                {
                    "email": email,
                    "name": f"Storm Subscriber {index}",
                    "shipping": {"name": f"Storm Subscriber {index}", "address": ADDRESS},
                },
            )
            customer_id = customer["id"]
            customers.append((customer_id, email))
        card = FAILS_LATER_PM if rng.random() < 0.2 else GOOD_PM
        sub = _api(
            em,
            subscription_api.create_subscription,
            {
                "customer": customer_id,
                "items": [{"price": price_ids[key]}],
                "default_payment_method": card,
                "metadata": {"storm_index": str(index)},
            },
        )
        history.subscription_ids.append(sub["id"])
        history.actions["subscribe (fails later)" if card == FAILS_LATER_PM else "subscribe"] += 1

    for _ in range(subscriptions * 3 // 5):
        subscribe(started)
        started += 1

    captured: set[str] = set()

    def capture() -> list[tuple[str, str]]:
        new = [
            (event["id"], json.dumps(em.render(event), indent=2))
            for event in sorted(em.ordered("events"), key=lambda event: event["created"])
            if event["id"] not in captured
        ]
        captured.update(event_id for event_id, _body in new)
        history.events += new
        return new

    pauses = sorted(checkpoints)
    for day in range(0, days, step_days):
        if pauses and day >= pauses[0]:
            pauses.pop(0)
            # Half a day away from every renewal while the test delivers (see below), then back.
            running.advance(seconds=HALF_DAY)
            new = capture()
            if on_checkpoint is not None:
                on_checkpoint(new)
            running.advance(seconds=HALF_DAY)
        while joins and joins[0] < day + step_days:
            joins.pop(0)
            subscribe(started)
            started += 1
        for sub_id in list(history.subscription_ids):
            _act(rng, em, sub_id, keys, price_ids, history)
        running.advance(days=step_days)
    # Every renewal, retry and lifted pause falls at the time of day the history began (each
    # change happened at a step's start): end half a day away, so none falls due while the test
    # delivers (the emulator's clock goes on with the wall clock).
    running.advance(seconds=HALF_DAY)

    capture()
    return history


def _api(em: Emulator, handler: Any, params: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Call an emulator API handler as its route would (its lock, a request id on the events),
    without the per-request rollback snapshot: a failure here fails the test anyway."""
    with em.transaction(persist=False), em.request_context(new_id("req_", 14), None):
        return handler(em, params, **kwargs)


def _update(em: Emulator, sub_id: str, params: dict[str, Any]) -> None:
    with em.transaction(persist=False), em.request_context(new_id("req_", 14), None):
        subscription_api.apply_update(em, em.data["subscriptions"][sub_id], params)


# Per step of a few days, for each running subscription.
CANCEL_NOW = 0.0015
CANCEL_AT_PERIOD_END = 0.006  # or, when already cancelling, take it back (2 in 5)
PLAN_SWITCH = 0.008
SKIP_A_MONTH = 0.02  # monthly plans only
PAUSE = 0.002
MOVE_HOUSE = 0.006
FIX_CARD = 0.5  # a past-due subscriber fixes the card (else dunning may end it)
RESUME = 0.3  # a paused one resumes


def _act(
    rng: random.Random,
    em: Emulator,
    sub_id: str,
    keys: list[str],
    price_ids: dict[str, str],
    history: History,
) -> None:
    """Maybe one customer action on one subscription."""
    with em.lock:
        sub = em.data["subscriptions"][sub_id]
        status = sub["status"]
        cancelling = bool(sub.get("cancel_at_period_end"))
        pausing = bool(sub.get("pause_collection"))
        item = sub["items"]["data"][0]
        period_end = int(item["current_period_end"])
        price = em.data["prices"][item["price"]["id"]]
        monthly = int(price["recurring"]["interval_count"]) == 1
    if status in ("canceled", "incomplete_expired", "incomplete"):
        return
    roll = rng.random()
    if status == "past_due":
        if roll < FIX_CARD:  # the portal's "update card": the open invoice is retried at once
            with em.transaction(persist=False):
                change_card(
                    em, em.data["subscriptions"][sub_id], CardInput(GOOD_PM_NUMBER, 12, 2034)
                )
            history.actions["card fixed after a failed payment"] += 1
        return
    if status == "paused":
        if roll < RESUME:
            _api(em, subscription_api.resume_subscription, {}, obj_id=sub_id)
            history.actions["resume"] += 1
        return
    bands = (CANCEL_NOW, CANCEL_AT_PERIOD_END, PLAN_SWITCH, SKIP_A_MONTH, PAUSE, MOVE_HOUSE)
    edges = [sum(bands[: n + 1]) for n in range(len(bands))]
    if roll < edges[0]:
        _api(em, subscription_api.cancel_subscription, {}, obj_id=sub_id)
        history.actions["cancel now"] += 1
    elif roll < edges[1]:
        if cancelling and rng.random() < 0.4:
            _update(em, sub_id, {"cancel_at_period_end": False})
            history.actions["undo cancel at period end"] += 1
        elif not cancelling:
            _update(em, sub_id, {"cancel_at_period_end": True})
            history.actions["cancel at period end"] += 1
    elif roll < edges[2]:
        new_key = rng.choice(keys)
        if price_ids[new_key] != price["id"]:
            _update(
                em,
                sub_id,
                {
                    "items": [{"id": item["id"], "price": price_ids[new_key]}],
                    "proration_behavior": "none",
                },
            )
            history.actions["plan switch"] += 1
    elif roll < edges[3]:
        if monthly and not pausing and not cancelling and period_end > em.now() + DAY:
            # The shop's skip: void the next renewal, charge again the one after.
            _update(
                em,
                sub_id,
                {"pause_collection": {"behavior": "void", "resumes_at": period_end + DAY}},
            )
            history.actions["skip a month"] += 1
    elif roll < edges[4]:
        _api(em, subscription_api.pause_subscription, {}, obj_id=sub_id)
        history.actions["pause"] += 1
    elif roll < edges[5]:
        street = f"{rng.randrange(1, 999)} Moved Avenue"
        _api(
            em,
            customer_api.update_customer,
            {"shipping": {"name": "Storm Mover", "address": {**ADDRESS, "line1": street}}},
            obj_id=sub["customer"],
        )
        history.actions["move house"] += 1
