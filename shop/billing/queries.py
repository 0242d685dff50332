"""Read-only selects for billing: a month's shipments and forecast, held boxes, the packing CSV.

A month "has been run" once it has a shipment. Before that its packing list is a forecast: the
month's scheduled calendar boxes, addressed as their subscriptions are now. After it, scheduled
boxes of the month without a shipment are the ones granted since (or left out for want of an
address): the next run adds them. Shipments of held boxes (their subscription ended early) are
not on the packing list until an admin decides to send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from shop.accounts.models import Customer
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    EventOutcome,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.catalog.models import Box, Plan


def month_shipments(
    month: str, *, box_id: int | None = None, status: ShipmentStatus | None = None
) -> Select[tuple[Shipment]]:
    """The month's shipments, grouped by box (in catalogue order), then in run order."""
    query = (
        select(Shipment)
        .join(Box, Box.id == Shipment.box_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.ship_month == month, CalendarBox.status == BoxStatus.SCHEDULED)
        .options(
            joinedload(Shipment.customer),
            joinedload(Shipment.box),
            joinedload(Shipment.plan),
            joinedload(Shipment.calendar_box),
        )
        .order_by(Box.position, Box.name, Shipment.id)
    )
    if box_id is not None:
        query = query.where(Shipment.box_id == box_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return query


def month_shipment_counts(month: str) -> Select[tuple[int, str, ShipmentStatus, int]]:
    """(box id, box name, shipment status, count) for the month: what to buy, pack and send."""
    return (
        select(Box.id, Box.name, Shipment.status, func.count(Shipment.id))
        .join(Box, Box.id == Shipment.box_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.ship_month == month, CalendarBox.status == BoxStatus.SCHEDULED)
        .group_by(Box.id, Box.name, Box.position, Shipment.status)
        .order_by(Box.position, Box.name)
    )


def _without_shipment() -> ColumnElement[bool]:
    """The calendar box has no shipment. NOT EXISTS, not an outer join filtered on NULL:
    PostgreSQL reads it as an anti-join on the shipments' calendar_box_id index instead of
    joining every shipment first (the shipments page on 200,000 shipments: 275 ms -> ~50 ms)."""
    return ~select(Shipment.id).where(Shipment.calendar_box_id == CalendarBox.id).exists()


def month_has_run(month: str) -> Select[tuple[bool]]:
    """Whether the month's shipping run has happened (it has at least one shipment)."""
    return select(select(Shipment.id).where(Shipment.ship_month == month).exists())


def boxes_not_in_run(month: str, *, box_id: int | None = None) -> Select[tuple[CalendarBox]]:
    """The month's scheduled boxes that have no shipment yet, with what addressing them needs.

    Before the run this is the month's forecast; after it, the boxes a rerun would add.
    """
    query = (
        select(CalendarBox)
        .join(Box, Box.id == CalendarBox.box_id)
        .where(
            CalendarBox.ship_month == month,
            CalendarBox.status == BoxStatus.SCHEDULED,
            _without_shipment(),
        )
        .options(
            joinedload(CalendarBox.subscription).joinedload(Subscription.customer),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(Box.position, Box.name, CalendarBox.id)
    )
    if box_id is not None:
        query = query.where(CalendarBox.box_id == box_id)
    return query


def boxes_not_in_run_counts(month: str) -> Select[tuple[int, str, int]]:
    """(box id, box name, count) of the month's scheduled boxes that have no shipment yet."""
    return (
        select(Box.id, Box.name, func.count(CalendarBox.id))
        .join(Box, Box.id == CalendarBox.box_id)
        .where(
            CalendarBox.ship_month == month,
            CalendarBox.status == BoxStatus.SCHEDULED,
            _without_shipment(),
        )
        .group_by(Box.id, Box.name, Box.position)
        .order_by(Box.position, Box.name)
    )


def held_boxes() -> Select[tuple[CalendarBox]]:
    """Every box held for an admin's decision, whatever its month, oldest month first."""
    return (
        select(CalendarBox)
        .where(CalendarBox.status == BoxStatus.HELD)
        .options(
            joinedload(CalendarBox.subscription),
            joinedload(CalendarBox.customer),
            joinedload(CalendarBox.box),
            joinedload(CalendarBox.plan),
        )
        .order_by(CalendarBox.ship_month, CalendarBox.id)
    )


def skipping_subscriptions() -> Select[tuple[Subscription]]:
    """Subscriptions skipping their next box (no charge, no box), next payment date first."""
    return (
        select(Subscription)
        .where(Subscription.pause_behavior.is_not(None))
        .options(
            joinedload(Subscription.customer), joinedload(Subscription.plan).joinedload(Plan.box)
        )
        .order_by(Subscription.current_period_end, Subscription.id)
    )


def boxes_for_filter() -> Select[tuple[Box]]:
    """Every box, in catalogue order (retired boxes still have shipments to filter by)."""
    return select(Box).order_by(Box.position, Box.name)


def to_pack_count() -> Select[tuple[int]]:
    """Shipments waiting to be packed, whatever their month (a late one still needs packing)."""
    return (
        select(func.count(Shipment.id))
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .where(Shipment.status == ShipmentStatus.TO_PACK, CalendarBox.status == BoxStatus.SCHEDULED)
    )


def overdue_months(before: str) -> Select[tuple[str, int]]:
    """(month, count) of scheduled boxes of months before `before` that were never put in a
    run: a late payment or a repair granted them after their month's run."""
    return (
        select(CalendarBox.ship_month, func.count(CalendarBox.id))
        .where(
            CalendarBox.ship_month < before,
            CalendarBox.status == BoxStatus.SCHEDULED,
            _without_shipment(),
        )
        .group_by(CalendarBox.ship_month)
        .order_by(CalendarBox.ship_month)
    )


def packing_rows(
    month: str,
    *,
    after_id: int = 0,
    limit: int = 1000,
    box_id: int | None = None,
    status: ShipmentStatus | None = None,
) -> Select[tuple[object, ...]]:
    """One batch of the month's shipments as plain labelled columns, in id order after
    `after_id`: a big month is read batch by batch (keyset), never all at once."""
    query = (
        select(
            Shipment.id,
            Shipment.ship_month,
            Shipment.status,
            Box.name.label("box_name"),
            Plan.term_months.label("plan_months"),
            CalendarBox.sequence,
            CalendarBox.term_months,
            Shipment.ship_to_name,
            Shipment.ship_to_line1,
            Shipment.ship_to_line2,
            Shipment.ship_to_city,
            Shipment.ship_to_state,
            Shipment.ship_to_postal_code,
            Shipment.ship_to_country,
            Customer.email,
            Shipment.carrier,
            Shipment.tracking_number,
            Shipment.address_changed_at,
        )
        .join(Box, Box.id == Shipment.box_id)
        .join(Plan, Plan.id == Shipment.plan_id)
        .join(CalendarBox, CalendarBox.id == Shipment.calendar_box_id)
        .join(Customer, Customer.id == Shipment.customer_id)
        .where(
            Shipment.ship_month == month,
            Shipment.id > after_id,
            CalendarBox.status == BoxStatus.SCHEDULED,
        )
        .order_by(Shipment.id)
        .limit(limit)
    )
    if box_id is not None:
        query = query.where(Shipment.box_id == box_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return query


# -- the admin's view of subscribers ----------------------------------------------------------


class SubscriberState(StrEnum):
    """Where a subscription stands for the shop owner: every subscription is in exactly one.

    Decided in this order: cancelled (Stripe status canceled); incomplete (a checkout never
    paid: incomplete, incomplete_expired); past due (past_due, or unpaid after Stripe's retries);
    paused or skipping (Stripe status paused, or pause_collection skipping the next renewal);
    cancelling (cancel_at_period_end or cancel_at set); otherwise active (active, trialing).
    The first four after "incomplete" are *live*: a subscriber the shop still has.
    """

    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"


LIVE_STATES = (
    SubscriberState.ACTIVE,
    SubscriberState.PAST_DUE,
    SubscriberState.PAUSED,
    SubscriberState.CANCELLING,
)
NEVER_STARTED = (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED)
HISTORY_SHOWN = 200


def subscriber_state() -> ColumnElement[str]:
    """The subscription's SubscriberState as SQL (see its docstring for the order)."""
    return case(
        (Subscription.status == SubscriptionStatus.CANCELED, SubscriberState.CANCELLED.value),
        (Subscription.status.in_(NEVER_STARTED), SubscriberState.INCOMPLETE.value),
        (
            Subscription.status.in_([SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID]),
            SubscriberState.PAST_DUE.value,
        ),
        (
            or_(
                Subscription.status == SubscriptionStatus.PAUSED,
                Subscription.pause_behavior.is_not(None),
            ),
            SubscriberState.PAUSED.value,
        ),
        (
            or_(Subscription.cancel_at_period_end.is_(True), Subscription.cancel_at.is_not(None)),
            SubscriberState.CANCELLING.value,
        ),
        else_=SubscriberState.ACTIVE.value,
    )


def _ended_at() -> ColumnElement[datetime]:
    """When a cancelled subscription ended (Stripe's ended_at, else its canceled_at)."""
    return func.coalesce(Subscription.ended_at, Subscription.canceled_at)


def live_just_before(moment: datetime) -> ColumnElement[bool]:
    """Whether the subscription was live just before `moment`: it had started (it was created
    before, and was ever paid for) and had not ended by then. A cancelled subscription that
    records no end at all is taken as ended."""
    return and_(
        Subscription.status.not_in(NEVER_STARTED),
        Subscription.created_at < moment,
        or_(Subscription.ended_at.is_(None), Subscription.ended_at >= moment),
        or_(
            Subscription.status != SubscriptionStatus.CANCELED,
            Subscription.ended_at >= moment,
            and_(Subscription.ended_at.is_(None), Subscription.canceled_at >= moment),
        ),
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def subscriber_figures(
    *,
    now: datetime,
    month_start: datetime,
    window_start: datetime,
    points: Sequence[datetime],
) -> Select[tuple[int, ...]]:
    """One row per plan, in one pass over the subscriptions, whatever their number: how many
    are in each SubscriberState now; how many started since `month_start`; how many ended since
    `month_start` and in the window (`window_start`, `now`]; how many were live just before
    `window_start`; and how many were live just before each of `points` (columns point_0 ...).
    """
    ended = _ended_at()
    state = subscriber_state()
    cancelled = Subscription.status == SubscriptionStatus.CANCELED
    columns: list[ColumnElement[int]] = [
        _count_if(state == member.value).label(member.value) for member in SubscriberState
    ]
    columns += [
        _count_if(
            and_(Subscription.status.not_in(NEVER_STARTED), Subscription.created_at >= month_start)
        ).label("new_this_month"),
        _count_if(and_(cancelled, ended >= month_start)).label("ended_this_month"),
        _count_if(and_(cancelled, ended > window_start, ended <= now)).label("ended_in_window"),
        _count_if(live_just_before(window_start)).label("live_at_window_start"),
    ]
    columns += [
        _count_if(live_just_before(point)).label(f"point_{number}")
        for number, point in enumerate(points)
    ]
    return select(Subscription.plan_id, *columns).group_by(Subscription.plan_id)


def plans_with_boxes() -> Select[tuple[Plan]]:
    """Every plan with its box, in catalogue order (retired ones too: they still have
    subscribers)."""
    return (
        select(Plan)
        .join(Plan.box)
        .options(contains_eager(Plan.box))
        .order_by(Box.position, Box.name, Plan.term_months)
    )


def month_box_counts(month: str) -> Select[tuple[int, int]]:
    """(boxes due in `month`, of which shipped): the month's scheduled calendar boxes."""
    return (
        select(
            func.count(CalendarBox.id),
            _count_if(Shipment.status == ShipmentStatus.SHIPPED),
        )
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(CalendarBox.ship_month == month, CalendarBox.status == BoxStatus.SCHEDULED)
    )


def failed_event_count() -> Select[tuple[int]]:
    return select(func.count(WebhookEvent.id)).where(WebhookEvent.outcome == EventOutcome.FAILED)


def subscription_list(
    *,
    search: str = "",
    box_id: int | None = None,
    term_months: int | None = None,
    states: Sequence[SubscriberState] | None = None,
    started: tuple[datetime, datetime] | None = None,
    ended: tuple[datetime, datetime] | None = None,
    customer_id: int | None = None,
) -> Select[tuple[Subscription]]:
    """Subscriptions, newest first, with customer, plan and box loaded; `search` matches the
    customer's email or name anywhere, case-insensitively, as literal text (% and _ too).

    `started` = (from, before): subscriptions created then that were ever paid for; `ended`:
    cancelled subscriptions that ended then (see `_ended_at`)."""
    query = (
        select(Subscription)
        .join(Subscription.customer)
        .join(Subscription.plan)
        .join(Plan.box)
        .options(
            contains_eager(Subscription.customer),
            contains_eager(Subscription.plan).contains_eager(Plan.box),
        )
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )
    if search:
        query = query.where(
            or_(
                Customer.email.icontains(search, autoescape=True),
                Customer.name.icontains(search, autoescape=True),
            )
        )
    if box_id is not None:
        query = query.where(Plan.box_id == box_id)
    if term_months is not None:
        query = query.where(Plan.term_months == term_months)
    if states is not None:
        query = query.where(subscriber_state().in_([state.value for state in states]))
    if started is not None:
        query = query.where(
            Subscription.status.not_in(NEVER_STARTED),
            Subscription.created_at >= started[0],
            Subscription.created_at < started[1],
        )
    if ended is not None:
        query = query.where(
            Subscription.status == SubscriptionStatus.CANCELED,
            _ended_at() >= ended[0],
            _ended_at() < ended[1],
        )
    if customer_id is not None:
        query = query.where(Subscription.customer_id == customer_id)
    return query


def subscription_for_admin(subscription_id: int) -> Select[tuple[Subscription]]:
    """One subscription with its customer, plan and box, and its SubscriberState."""
    return (
        select(Subscription, subscriber_state())
        .where(Subscription.id == subscription_id)
        .options(
            joinedload(Subscription.customer), joinedload(Subscription.plan).joinedload(Plan.box)
        )
    )


def subscription_events(stripe_subscription_id: str) -> Select[tuple[WebhookEvent]]:
    """The latest HISTORY_SHOWN recorded Stripe events about the subscription, newest first."""
    return (
        select(WebhookEvent)
        .where(WebhookEvent.stripe_subscription_id == stripe_subscription_id)
        .order_by(WebhookEvent.stripe_created_at.desc(), WebhookEvent.id.desc())
        .limit(HISTORY_SHOWN)
    )


def subscription_invoices(subscription_id: int) -> Select[tuple[Invoice]]:
    """The subscription's invoices, newest first."""
    return (
        select(Invoice)
        .where(Invoice.subscription_id == subscription_id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
    )


def subscription_calendar(subscription_id: int) -> Select[tuple[CalendarBox]]:
    """Every box the subscription was granted, latest month first, each with its shipment."""
    return (
        select(CalendarBox)
        .outerjoin(Shipment, Shipment.calendar_box_id == CalendarBox.id)
        .where(CalendarBox.subscription_id == subscription_id)
        .options(contains_eager(CalendarBox.shipment), joinedload(CalendarBox.box))
        .order_by(CalendarBox.ship_month.desc(), CalendarBox.id.desc())
    )


def subscription_counts(customer_ids: Sequence[int]) -> Select[tuple[int, int, int]]:
    """(customer id, subscriptions, live subscriptions) for each of these customers."""
    return (
        select(
            Subscription.customer_id,
            func.count(Subscription.id),
            _count_if(subscriber_state().in_([state.value for state in LIVE_STATES])),
        )
        .where(Subscription.customer_id.in_(customer_ids))
        .group_by(Subscription.customer_id)
    )
