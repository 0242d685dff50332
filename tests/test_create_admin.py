"""`flask create-admin EMAIL`: prompted or stdin password, stored as a scrypt hash."""

from __future__ import annotations

from sqlalchemy import select

from shop.accounts.models import AdminUser
from shop.extensions import db

PASSWORD = "a long enough password"


def test_create_admin_from_stdin(runner):
    result = runner.invoke(
        args=["create-admin", "Boss@MuscleBox.test", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(AdminUser))
    assert admin.email == "boss@musclebox.test"
    assert admin.password_hash.startswith("scrypt:")
    assert PASSWORD not in admin.password_hash and PASSWORD not in result.output


def test_create_admin_prompts_twice(runner):
    result = runner.invoke(
        args=["create-admin", "boss@musclebox.test"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(AdminUser.email)) == "boss@musclebox.test"


def test_create_admin_refuses_short_password(runner):
    result = runner.invoke(
        args=["create-admin", "boss@musclebox.test", "--password-stdin"], input="short\n"
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert db.session.scalar(select(AdminUser)) is None


def test_create_admin_again_resets_the_password(runner):
    runner.invoke(args=["create-admin", "boss@musclebox.test", "--password-stdin"], input=PASSWORD)
    first = db.session.scalar(select(AdminUser.password_hash))
    runner.invoke(
        args=["create-admin", "boss@musclebox.test", "--password-stdin"],
        input="another long password",
    )
    assert db.session.scalar(select(db.func.count(AdminUser.id))) == 1
    assert db.session.scalar(select(AdminUser.password_hash)) != first
