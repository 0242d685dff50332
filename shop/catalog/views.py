"""Box pages: the range and each box."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, make_response, render_template

from shop.catalog.queries import active_box, active_boxes
from shop.extensions import db

bp = Blueprint("catalog", __name__, url_prefix="/boxes")


@bp.get("/")
def index() -> str:
    boxes = db.session.scalars(active_boxes()).all()
    return render_template("catalog/index.html", boxes=boxes)


@bp.get("/<slug>")
def box(slug: str) -> Response:
    box = db.one_or_404(active_box(slug))
    monthly = next((plan for plan in box.plans if plan.term_months == 1), None)
    page = render_template(
        "catalog/box.html",
        box=box,
        plans=box.plans,
        monthly=monthly,
        checkout_attempt=secrets.token_urlsafe(16),
    )
    response = make_response(page)
    # Each render carries a fresh checkout nonce (and the visitor's CSRF token).
    response.headers["Cache-Control"] = "private, no-store"
    return response
