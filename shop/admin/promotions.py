"""The admin's promotion codes, kept in Stripe (see shop.billing.promotions for the contract).

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/promotions?after=<promo id>` — the codes, newest first, PER_PAGE a page (Stripe's
  cursor in `after`): code, discount, duration, expiry, redemption limit, times redeemed and
  whether it can be redeemed now.
- `GET|POST /admin/promotions/new` — create a coupon and its code; errors at the field (a code
  an active code has, a past expiry), post/redirect/get to the list on success.
- `GET|POST /admin/promotions/<promo id>/deactivate` — the confirmation, then `active=false`.

Stripe not answering: the page says so with a 503 (and Retry-After), as checkout does, and
nothing is created or recorded. A malformed cursor is a 400, a malformed or unknown code id a
404.
"""

from __future__ import annotations

import logging
import re

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for

from shop.admin.promotions_forms import (
    DeactivatePromotionForm,
    NewPromotionForm,
    new_submission,
)
from shop.admin.views import bp
from shop.billing.gateway import NotFoundAtProvider, PaymentProviderError
from shop.billing.promotions import (
    DuplicateCode,
    Promotion,
    PromotionState,
    create_promotion,
    deactivate_promotion,
    get_promotion,
    promotions_page,
)

logger = logging.getLogger(__name__)

PER_PAGE = 50
PROMOTION_ID = re.compile(r"promo_[A-Za-z0-9]{1,64}")
RETRY_AFTER_SECONDS = "30"
STATE_LABELS = {
    PromotionState.ACTIVE: "Active",
    PromotionState.EXPIRED: "Expired",
    PromotionState.USED_UP: "Used up",
    PromotionState.INACTIVE: "Deactivated",
}
STRIPE_DOWN = (
    "Stripe isn't answering right now, so nothing was changed. Please try again in a moment."
)


def _unavailable(page: str) -> Response:
    response = make_response(page, 503)
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _render_list(**context: object) -> str:
    return render_template(
        "admin/promotions.html",
        state_labels=STATE_LABELS,
        **context,
    )


@bp.get("/promotions")
def promotions() -> Response | str:
    after = request.args.get("after") or None
    if after is not None and not PROMOTION_ID.fullmatch(after):
        abort(400, "That isn't a page of promotion codes. Start from the first page.")
    try:
        page = promotions_page(after=after, per_page=PER_PAGE)
    except NotFoundAtProvider:
        abort(400, "That page of promotion codes isn't there any more. Start from the first page.")
    except PaymentProviderError as error:
        logger.warning("promotions list: stripe request %s failed", error.request_id)
        return _unavailable(_render_list(page=None, after=after, stripe_down=True))
    return _render_list(page=page, after=after, stripe_down=False)


@bp.route("/promotions/new", methods=["GET", "POST"])
def new_promotion() -> Response | tuple[str, int] | str:
    form = NewPromotionForm()
    if request.method == "GET":
        form.submission.data = new_submission()
        return render_template("admin/promotions_new.html", form=form)
    if not form.validate():
        if form.is_forged:
            abort(400, "This form is out of date or was not sent by the page. Please reload it.")
        return render_template("admin/promotions_new.html", form=form), 400
    try:
        promotion = create_promotion(form.new_promotion(), form.submission.data or "")
    except DuplicateCode as error:
        form.code.errors = [*form.code.errors, str(error)]
        form.submission.data = new_submission()
        return render_template("admin/promotions_new.html", form=form), 400
    except PaymentProviderError as error:
        logger.warning("promotion create: stripe request %s failed", error.request_id)
        form.submission.data = new_submission()
        page = render_template(
            "admin/promotions_new.html",
            form=form,
            form_message=(
                "Stripe didn't accept or didn't answer that request, so no code was created. "
                "Please try again in a moment."
            ),
        )
        return _unavailable(page)
    flash(f"Promotion code {promotion.code} is ready: customers can use it at checkout.", "success")
    return redirect(url_for("admin.promotions"), code=303)


@bp.route("/promotions/<promo_id>/deactivate", methods=["GET", "POST"])
def deactivate_promotion_code(promo_id: str) -> Response | str:
    if not PROMOTION_ID.fullmatch(promo_id):
        abort(404, "There's no such promotion code.")
    form = DeactivatePromotionForm()
    try:
        if request.method == "GET":
            promotion = _promotion_or_404(promo_id)
            return render_template(
                "admin/promotions_deactivate.html",
                promotion=promotion,
                form=form,
                state_labels=STATE_LABELS,
            )
        if not form.validate():
            abort(400, "This page was open too long. Please go back and press the button again.")
        try:
            promotion, changed = deactivate_promotion(promo_id)
        except NotFoundAtProvider:
            abort(404, "There's no such promotion code.")
    except PaymentProviderError as error:
        logger.warning("promotion deactivate: stripe request %s failed", error.request_id)
        return _unavailable(
            render_template("admin/promotions_unavailable.html", message=STRIPE_DOWN)
        )
    if changed:
        flash(
            f"Promotion code {promotion.code} is deactivated: no one can use it from now on. "
            "Subscriptions that already have its discount keep it.",
            "success",
        )
    else:
        flash(f"Promotion code {promotion.code} was already deactivated.", "info")
    return redirect(url_for("admin.promotions"), code=303)


def _promotion_or_404(promo_id: str) -> Promotion:
    try:
        return get_promotion(promo_id)
    except NotFoundAtProvider:
        abort(404, "There's no such promotion code.")
