"""The audit log page: who did what in the admin area, and when.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/audit?area=<area>&actor=<admin email>&page=N` — entries newest first, 50 a page,
  optionally one area's (comments, shipping, articles, ...) or one admin's. An area the log does
  not have is a 400; an admin with no entries shows an empty list.

Entries are written by the services that do the actions (`shop.audit.services`), in the same
transaction, so the page shows exactly what happened. Nothing here changes them.
"""

from __future__ import annotations

from flask import abort, render_template, request, url_for

from shop.admin.views import bp
from shop.audit.queries import audit_actors, audit_entries
from shop.extensions import db
from shop.site.params import page_number

PER_PAGE = 50
# The first part of an entry's action ("comment.approve") and what the filter calls it.
AREAS: dict[str, str] = {
    "comment": "Comments",
    "shipment": "Shipping",
    "article": "Articles",
    "author": "Authors",
    "promotion": "Promotions",
    "settings": "Settings",
    "privacy": "Privacy",
    "event": "Stripe events",
    "reconcile": "Reconcile",
    "email": "Emails",
}
MAX_ACTOR_LENGTH = 254


@bp.get("/audit")
def audit() -> str:
    area = request.args.get("area") or None
    if area is not None and area not in AREAS:
        abort(400, "That isn't an area of the audit log. Choose one from the list.")
    actor = request.args.get("actor") or None
    if actor is not None and len(actor) > MAX_ACTOR_LENGTH:
        abort(400, "That isn't an admin's email address.")
    page = db.paginate(
        audit_entries(area=area, actor=actor),
        page=page_number(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/audit.html",
        page=page,
        area=area,
        actor=actor,
        areas=AREAS,
        actors=db.session.scalars(audit_actors()).all(),
        page_url=lambda n: url_for("admin.audit", area=area, actor=actor, page=n),
    )
