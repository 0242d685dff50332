"""The MuscleBox shop: `create_app()` builds the Flask application."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from shop.config import load_settings, trusted_hosts
from shop.extensions import csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings → extensions → blueprints → error pages → CLI commands."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(load_settings(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)
    if app.config["TRUSTED_HOSTS"] is None:  # any other Host header gets 400
        app.config["TRUSTED_HOSTS"] = trusted_hosts(
            app.config["SITE_URL"], app.config["EXTRA_TRUSTED_HOSTS"]
        )
    from shop.site.hosts import RefuseUntrustedHosts  # inside ProxyFix: sees X-Forwarded-Host
    from shop.site.page_cache import KeptPageShortcut  # inside the host check

    app.wsgi_app = KeptPageShortcut(app, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = RefuseUntrustedHosts(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from shop.site.compression import init_compression  # first after_request hook: runs last
    from shop.site.static_files import init_static_files

    init_compression(app)
    init_static_files(app)
    _init_extensions(app)
    _register_blueprints(app)

    from shop.site.page_cache import init_page_cache

    init_page_cache(app)

    from shop.jobs import init_jobs

    init_jobs(app)

    from shop.site.errors import register_error_handlers

    register_error_handlers(app)

    from shop.cli import register_commands

    register_commands(app)
    _configure_logging(app)
    return app


def _init_extensions(app: Flask) -> None:
    from shop import models  # noqa: F401  (every table registered before migrate inspects them)
    from shop.accounts.sessions import load_admin_session
    from shop.db import render_migration_type

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        compare_type=True,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        render_item=render_migration_type,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please sign in to see that page."
    # "strong" would wipe an anonymous visitor's session (and CSRF token) when their IP changes,
    # as it does on phones; "basic" marks a moved admin session non-fresh instead.
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_admin_session)


def _register_blueprints(app: Flask) -> None:
    from shop.accounts.views import bp as accounts_bp
    from shop.admin.views import bp as admin_bp
    from shop.billing.views import bp as billing_bp
    from shop.blog.views import bp as blog_bp
    from shop.catalog.views import bp as catalog_bp
    from shop.comments.views import bp as comments_bp
    from shop.site.views import bp as site_bp

    for blueprint in (
        site_bp,
        catalog_bp,
        blog_bp,
        comments_bp,
        billing_bp,
        accounts_bp,
        admin_bp,
    ):
        app.register_blueprint(blueprint)
    if app.config["SHOP_ENV"] == "development":
        from shop.site.development import refuse_remote_clients

        # Development settings (the default) serve this computer only; see the module.
        app.before_request(refuse_remote_clients)
        if app.config["DEV_OUTBOX"]:
            from shop.mail.views import bp as mail_bp  # the outbox: `make run` only

            app.register_blueprint(mail_bp)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # The stripe library logs every request at INFO; the gateway logs what matters.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    # Whatever a logger's level is turned to, no personal data or capability URL gets out.
    from shop.logs import install_log_filters

    install_log_filters()
