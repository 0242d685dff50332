"""The admin area: signing in and out, and comment moderation.

The dashboard is in dashboard.py, the shipping pages in shipping.py, on the same blueprint.

Every view of the blueprint is guarded once, in `require_admin` (before_request); only the
sign-in page is open. Admin pages are never cached and never indexed. Sessions (their epoch and
ADMIN_SESSION_HOURS) are kept by shop.accounts.sessions; the lockout by shop.accounts.lockout.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from shop.accounts.services import (
    AdminSignInLocked,
    authenticate_admin,
    device_token,
    is_known_device,
)
from shop.accounts.sessions import (
    ADMIN_SESSION_EXPIRED,
    admin_session_expired,
    end_admin_session,
    renew_session,
    start_admin_session,
)
from shop.admin.forms import (
    ACTION_LABELS,
    BulkModerateForm,
    CommentTextForm,
    LoginForm,
    ModerateForm,
    ReplyForm,
)
from shop.admin.navigation import navigation
from shop.billing.queries import to_pack_count
from shop.comments.models import Comment, CommentStatus
from shop.comments.queries import comments_with_status, pending_count, status_counts
from shop.comments.services import (
    CommentRejected,
    ModerationAction,
    ModerationResult,
    approve_and_reply,
    edit_comment_text,
    moderate,
)
from shop.extensions import db, limiter
from shop.site.headers import private_page
from shop.site.params import as_id, page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

OPEN_ENDPOINTS = frozenset({"admin.login"})
COMMENTS_PER_ADMIN_PAGE = 50
LOGIN_FAILED = "That email and password don't match an admin account."
# Marks a browser an admin signed in on (see shop.accounts.services.device_token).
DEVICE_COOKIE = "admin_device"

TAB_LABELS: dict[CommentStatus, str] = {
    CommentStatus.PENDING: "Pending",
    CommentStatus.APPROVED: "Approved",
    CommentStatus.SPAM: "Spam",
    CommentStatus.TRASH: "Trash",
}

# The actions offered in each tab, in the order they are shown (WordPress's choice).
TAB_ACTIONS: dict[CommentStatus, tuple[ModerationAction, ...]] = {
    CommentStatus.PENDING: (
        ModerationAction.APPROVE,
        ModerationAction.SPAM,
        ModerationAction.TRASH,
    ),
    CommentStatus.APPROVED: (
        ModerationAction.UNAPPROVE,
        ModerationAction.SPAM,
        ModerationAction.TRASH,
    ),
    CommentStatus.SPAM: (ModerationAction.RESTORE, ModerationAction.DELETE),
    CommentStatus.TRASH: (ModerationAction.RESTORE, ModerationAction.DELETE),
}


def _login_rate_limit() -> str:
    return current_app.config["ADMIN_LOGIN_RATE_LIMIT"]


@bp.before_request
def require_admin() -> Response | None:
    """Send anyone who is not a signed-in admin to the sign-in page (saying so if their
    session ran out)."""
    if current_user.is_authenticated:
        return None
    expired = admin_session_expired()
    if expired:
        renew_session()  # the stale sign-in goes with the session
        flash(ADMIN_SESSION_EXPIRED, "info")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    next_path = None
    if request.method == "GET":
        next_path = request.full_path.rstrip("?")
        if not expired:
            flash("Please sign in to see that page.", "info")
    return redirect(url_for("admin.login", next=next_path), code=303)


bp.after_request(private_page)


@bp.context_processor
def admin_globals() -> dict[str, object]:
    if not current_user.is_authenticated:
        return {}
    return {
        "admin_pending_count": db.session.scalar(pending_count()) or 0,
        "admin_to_pack_count": db.session.scalar(to_pack_count()) or 0,
        "tab_labels": TAB_LABELS,
        "action_labels": ACTION_LABELS,
        **navigation(),
    }


def _safe_next(target: str | None) -> str | None:
    """`target` when it is a path inside the admin area, else None (no open redirect)."""
    if not target or "\\" in target or any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    if parts.path != "/admin" and not parts.path.startswith("/admin/"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login() -> Response | tuple[str, int] | str:
    next_path = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("admin.dashboard"), code=303)
    form = LoginForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("admin/login.html", form=form, next_path=next_path), 400
        email = form.email.data or ""
        try:
            admin = authenticate_admin(
                email,
                form.password.data or "",
                known_device=is_known_device(request.cookies.get(DEVICE_COOKIE), email),
            )
        except AdminSignInLocked as exc:
            form.password.data = ""
            page = render_template(
                "admin/login.html", form=form, next_path=next_path, login_error=str(exc)
            )
            return page, 429
        if admin is None:
            form.password.data = ""
            return render_template(
                "admin/login.html", form=form, next_path=next_path, login_error=LOGIN_FAILED
            )
        start_admin_session(admin)
        response = redirect(next_path or url_for("admin.dashboard"), code=303)
        response.set_cookie(
            DEVICE_COOKIE,
            device_token(admin.email),
            max_age=current_app.config["ADMIN_DEVICE_DAYS"] * 24 * 3600,
            path=url_for("admin.login"),
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response
    return render_template("admin/login.html", form=form, next_path=next_path)


@bp.post("/logout")
def logout() -> Response:
    """Sign out here and on every other device."""
    end_admin_session()
    flash("You've signed out.", "success")
    return redirect(url_for("admin.login"), code=303)


def _status_counts() -> dict[CommentStatus, int]:
    counts = dict.fromkeys(CommentStatus, 0)
    for status, number in db.session.execute(status_counts()):
        counts[CommentStatus(status)] = number
    return counts


def _tab(raw: str | None) -> CommentStatus:
    try:
        return CommentStatus(raw or CommentStatus.PENDING)
    except ValueError:
        abort(404)


@bp.get("/comments")
def comments() -> Response | str:
    status = _tab(request.args.get("status"))
    page = db.paginate(
        comments_with_status(status),
        page=page_number(),
        per_page=COMMENTS_PER_ADMIN_PAGE,
        max_per_page=COMMENTS_PER_ADMIN_PAGE,
        error_out=False,
    )
    if not page.items and page.page > 1:
        # The last comments of a page were just moderated away: show the last page there is.
        return redirect(_comments_url(status, page.pages or 1), code=303)
    return render_template(
        "admin/comments.html",
        status=status,
        page=page,
        counts=_status_counts(),
        actions=TAB_ACTIONS[status],
        bulk_form=BulkModerateForm(),
        action_form=ModerateForm(),
        reply_form=ReplyForm(),
    )


def _comments_url(status: CommentStatus, page: int) -> str:
    return url_for(
        "admin.comments",
        status=status.value,
        page=page if page > 1 else None,
    )


def _return_url(default: CommentStatus = CommentStatus.PENDING) -> str:
    """Back to the tab and page the admin came from (given in the query string)."""
    try:
        status = CommentStatus(request.args.get("status", default))
    except ValueError:
        status = default
    page = request.args.get("page", 1, type=int) or 1
    return _comments_url(status, max(page, 1))


def _done_message(action: ModerationAction, result: ModerationResult) -> str:
    past = {
        ModerationAction.APPROVE: "approved",
        ModerationAction.UNAPPROVE: "unapproved",
        ModerationAction.SPAM: "marked as spam",
        ModerationAction.TRASH: "moved to the trash",
        ModerationAction.RESTORE: "restored",
        ModerationAction.DELETE: "deleted permanently",
    }[action]
    changed = result.changed
    parts = [
        f"{changed} comment{'' if changed == 1 else 's'} {past}."
        if changed
        else "Nothing changed: those comments were already there."
    ]
    if result.waiting_for_parent:
        parts.append(
            f"{result.waiting_for_parent} repl{'y is' if result.waiting_for_parent == 1 else 'ies are'} "
            "still pending: approve the comment it answers first."
        )
    if result.replies_held:
        parts.append(
            f"{result.replies_held} approved repl{'y was' if result.replies_held == 1 else 'ies were'} "
            "held with it (see Pending)."
        )
    return " ".join(parts)


def _comment_or_404(comment_id: int) -> Comment:
    """The comment with this id from the URL; 404 for one no database id could be."""
    if as_id(comment_id) is None:
        abort(404)
    return db.get_or_404(Comment, comment_id)


@bp.post("/comments/<int:comment_id>/moderate")
def moderate_one(comment_id: int) -> Response:
    comment = _comment_or_404(comment_id)
    form = ModerateForm()
    if not form.validate():
        abort(400, "That isn't an action we know.")
    action = form.moderation_action
    if action not in TAB_ACTIONS[comment.status]:
        abort(400, "That action doesn't apply to this comment.")
    result = moderate([comment.id], action, current_user.email)
    flash(_done_message(action, result), "success")
    return redirect(_return_url(), code=303)


@bp.post("/comments/bulk")
def moderate_bulk() -> Response:
    form = BulkModerateForm()
    if not form.validate():
        abort(400, "Choose one of the listed actions and tick the comments to apply it to.")
    if not form.ids.data:
        flash("Select at least one comment first. Nothing was changed.", "error")
        return redirect(_return_url(), code=303)
    action = form.moderation_action
    result = moderate(form.ids.data, action, current_user.email)
    flash(_done_message(action, result), "success")
    return redirect(_return_url(), code=303)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_comment(comment_id: int) -> Response | tuple[str, int] | str:
    comment = _comment_or_404(comment_id)
    form = CommentTextForm(data={"body": comment.body} if request.method == "GET" else None)
    if request.method == "POST":
        if form.validate():
            try:
                edit_comment_text(comment, form.body.data or "", current_user.email)
            except CommentRejected as rejection:
                form.body.errors = [*form.body.errors, str(rejection)]
            else:
                flash(f"The comment by {comment.author_name} was saved.", "success")
                return redirect(_return_url(comment.status), code=303)
        return render_template("admin/edit_comment.html", comment=comment, form=form), 400
    return render_template("admin/edit_comment.html", comment=comment, form=form)


@bp.route("/comments/<int:comment_id>/reply", methods=["GET", "POST"])
def reply(comment_id: int) -> Response | tuple[str, int] | str:
    comment = _comment_or_404(comment_id)
    form = ReplyForm()
    if request.method == "POST":
        if form.validate():
            try:
                approve_and_reply(
                    comment, form.body.data or "", current_user.email, _reply_display_name()
                )
            except CommentRejected as rejection:
                form.body.errors = [*form.body.errors, str(rejection)]
            else:
                flash(
                    f"The comment by {comment.author_name} is approved and your reply is live.",
                    "success",
                )
                return redirect(_return_url(), code=303)
        return render_template("admin/reply.html", comment=comment, form=form), 400
    return render_template("admin/reply.html", comment=comment, form=form)


def _reply_display_name() -> str:
    return current_app.config.get("ADMIN_REPLY_NAME") or f"{current_app.config['SITE_NAME']} team"


# The shipping pages register their routes on `bp` (see shop/admin/shipping.py).
from shop.admin import (  # noqa: E402, F401
    articles,
    audit,
    dashboard,
    jobs,
    privacy,
    promotions,
    settings,
    shipping,
    subscribers,
)
