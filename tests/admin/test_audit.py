"""The audit log: every admin action is written with who and when, in the action's transaction,
and the owner reads it at /admin/audit."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.audit.services import COMMAND_LINE, record_admin_action
from shop.billing.models import EventOutcome, Shipment, ShipmentStatus
from shop.comments.models import CommentStatus
from shop.extensions import db
from shop.mail.models import EmailStatus, QueuedEmail
from tests.admin.test_jobs import make_event
from tests.admin.test_shipments import MONTH, mark, run
from tests.builders.billing import make_customer, make_plan, many_shipments
from tests.builders.content import make_article, make_box, make_comment
from tests.conftest import ADMIN_EMAIL
from tests.helpers import csrf_token, visible_text


def entries() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_moderating_a_comment_is_logged_with_who_and_what(admin_client: FlaskClient) -> None:
    comment = make_comment(make_article(), status=CommentStatus.PENDING, email="reader@example.com")
    token = csrf_token(admin_client, "/admin/comments")
    admin_client.post(
        f"/admin/comments/{comment.id}/moderate", data={"action": "approve", "csrf_token": token}
    )
    [entry] = entries()
    assert entry.actor_email == ADMIN_EMAIL
    assert entry.action == "comment.approve"
    assert entry.subject == f"comment:{comment.id}"
    assert entry.details["ids"] == [comment.id]
    # The log names people by id only: an erased commenter leaves nothing in it.
    assert "reader@example.com" not in entry.summary + str(entry.details)
    page = visible_text(admin_client.get("/admin/audit"))
    assert ADMIN_EMAIL in page and f"Approved 1 comment (#{comment.id})" in page


def test_a_bulk_action_is_one_entry_with_every_id(admin_client: FlaskClient) -> None:
    article = make_article()
    ids = [make_comment(article, status=CommentStatus.PENDING).id for _ in range(7)]
    token = csrf_token(admin_client, "/admin/comments")
    admin_client.post(
        "/admin/comments/bulk",
        data={"action": "spam", "ids": [str(i) for i in ids], "csrf_token": token},
    )
    [entry] = entries()
    assert entry.action == "comment.spam" and entry.details["count"] == 7
    assert entry.details["ids"] == sorted(ids)
    assert entry.summary.startswith("Marked as spam 7 comments (#")


def test_an_action_that_changes_nothing_is_not_logged(admin_client: FlaskClient) -> None:
    comment = make_comment(make_article(), status=CommentStatus.APPROVED)
    token = csrf_token(admin_client, "/admin/comments")
    admin_client.post(
        "/admin/comments/bulk",
        data={"action": "approve", "ids": [str(comment.id)], "csrf_token": token},
    )
    assert entries() == []


def test_edits_replies_and_deletes_are_logged(admin_client: FlaskClient) -> None:
    article = make_article()
    comment = make_comment(article, status=CommentStatus.PENDING)
    spam = make_comment(article, status=CommentStatus.SPAM)
    token = csrf_token(admin_client, "/admin/comments")
    admin_client.post(
        f"/admin/comments/{comment.id}/edit", data={"body": "Tidied", "csrf_token": token}
    )
    admin_client.post(
        f"/admin/comments/{comment.id}/reply", data={"body": "Thanks!", "csrf_token": token}
    )
    admin_client.post(
        f"/admin/comments/{spam.id}/moderate", data={"action": "delete", "csrf_token": token}
    )
    assert [entry.action for entry in entries()] == [
        "comment.edit",
        "comment.reply",
        "comment.delete",
    ]
    assert "approving it" in entries()[1].summary


def test_shipping_actions_are_logged(admin_client: FlaskClient) -> None:
    plan = make_plan(make_box("musclebox", "MuscleBox", position=1), term_months=3)
    many_shipments(plan, MONTH, 3)
    run(admin_client)
    shipments = list(db.session.scalars(select(Shipment.id).order_by(Shipment.id)))
    mark(admin_client, shipments[:2], "shipped", carrier="Australia Post", tracking_number="AB123")
    actions = [(entry.action, entry.subject) for entry in entries()]
    assert actions == [("shipment.run", f"month:{MONTH}"), ("shipment.shipped", "")]
    assert entries()[1].details["ids"] == shipments[:2]
    assert "AB123" in entries()[1].summary


def test_a_refused_action_leaves_no_entry(admin_client: FlaskClient) -> None:
    """The entry is in the action's transaction: an action that fails writes nothing."""
    plan = make_plan(make_box("musclebox", "MuscleBox", position=1), term_months=3)
    many_shipments(plan, MONTH, 1)
    response = mark(admin_client, [999_999], ShipmentStatus.SHIPPED.value)
    assert response.status_code == 404
    comment = make_comment(make_article(), status=CommentStatus.PENDING)
    admin_client.post(  # no CSRF token
        f"/admin/comments/{comment.id}/moderate", data={"action": "approve"}
    )
    assert entries() == []


def test_process_again_and_send_again_are_logged(admin_client: FlaskClient) -> None:
    record = make_event(EventOutcome.FAILED, error="boom")
    email = QueuedEmail(
        customer_id=make_customer().id,
        template="box_shipped",
        dedupe_key="box_shipped:1",
        message_id="<1@musclebox.test>",
        status=EmailStatus.FAILED,
        attempts=10,
    )
    db.session.add(email)
    db.session.commit()
    token = csrf_token(admin_client, "/admin/events")
    admin_client.post(f"/admin/events/{record.id}/process", data={"csrf_token": token})
    admin_client.post(f"/admin/emails/{email.id}/send", data={"csrf_token": token})
    logged = entries()
    assert [entry.action for entry in logged] == ["event.process_again", "email.send_again"]
    assert logged[0].subject == "event:evt_admin_1" and "failed after 10" in logged[0].summary
    assert logged[1].subject == f"email:{email.id}"


def test_a_command_is_logged_as_the_command_line(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["shipping-run", "--month", MONTH])
    assert result.exit_code == 0, result.output
    [entry] = entries()
    assert entry.actor_email == COMMAND_LINE and entry.action == "shipment.run"


def test_filters_by_area_and_admin_and_pages_by_fifty(admin_client: FlaskClient) -> None:
    for n in range(60):
        record_admin_action("comment.approve", f"Approved comment #{n}", actor="a@musclebox.test")
    for n in range(5):
        record_admin_action("article.publish", f"Published article #{n}", actor="b@musclebox.test")
    db.session.commit()
    first = visible_text(admin_client.get("/admin/audit"))
    assert "Published article #4" in first  # newest first
    assert "Page 1 of 2" in first
    assert "Approved comment #0" in visible_text(admin_client.get("/admin/audit?page=2"))
    articles = visible_text(admin_client.get("/admin/audit?area=article"))
    assert "Published article #0" in articles and "Approved comment" not in articles
    only_a = visible_text(admin_client.get("/admin/audit?actor=a%40musclebox.test"))
    assert "Published article" not in only_a and "Approved comment #59" in only_a
    nobody = visible_text(admin_client.get("/admin/audit?actor=ghost%40musclebox.test"))
    assert "Nothing matches that filter" in nobody


def test_bad_filters_are_clear_4xx(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/audit?area=nonsense").status_code == 400
    assert admin_client.get("/admin/audit?area=%27%20OR%201%3D1").status_code == 400
    assert admin_client.get(f"/admin/audit?actor={'x' * 300}").status_code == 400
    assert admin_client.get("/admin/audit?page=abc").status_code == 404
    assert admin_client.get("/admin/audit?page=0").status_code == 404


def test_details_are_escaped(admin_client: FlaskClient) -> None:
    record_admin_action(
        "settings.comments", "Changed <b>1</b> setting", details={"note": "<script>x</script>"}
    )
    db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "<script>x" not in page and "<b>1</b>" not in page
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1
