"""Box pages: the range and each box."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, make_response, render_template

from shop.catalog.models import lowest_monthly_cents
from shop.catalog.queries import active_box, active_boxes_with_plans
from shop.extensions import db
from shop.site.page_cache import CATALOGUE, hole, register_hole, shared_page

bp = Blueprint("catalog", __name__, url_prefix="/boxes")

# Each subscribe form carries a fresh checkout attempt (the idempotency key of the Checkout
# session it starts), made for each visitor even on a shared page.
CHECKOUT_ATTEMPT_HOLE = "checkout-attempt"
register_hole(CHECKOUT_ATTEMPT_HOLE, lambda: secrets.token_urlsafe(16))


@bp.get("/")
@shared_page(CATALOGUE)
def index() -> str:
    boxes = db.session.scalars(active_boxes_with_plans()).all()
    from_cents = {box.id: lowest_monthly_cents(box.plans) for box in boxes}
    return render_template("catalog/index.html", boxes=boxes, from_cents=from_cents)


@bp.get("/<slug>")
@shared_page(CATALOGUE)
def box(slug: str) -> Response:
    box = db.one_or_404(active_box(slug))
    monthly = next((plan for plan in box.plans if plan.term_months == 1), None)
    page = render_template(
        "catalog/box.html",
        box=box,
        plans=box.plans,
        monthly=monthly,
        checkout_attempt=hole(CHECKOUT_ATTEMPT_HOLE),
    )
    response = make_response(page)
    # Each render carries a fresh checkout nonce (and the visitor's CSRF token).
    response.headers["Cache-Control"] = "private, no-store"
    return response
