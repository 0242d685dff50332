"""The monthly shipping run and the packing list.

- The run freezes a month: each box scheduled for it becomes a shipment, addressed as its
  subscription's address is at the time of the run (a customer who moved gets the box at the new
  address). Running it again changes nothing for boxes already in it and adds only boxes granted
  since (a late payment); held and cancelled boxes are left out. Until the run, the month's
  packing list is a forecast.
- A customer who moves after the run still gets every box not yet packed at the new address; the
  shipment is flagged so the packing team prints its label again. Packed and shipped boxes keep
  the address they were packed for.
- Marking a shipment shipped emails the customer once, with the tracking link when there is one.
- Boxes held because their subscription ended early are sent or cancelled by an admin; until
  then they are off the packing list and cannot be marked packed or shipped.
- Moving a shipment back to packing clears its packing and shipping details; the customer is
  never emailed twice about one box.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.accounts.addresses import PostalAddress, address_of, delivery_problem, store_address
from shop.audit.services import record_admin_action
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    Shipment,
    ShipmentStatus,
    Subscription,
)
from shop.billing.notifications import AfterCommit
from shop.db import advisory_lock, utcnow
from shop.extensions import db

# Carriers the packing team uses, with their public tracking pages.
CARRIERS: dict[str, str | None] = {
    "Australia Post": "https://auspost.com.au/mypost/track/details/{number}",
    "StarTrack": "https://startrack.com.au/track/details/{number}",
    "Sendle": "https://track.sendle.com/tracking?ref={number}",
    "Aramex": "https://www.aramex.com.au/tools/track?l={number}",
    "Other": None,
}


def tracking_url(carrier: str, number: str) -> str | None:
    """The carrier's tracking page for a parcel, when the shop knows one."""
    pattern = CARRIERS.get(carrier)
    if not pattern or not number:
        return None
    return pattern.format(number=quote(number, safe=""))


class ShippingError(Exception):
    """An admin's shipping action cannot be done; the message says why."""


@dataclass
class ShippingRunReport:
    month: str
    created: int = 0
    already_in_run: int = 0
    held: int = 0
    without_address: list[int] = field(default_factory=list)  # calendar box ids
    per_box: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """What happened, in words, for the command line and the admin page."""
        done = [
            f"{self.month}: {self.created} new shipment(s), {self.already_in_run} already in the run."
        ]
        done += [f"  {name}: {count}" for name, count in sorted(self.per_box.items())]
        if self.held:
            done.append(f"  {self.held} held box(es) wait for a decision (send or cancel).")
        if self.without_address:
            done.append(
                f"  {len(self.without_address)} box(es) have no address we can ship to and were "
                "left out: ask those customers for their address, then run again."
            )
        return done


def run_shipping(month: str) -> ShippingRunReport:
    """Turn the month's scheduled boxes into addressed shipments. Commits. Safe to repeat."""
    advisory_lock(db.session, f"shipping-run:{month}")
    report = ShippingRunReport(month)
    countries = current_app.config["SHIPPING_COUNTRIES"]
    boxes = db.session.scalars(
        select(CalendarBox)
        .where(CalendarBox.ship_month == month, CalendarBox.status != BoxStatus.CANCELLED)
        .options(
            joinedload(CalendarBox.shipment),
            joinedload(CalendarBox.subscription).joinedload(Subscription.customer),
            joinedload(CalendarBox.box),
        )
        .order_by(CalendarBox.id)
    ).unique()
    for box in boxes:
        if box.shipment is not None:
            report.already_in_run += 1
            continue
        if box.status is BoxStatus.HELD:
            report.held += 1
            continue
        address = ship_to_of(box.subscription)
        if delivery_problem(address, countries) is not None:
            report.without_address.append(box.id)
            continue
        db.session.add(new_shipment(box, address))
        report.created += 1
        report.per_box[box.box.name] += 1
    record_admin_action(
        "shipment.run",
        f"Ran the shipping month {month}: {report.created} new shipment(s), "
        f"{report.already_in_run} already in the run, {report.held} held, "
        f"{len(report.without_address)} without an address",
        subject=f"month:{month}",
        details={
            "created": report.created,
            "already_in_run": report.already_in_run,
            "held": report.held,
            "without_address": report.without_address[:200],
        },
    )
    db.session.commit()
    return report


def new_shipment(
    box: CalendarBox, address: PostalAddress, status: ShipmentStatus = ShipmentStatus.TO_PACK
) -> Shipment:
    """The shipment of a calendar box, addressed to `address` (not yet added to the session)."""
    shipment = Shipment(
        calendar_box_id=box.id,
        invoice_id=box.invoice_id,
        subscription_id=box.subscription_id,
        customer_id=box.customer_id,
        box_id=box.box_id,
        plan_id=box.plan_id,
        ship_month=box.ship_month,
        status=status,
    )
    store_address(shipment, "ship_to_", address)
    return shipment


def ship_to_of(subscription: Subscription) -> PostalAddress:
    """Where a subscription's boxes go now: its own address, else its account's."""
    own = address_of(subscription, "ship_to_")
    return own if own.line1 else address_of(subscription.customer, "shipping_")


def readdress_unshipped(subscription_ids: Iterable[int], address: PostalAddress) -> int:
    """Send the boxes of these subscriptions that are in a run but not yet packed to `address`;
    flag them for a new label. Returns how many changed. Does not commit."""
    ids = list(subscription_ids)
    if not ids or delivery_problem(address, current_app.config["SHIPPING_COUNTRIES"]):
        return 0  # a box is never readdressed somewhere it cannot go
    shipments = db.session.scalars(
        select(Shipment).where(
            Shipment.subscription_id.in_(ids), Shipment.status == ShipmentStatus.TO_PACK
        )
    ).all()
    changed = 0
    for shipment in shipments:
        if address_of(shipment, "ship_to_") != address:
            store_address(shipment, "ship_to_", address)
            shipment.address_changed_at = utcnow()
            changed += 1
    return changed


@dataclass(frozen=True)
class MarkReport:
    changed: int
    emailed: int


def mark_shipments(
    shipment_ids: Iterable[int],
    status: ShipmentStatus,
    *,
    carrier: str = "",
    tracking_number: str = "",
) -> MarkReport:
    """Move shipments to packed, shipped or back to packing. Commits, then emails each customer
    whose box is shipped for the first time. Raises ShippingError when an id is unknown (and
    then nothing changes)."""
    ids = sorted(set(shipment_ids))
    shipments = (
        db.session.scalars(
            select(Shipment)
            .where(Shipment.id.in_(ids))
            .options(
                joinedload(Shipment.customer),
                joinedload(Shipment.box),
                joinedload(Shipment.calendar_box),
            )
            .with_for_update(of=Shipment)
        )
        .unique()
        .all()
    )
    if len(shipments) != len(ids) or not ids:
        raise ShippingError("Some of those shipments don't exist (any more). Nothing was changed.")
    if any(shipment.calendar_box.status is not BoxStatus.SCHEDULED for shipment in shipments):
        raise ShippingError(
            "Some of those boxes are held: their subscription ended early. Decide to send them "
            "first. Nothing was changed."
        )
    now, after = utcnow(), AfterCommit()
    emailed = 0
    for shipment in shipments:
        shipment.status = status
        if status is ShipmentStatus.TO_PACK:
            # Back to packing (a mistake, or a parcel that came back): it is not on its way.
            shipment.packed_at = shipment.shipped_at = None
            shipment.carrier = shipment.tracking_number = ""
        if status is ShipmentStatus.PACKED:
            shipment.packed_at = shipment.packed_at or now
            shipment.address_changed_at = None
        if status is ShipmentStatus.SHIPPED:
            shipment.shipped_at = shipment.shipped_at or now
            if carrier:
                shipment.carrier = carrier
            if tracking_number:
                shipment.tracking_number = tracking_number
            # Once per shipment; again only if the first was dropped because the box was put
            # back before its email went.
            if after.email(
                shipment.customer, "box_shipped", str(shipment.id), shipment_id=shipment.id
            ):
                shipment.shipped_email_sent_at = shipment.shipped_email_sent_at or now
                emailed += 1
    shown = ", ".join(f"#{shipment_id}" for shipment_id in ids[:5]) + (
        ", …" if len(ids) > 5 else ""
    )
    record_admin_action(
        f"shipment.{status.value}",
        f"Marked {len(ids)} shipment(s) {status.value.replace('_', ' ')} ({shown})"
        + (f", {carrier} {tracking_number}".rstrip() if carrier or tracking_number else ""),
        subject=f"shipment:{ids[0]}" if len(ids) == 1 else "",
        details={"ids": ids[:200], "count": len(ids), "carrier": carrier},
    )
    db.session.commit()
    after.run()
    return MarkReport(changed=len(shipments), emailed=emailed)


def decide_held_box(box_id: int, *, send: bool) -> CalendarBox:
    """An admin's decision on a held box: send it after all (back on the calendar) or cancel it
    (an unshipped shipment for it is removed). Commits. Raises ShippingError when the box is
    not held."""
    box = db.session.get(CalendarBox, box_id, with_for_update=True)
    if box is None or box.status is not BoxStatus.HELD:
        raise ShippingError("That box isn't waiting for a decision.")
    box.decided_at = utcnow()
    if send:
        box.status = BoxStatus.SCHEDULED
    else:
        if box.shipment is not None:
            if box.shipment.status is ShipmentStatus.SHIPPED:
                raise ShippingError("That box has already shipped.")
            db.session.delete(box.shipment)
        box.status = BoxStatus.CANCELLED
    record_admin_action(
        "shipment.send_held" if send else "shipment.cancel_held",
        f"{'Sent' if send else 'Cancelled'} held box #{box.id} ({box.ship_month}) of "
        f"subscription #{box.subscription_id}",
        subject=f"calendar_box:{box.id}",
    )
    db.session.commit()
    return box
