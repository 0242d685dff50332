"""flask commands: create-admin, seed-demo, import-article, purge-comment-ips."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shop.accounts.services import AccountError, create_admin
from shop.blog.services import ArticleImportError, parse_article_file, save_article
from shop.comments.services import purge_comment_ips
from shop.db import utcnow
from shop.demo import seed_demo


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def create_admin_command(email: str, password_stdin: bool) -> None:
    """Create an admin (or reset their password). The password is prompted for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin = create_admin(email, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Admin {admin.email} is ready. Sign in at /admin/login.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo boxes, an author, articles and comments (safe to run again)."""
    added = seed_demo()
    if not added:
        click.echo("Demo content is already loaded; nothing changed.")
    for line in added:
        click.echo(f"added {line}")


@click.command("import-article")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_article_command(path: Path) -> None:
    """Import an article from Markdown with YAML front matter; the same slug again updates it."""
    try:
        article, created = save_article(parse_article_file(path))
    except ArticleImportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'Imported' if created else 'Updated'} /blog/{article.slug} ({article.title})")


@click.command("purge-comment-ips")
@with_appcontext
def purge_comment_ips_command() -> None:
    """Forget commenters' IP addresses older than COMMENT_IP_RETENTION_DAYS."""
    days = current_app.config["COMMENT_IP_RETENTION_DAYS"]
    count = purge_comment_ips(utcnow(), days)
    click.echo(f"Removed the IP address from {count} comment(s) older than {days} days.")


def register_commands(app: Flask) -> None:
    for command in (
        create_admin_command,
        seed_demo_command,
        import_article_command,
        purge_comment_ips_command,
    ):
        app.cli.add_command(command)
