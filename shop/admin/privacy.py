"""The admin's privacy page: what the shop holds about a person, exported or erased.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`). Every
one that carries an email address is a POST with the CSRF token: the address never lands in a
URL, an access log or the browser's history.

- `GET /admin/privacy` — the form for an email address.
- `POST /admin/privacy` — look it up (`shop.privacy.services.look_up_person`, recorded in the
  audit log when someone is found): a summary of what is held (customer record, subscriptions,
  boxes and shipments, comments, emails, sign-in links), with the Export and Erase buttons, or
  "nothing held". Subscriptions are named by the same states as the subscriber pages.
- `POST /admin/privacy/export` — the JSON download of everything held
  (`shop.privacy.services.export_person`, recorded in the audit log), as an attachment, never
  cached.
- `POST /admin/privacy/erase` — without `confirm=yes`: the confirmation page, saying what goes,
  what is kept for the books, and what Stripe keeps; or why it can't be erased yet (a live
  subscription or a box to ship: 409, nothing changes). With `confirm=yes`: erase
  (`shop.privacy.services.erase_person`), then back to the form with what was done.

A malformed or overlong email is a form error (400); an address the shop holds nothing about is
a 404 page that says so (erasing twice ends there).
"""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from shop.admin.dashboard import STATE_LABELS
from shop.admin.privacy_forms import CONFIRM, EraseForm, PersonForm
from shop.admin.views import bp
from shop.db import utcnow
from shop.privacy.queries import PersonRecords, find_person
from shop.privacy.services import (
    ErasureRefused,
    NothingHeld,
    erase_person,
    export_person,
    look_up_person,
)

Page = Response | tuple[str, int] | str


def _page(
    form: PersonForm, records: PersonRecords | None = None, message: str | None = None
) -> str:
    return render_template(
        "admin/privacy.html", form=form, records=records, message=message, confirm=CONFIRM
    )


@bp.route("/privacy", methods=["GET", "POST"])
def privacy() -> Page:
    form = PersonForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate():
        return _page(form), 400
    try:
        records = look_up_person(form.email.data or "", state_labels=STATE_LABELS)
    except NothingHeld as nothing:
        return _page(form, message=str(nothing)), 404
    return _page(form, records)


@bp.post("/privacy/export")
def privacy_export() -> Page:
    form = PersonForm()
    if not form.validate():
        return _page(form), 400
    try:
        document = export_person(form.email.data or "")
    except NothingHeld as nothing:
        return _page(form, message=str(nothing)), 404
    who = f"customer-{document['customer']['id']}" if document["customer"] else "commenter"
    filename = f"privacy-export-{who}-{utcnow():%Y%m%d-%H%M%S}.json"
    response = Response(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/privacy/erase")
def privacy_erase() -> Page:
    form = EraseForm()
    if not form.validate():
        return _page(form, message=" ".join(form.confirm.errors) or None), 400
    email = form.email.data or ""
    if not form.confirmed:
        records = find_person(email, state_labels=STATE_LABELS)
        if not records.holds_anything:
            return _page(form, message=str(NothingHeld())), 404
        status = 409 if records.customer and records.erase_blockers else 200
        return render_template(
            "admin/privacy_erase.html", form=form, records=records, confirm=CONFIRM
        ), status
    try:
        result = erase_person(email)
    except NothingHeld as nothing:
        return _page(form, message=str(nothing)), 404
    except ErasureRefused as refused:
        records = find_person(email, state_labels=STATE_LABELS)
        return render_template(
            "admin/privacy_erase.html",
            form=form,
            records=records,
            confirm=CONFIRM,
            refused=refused,
        ), 409
    flash(result.summary(), "success")
    if result.stripe_customer_ids:
        flash(
            "Stripe still holds this person's details under "
            + ", ".join(result.stripe_customer_ids)
            + ": delete the customer in Stripe's dashboard too (Customers, then search the id).",
            "info",
        )
    return redirect(url_for("admin.privacy"), code=303)
