"""Work off the request path: queued emails, and webhook events applied by jobs

Revision ID: d3f1a2b4c5e6
Revises: c7a1e2f3b4d5
Create Date: 2026-11-30 04:00:00

Events the old code left "processing" (applied inside the request) become "queued": the
worker's sweep applies them again, which changes nothing for one that was in fact applied.
Sign-in links get their token when their email is sent, so the hash may be empty until then.
"""
import sqlalchemy as sa
from alembic import op

revision = "d3f1a2b4c5e6"
down_revision = "c7a1e2f3b4d5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "queued_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Enum("pending", "sending", "sent", "dropped", "failed",
                                    name="emailstatus", native_enum=False,
                                    create_constraint=False, length=7), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_queued_emails_customer_id_customers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queued_emails")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_queued_emails_dedupe_key")),
    )
    op.create_index("ix_queued_emails_status_next_attempt_at", "queued_emails",
                    ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.func.now()))
    op.execute("UPDATE webhook_events SET outcome = 'queued' WHERE outcome = 'processing'")
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=10),
                              type_=sa.String(length=9), existing_nullable=False)

    with op.batch_alter_table("sign_in_links") as batch_op:
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=True)


def downgrade():
    with op.batch_alter_table("sign_in_links") as batch_op:
        batch_op.execute("DELETE FROM sign_in_links WHERE token_hash IS NULL")
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=9),
                              type_=sa.String(length=10), existing_nullable=False)
    op.execute("UPDATE webhook_events SET outcome = 'processing' WHERE outcome = 'queued'")
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.drop_column("next_attempt_at")
    op.drop_index("ix_queued_emails_status_next_attempt_at", table_name="queued_emails")
    op.drop_table("queued_emails")
