"""The admin's shipping pages: a month's packing list, its shipping run, held boxes, the CSV.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/shipments?month=YYYY-MM&box=<id>&status=<status>&page=N` — the month (default:
  this month, shop time). Before the month's run it is a forecast of the scheduled boxes,
  addressed as their subscriptions are now, with the button that runs it; after, the month's
  shipments with counts per box, filters, and bulk/one-row "mark packed" and "mark shipped".
  Held boxes (all months) wait at the foot of the page for "Send it" or "Cancel it".
- `GET /admin/shipments.csv?month=YYYY-MM` (same filters) — the month's shipments for the
  packing team, streamed batch by batch. Shipments only: a month not yet run exports a header
  and no rows, and the page says to run shipping first (a forecast's addresses can still change,
  a label printed from one would be wrong).
- `POST /admin/shipments/run`, `POST /admin/shipments/mark`, `POST /admin/held-boxes/<id>` — each
  calls one service of `shop.billing.shipping`, flashes what happened and redirects back.

A malformed month, box or status is a 400 page saying what is expected; an unknown shipment or
held box is a 404 and nothing changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from shop.accounts.addresses import PostalAddress
from shop.admin.forms import (
    SHIPMENT_STATUS_LABELS,
    HeldBoxDecisionForm,
    MarkShipmentsForm,
    ShippingRunForm,
)
from shop.admin.views import bp
from shop.billing.calendar import BadMonth, add_months, current_month, parse_month
from shop.billing.models import CalendarBox, ShipmentStatus
from shop.billing.queries import (
    boxes_for_filter,
    boxes_not_in_run,
    boxes_not_in_run_counts,
    held_boxes,
    month_has_run,
    month_shipment_counts,
    month_shipments,
    overdue_months,
    packing_rows,
    skipping_subscriptions,
)
from shop.billing.shipping import (
    ShippingError,
    decide_held_box,
    mark_shipments,
    run_shipping,
    ship_to_of,
    tracking_url,
)
from shop.catalog.models import Box
from shop.dates import month_label
from shop.extensions import db
from shop.site.params import as_id, page_number

SHIPMENTS_PER_PAGE = 50
NOT_IN_RUN_SHOWN = 50
HELD_SHOWN = 200
CSV_BATCH_SIZE = 1000
CSV_HEADER = (
    "shipment id",
    "ship month",
    "status",
    "box",
    "plan",
    "box n of m",
    "name",
    "line1",
    "line2",
    "city",
    "state",
    "postcode",
    "country",
    "customer email",
    "carrier",
    "tracking number",
    "reprint label",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class BoxCount:
    """How many of one box the month needs, by where they stand."""

    box_id: int
    name: str
    by_status: dict[ShipmentStatus, int] = field(default_factory=dict)
    not_in_run: int = 0

    @property
    def in_run(self) -> int:
        return sum(self.by_status.values())

    @property
    def total(self) -> int:
        return self.in_run + self.not_in_run


@dataclass(frozen=True)
class Filters:
    month: str
    box_id: int | None
    status: ShipmentStatus | None
    page: int

    def args(self, **changes: object) -> dict[str, object]:
        """Query-string arguments for url_for (defaults left out)."""
        values: dict[str, object] = {
            "month": self.month,
            "box": self.box_id,
            "status": self.status.value if self.status else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value is not None}


def _month_arg() -> str:
    raw = request.args.get("month", "")
    if not raw.strip():
        return current_month()
    try:
        return parse_month(raw)
    except BadMonth as error:
        abort(400, str(error))


def _box_arg(boxes: Sequence[Box]) -> int | None:
    raw = request.args.get("box", "")
    if not raw:
        return None
    box_id = as_id(raw)
    if box_id is None or all(box.id != box_id for box in boxes):
        abort(400, "That isn't a box we sell. Choose one from the list, or all boxes.")
    return box_id


def _status_arg() -> ShipmentStatus | None:
    raw = request.args.get("status", "")
    if not raw:
        return None
    try:
        return ShipmentStatus(raw)
    except ValueError:
        abort(400, "A shipment's status is to_pack, packed or shipped.")


def _filters(boxes: Sequence[Box]) -> Filters:
    return Filters(_month_arg(), _box_arg(boxes), _status_arg(), page_number())


def _box_counts(month: str, has_run: bool) -> list[BoxCount]:
    counts: dict[int, BoxCount] = {}
    if has_run:
        for box_id, name, status, number in db.session.execute(month_shipment_counts(month)):
            entry = counts.setdefault(box_id, BoxCount(box_id, name))
            entry.by_status[ShipmentStatus(status)] = number
    for box_id, name, number in db.session.execute(boxes_not_in_run_counts(month)):
        counts.setdefault(box_id, BoxCount(box_id, name)).not_in_run = number
    return list(counts.values())


def _addressed(boxes: Sequence[CalendarBox]) -> list[tuple[CalendarBox, PostalAddress]]:
    """Each box with the address the run would use now."""
    return [(box, ship_to_of(box.subscription)) for box in boxes]


def _render_month(
    filters: Filters, boxes: Sequence[Box], mark_form: MarkShipmentsForm | None = None
) -> Response | str:
    month = filters.month
    has_run = bool(db.session.scalar(month_has_run(month)))
    if has_run:
        query = month_shipments(month, box_id=filters.box_id, status=filters.status)
    else:
        query = boxes_not_in_run(month, box_id=filters.box_id)
    page = db.paginate(
        query,
        page=filters.page,
        per_page=SHIPMENTS_PER_PAGE,
        max_per_page=SHIPMENTS_PER_PAGE,
        error_out=False,
    )
    if not page.items and filters.page > 1:
        # Past the last page (the filter shrank the list): show the last page there is.
        return redirect(url_for("admin.shipments", **filters.args(page=page.pages or None)), 303)
    counts = _box_counts(month, has_run)
    not_in_run_count = sum(entry.not_in_run for entry in counts)
    not_in_run = []
    if has_run and not_in_run_count:
        not_in_run = _addressed(
            db.session.scalars(boxes_not_in_run(month).limit(NOT_IN_RUN_SHOWN)).all()
        )
    return render_template(
        "admin/shipments.html",
        filters=filters,
        month=month,
        month_name=month_label(month),
        previous_month=add_months(month, -1),
        next_month=add_months(month, 1),
        has_run=has_run,
        can_run=month <= add_months(current_month(), 1),
        page=page,
        forecast=[] if has_run else _addressed(page.items),
        counts=counts,
        not_in_run_count=not_in_run_count,
        not_in_run=not_in_run,
        boxes=boxes,
        status_labels=SHIPMENT_STATUS_LABELS,
        held=db.session.scalars(held_boxes().limit(HELD_SHOWN)).all(),
        skipping=db.session.scalars(skipping_subscriptions().limit(HELD_SHOWN)).all(),
        overdue=db.session.execute(overdue_months(current_month())).all(),
        held_limit=HELD_SHOWN,
        mark_form=mark_form or MarkShipmentsForm(formdata=None),
        tracking_url=tracking_url,
        month_label=month_label,
    )


@bp.get("/shipments")
def shipments() -> Response | str:
    boxes = db.session.scalars(boxes_for_filter()).all()
    return _render_month(_filters(boxes), boxes)


@bp.post("/shipments/run")
def run_shipping_month() -> Response:
    form = ShippingRunForm()
    if not form.validate():
        abort(400, "A month looks like 2026-12 (year, then month). Nothing was run.")
    month = form.month.data
    latest = add_months(current_month(), 1)
    if month > latest:  # the page offers no run button then either
        # A run addresses boxes as customers' addresses are now: months ahead would ship to
        # addresses that may change, and the page would still say the month is not run.
        flash(
            f"{month_label(month)} can't be run yet: run a month when you pack it (this month, "
            f"or {month_label(latest)} ahead of its cut-off). Nothing was run.",
            "error",
        )
        return redirect(url_for("admin.shipments", month=month), code=303)
    report = run_shipping(month)
    for number, line in enumerate(report.lines()):
        flash(line.strip(), "success" if number == 0 else "info")
    if report.created == 0 and report.already_in_run:
        flash(
            f"Nothing else changed: every box due in {month_label(month)} that can ship was "
            "already in the run.",
            "info",
        )
    return redirect(url_for("admin.shipments", month=month), code=303)


@bp.post("/shipments/mark")
def mark_shipments_bulk() -> Response | tuple[Response | str, int]:
    boxes = db.session.scalars(boxes_for_filter()).all()
    filters = _filters(boxes)
    form = MarkShipmentsForm()
    if not form.validate():
        if form.is_forged:
            abort(400, "Choose packed or shipped, a carrier from the list, and tick shipments.")
        return _render_month(filters, boxes, form), 400
    ids = form.shipment_ids
    if not ids:
        flash("Tick at least one shipment first. Nothing was changed.", "error")
        return redirect(url_for("admin.shipments", **filters.args()), code=303)
    status = form.shipment_status
    try:
        report = mark_shipments(
            ids,
            status,
            carrier=form.carrier.data or "",
            tracking_number=form.tracking_number.data or "",
        )
    except ShippingError as error:
        abort(404, str(error))
    message = (
        f"{report.changed} shipment{'' if report.changed == 1 else 's'} marked "
        f"{SHIPMENT_STATUS_LABELS[status].lower()}."
    )
    if report.emailed:
        message += (
            f" {report.emailed} customer{'' if report.emailed == 1 else 's'} will be emailed "
            "that their box is on its way."
        )
    flash(message, "success")
    return redirect(url_for("admin.shipments", **filters.args()), code=303)


@bp.post("/held-boxes/<raw_box_id>")
def decide_held(raw_box_id: str) -> Response:
    back_to = _month_arg()
    form = HeldBoxDecisionForm()
    if not form.validate():
        abort(400, "Choose “Send it” or “Cancel it”.")
    box_id = as_id(raw_box_id)
    if box_id is None:
        abort(404, "There's no such box.")
    db.get_or_404(CalendarBox, box_id, description="There's no such box.")
    try:
        box = decide_held_box(box_id, send=form.send)
    except ShippingError as error:
        # Most often the second click of a double click: the decision is already made.
        flash(f"{error} Nothing was changed.", "info")
        return redirect(url_for("admin.shipments", month=back_to), code=303)
    who = box.customer.name or box.customer.email
    when = month_label(box.ship_month)
    if form.send:
        flash(
            f"{who}'s {box.box.name} ({when}) will be sent: it is back on the calendar and the "
            f"next shipping run for {when} adds it.",
            "success",
        )
    else:
        flash(f"{who}'s {box.box.name} ({when}) is cancelled; it won't be shipped.", "success")
    return redirect(url_for("admin.shipments", month=back_to), code=303)


@bp.get("/shipments.csv")
def shipments_csv() -> Response:
    boxes = db.session.scalars(boxes_for_filter()).all()
    filters = _filters(boxes)
    response = Response(stream_with_context(_csv_lines(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="musclebox-shipments-{filters.month}.csv"'
    )
    return response


def _csv_lines(filters: Filters) -> Iterator[str]:
    """The header, then the month's shipments read CSV_BATCH_SIZE at a time (keyset on id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    # A byte-order mark, so that Excel reads the file as UTF-8 (names like "Zoë" stay whole);
    # csv readers that know UTF-8 ("utf-8-sig") skip it.
    yield "\ufeff"
    writer.writerow(CSV_HEADER)
    yield flush()
    after_id = 0
    while True:
        rows = db.session.execute(
            packing_rows(
                filters.month,
                after_id=after_id,
                limit=CSV_BATCH_SIZE,
                box_id=filters.box_id,
                status=filters.status,
            )
        ).all()
        if not rows:
            return
        for row in rows:
            writer.writerow(_csv_row(row))
        yield flush()
        after_id = rows[-1].id


def _csv_row(row) -> list[object]:  # type: ignore[no-untyped-def]
    return [
        row.id,
        row.ship_month,
        ShipmentStatus(row.status).value,
        _cell(row.box_name),
        "monthly" if row.plan_months == 1 else f"every {row.plan_months} months",
        f"{row.sequence} of {row.term_months}",
        _cell(row.ship_to_name),
        _cell(row.ship_to_line1),
        _cell(row.ship_to_line2),
        _cell(row.ship_to_city),
        _cell(row.ship_to_state),
        _cell(row.ship_to_postal_code),
        _cell(row.ship_to_country),
        _cell(row.email),
        _cell(row.carrier),
        _cell(row.tracking_number),
        "yes" if row.address_changed_at else "",
    ]


def _cell(value: str | None) -> str:
    """Text a spreadsheet shows as text: a would-be formula gets a leading apostrophe."""
    text = value or ""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
