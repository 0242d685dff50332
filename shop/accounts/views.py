"""The customer's account area."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.get("/")
def account() -> str:
    return render_template("accounts/account.html")
