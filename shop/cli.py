"""flask commands: create-admin, seed-demo, import-article, render-articles, clear-page-cache,
purge-comment-ips,
sync-stripe, reconcile, shipping-run, worker, sweep-jobs, and the Stripe emulator's
stripe-emulator and stripe-clock."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shop.accounts.services import AccountError, create_admin
from shop.billing.calendar import BadMonth, current_month, parse_month
from shop.billing.gateway import PaymentProviderError, gateway
from shop.billing.reconcile import reconcile_subscriptions
from shop.billing.shipping import run_shipping
from shop.blog.services import (
    ArticleImportError,
    parse_article_file,
    render_stored_articles,
    save_article,
)
from shop.catalog.services import sync_catalogue
from shop.comments.services import purge_comment_ips
from shop.db import utcnow
from shop.demo import seed_demo
from shop.demo_subscribers import seed_demo_subscribers
from shop.stripe_emulator.cli import stripe_clock_command, stripe_emulator_command


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def create_admin_command(email: str, password_stdin: bool) -> None:
    """Create an admin (or reset their password, signing them out everywhere and lifting a
    sign-in lock). The password is prompted for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin = create_admin(email, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Admin {admin.email} is ready; any earlier sessions are signed out everywhere. "
        "Sign in at /admin/login."
    )


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo boxes, an author, articles, comments and subscribers (safe to run again)."""
    added = seed_demo() + seed_demo_subscribers()
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


@click.command("render-articles")
@with_appcontext
def render_articles_command() -> None:
    """Render every article's body again from its Markdown (after the renderer changes)."""
    changed = render_stored_articles()
    click.echo(f"Rendered {changed} article(s) again; the rest were already up to date.")


@click.command("clear-page-cache")
@with_appcontext
def clear_page_cache_command() -> None:
    """Forget every cached page (after data was changed outside the shop, e.g. by raw SQL)."""
    from shop.site.page_cache import clear_pages

    if clear_pages(current_app._get_current_object()):  # type: ignore[attr-defined]
        click.echo("Every cached page is gone; each is made afresh when next asked for.")
    else:
        raise click.ClickException("The page cache could not be reached (PAGE_CACHE_URL).")


@click.command("purge-comment-ips")
@with_appcontext
def purge_comment_ips_command() -> None:
    """Forget commenters' IP addresses older than COMMENT_IP_RETENTION_DAYS."""
    days = current_app.config["COMMENT_IP_RETENTION_DAYS"]
    count = purge_comment_ips(utcnow(), days)
    click.echo(f"Removed the IP address from {count} comment(s) older than {days} days.")


@click.command("sync-stripe")
@with_appcontext
def sync_stripe_command() -> None:
    """Make Stripe's products and prices match the shop's boxes and plans (safe to repeat)."""
    try:
        done = sync_catalogue(gateway())
    except PaymentProviderError as exc:
        raise click.ClickException(f"Stripe: {exc} (request {exc.request_id})") from exc
    for line in done:
        click.echo(line)
    click.echo("Stripe's catalogue already matched; nothing changed." if not done else "Done.")


@click.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Fetch every subscription from Stripe, repair what differs and print the differences."""
    try:
        differences = reconcile_subscriptions()
    except PaymentProviderError as exc:
        raise click.ClickException(f"Stripe: {exc} (request {exc.request_id})") from exc
    failures = [diff for diff in differences if diff.is_failure]
    for diff in differences:
        if diff.is_failure:
            click.echo(f"{diff.stripe_subscription_id} FAILED, not repaired: {diff.stripe_value}")
        elif diff.field == "skipped":
            click.echo(f"{diff.stripe_subscription_id} skipped: {diff.stripe_value}")
        elif diff.field == "boxes":
            click.echo(f"{diff.stripe_subscription_id} boxes granted for {diff.stripe_value}")
        else:
            click.echo(
                f"{diff.stripe_subscription_id} {diff.field}: shop had "
                f"{_shown(diff.shop_value)}, Stripe has {_shown(diff.stripe_value)}"
            )
    repaired = len(differences) - len(failures)
    if failures:
        click.echo(f"{repaired} difference(s) repaired; {len(failures)} subscription(s) failed.")
        raise SystemExit(1)
    click.echo(f"{repaired} difference(s) repaired." if differences else "All in step.")


@click.command("shipping-run")
@with_appcontext
@click.option("--month", help="The ship month, YYYY-MM (default: this month, shop time).")
def shipping_run_command(month: str | None) -> None:
    """Freeze a month: its boxes become shipments, addressed as each customer's address is now.
    Running it again adds only boxes granted since."""
    try:
        chosen = parse_month(month) if month is not None else current_month()
    except BadMonth as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    for line in run_shipping(chosen).lines():
        click.echo(line)


@click.command("worker")
@with_appcontext
@click.option(
    "--threads",
    type=click.IntRange(1, 32),
    help="Jobs run at once (default: 1 on SQLite, whose single writer gains nothing from more; "
    "else 4).",
)
def worker_command(threads: int | None) -> None:
    """Run the job worker: apply Stripe events, send emails, and every minute sweep up lost
    jobs. Runs until stopped (SIGINT: finish the running jobs; SIGTERM: stop at once — the
    sweep takes up what was cut short)."""
    if threads is None:
        on_sqlite = current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        threads = 1 if on_sqlite else 4
    from shop.jobs import prepare_storage

    queue = current_app.extensions["huey"]
    prepare_storage(queue)
    click.echo(f"worker: {threads} thread(s) on {type(queue).__name__}")
    # An idle worker looks for work at least every 2 s (Redis and PostgreSQL wake it at once).
    queue.create_consumer(workers=threads, worker_type="thread", periodic=True, max_delay=2.0).run()


@click.command("sweep-jobs")
@with_appcontext
def sweep_jobs_command() -> None:
    """Enqueue again the work whose job is overdue (the worker does this every minute)."""
    from shop.jobs import sweep

    click.echo(f"{sweep()} overdue job(s) queued again.")


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Enum):
        return repr(value.value)
    return repr(value)


def register_commands(app: Flask) -> None:
    for command in (
        create_admin_command,
        seed_demo_command,
        import_article_command,
        render_articles_command,
        clear_page_cache_command,
        purge_comment_ips_command,
        sync_stripe_command,
        reconcile_command,
        shipping_run_command,
        worker_command,
        sweep_jobs_command,
        stripe_emulator_command,
        stripe_clock_command,
    ):
        app.cli.add_command(command)
