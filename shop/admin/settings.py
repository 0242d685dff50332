"""The admin's comment settings page.

Routes on the admin blueprint `bp` (guarded once, in `shop.admin.views.require_admin`):

- `GET /admin/settings/comments` — the moderation policy's settings and the comments per article
  page, as in force now (the environment's COMMENT_* defaults until an admin first saves).
- `POST /admin/settings/comments` — save them (`shop.comments.settings.save_comment_settings`):
  they apply from the next request, in every worker. Any field in error shows the form again
  (400) with each error at its field and what was typed kept; nothing is saved then.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from shop.admin.settings_forms import (
    MAX_ENTRIES,
    MAX_LIST_TEXT,
    CommentSettingsForm,
)
from shop.admin.views import bp
from shop.comments.settings import current_comment_settings, save_comment_settings


@bp.route("/settings/comments", methods=["GET", "POST"])
def comment_settings() -> Response | tuple[str, int] | str:
    if request.method == "GET":
        return _page(CommentSettingsForm.showing(current_comment_settings()))
    form = CommentSettingsForm()
    if not form.validate():
        return _page(form), 400
    change = save_comment_settings(form.settings())
    if change.changed:
        flash("Comment settings saved: they apply from the next comment and page view.", "success")
    else:
        flash(change.summary, "info")
    return redirect(url_for("admin.comment_settings"), code=303)


def _page(form: CommentSettingsForm) -> str:
    return render_template(
        "admin/comment_settings.html",
        form=form,
        settings=current_comment_settings(),
        max_entries=MAX_ENTRIES,
        max_list_text=MAX_LIST_TEXT,
    )
