"""The admin bar: its sections, which pages belong to each, and which badge each wears.

The first sections are the owner's daily work and always show; the rest sit under "More" (a
<details> menu, so it works without JavaScript), which keeps the bar to two short lines on a
390 px phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: str
    # Every endpoint whose page is part of this section (marks it current in the bar).
    pages: frozenset[str]
    # The name of the context value counting what waits here, and what the count means.
    badge: str | None = None
    badge_means: str = ""


def _section(
    endpoint: str, label: str, *pages: str, badge: str | None = None, means: str = ""
) -> Section:
    return Section(endpoint, label, frozenset({endpoint, *pages}), badge, means)


DAILY = (
    _section("admin.dashboard", "Dashboard"),
    _section("admin.subscriptions", "Subscribers", "admin.subscription"),
    _section(
        "admin.shipments",
        "Shipments",
        "admin.shipments_csv",
        badge="admin_to_pack_count",
        means="to pack",
    ),
    _section(
        "admin.comments",
        "Comments",
        "admin.edit_comment",
        "admin.reply",
        badge="admin_pending_count",
        means="pending",
    ),
    _section(
        "admin.articles",
        "Articles",
        "admin.new_article",
        "admin.edit_article",
        "admin.delete_article_page",
    ),
)
MORE = (
    _section("admin.customers", "Customers", "admin.customer"),
    _section(
        "admin.authors",
        "Authors",
        "admin.new_author",
        "admin.edit_author",
        "admin.delete_author_page",
    ),
    _section(
        "admin.promotions", "Promotions", "admin.new_promotion", "admin.deactivate_promotion_code"
    ),
    _section(
        "admin.events",
        "Stripe events",
        "admin.event_detail",
        badge="admin_failed_events",
        means="failed",
    ),
    _section("admin.emails", "Emails", badge="admin_failed_emails", means="failed"),
    _section("admin.comment_settings", "Comment settings"),
    _section("admin.privacy", "Privacy requests"),
    _section("admin.audit", "Audit log"),
)


def current_section() -> Section | None:
    endpoint = request.endpoint or ""
    return next((s for s in (*DAILY, *MORE) if endpoint in s.pages), None)


def navigation() -> dict[str, object]:
    """The admin bar's sections for the templates."""
    section = current_section()
    return {
        "admin_daily_sections": DAILY,
        "admin_more_sections": MORE,
        "admin_current_section": section,
        "admin_more_is_current": section in MORE,
    }
