"""Imports every model so that the metadata (and Alembic) sees the whole schema."""

from shop.accounts.models import AdminSignInFailures, AdminUser, Customer, SignInLink
from shop.audit.models import AuditEntry
from shop.billing.models import CheckoutRecord, Invoice, Shipment, Subscription, WebhookEvent
from shop.blog.models import Article, ArticleSlugRedirect, Author, Tag, article_tags
from shop.catalog.models import Box, Plan
from shop.comments.models import Comment
from shop.comments.settings import CommentSettingsRow
from shop.mail.models import OutboxMessage, QueuedEmail

__all__ = [
    "AdminSignInFailures",
    "AdminUser",
    "Article",
    "ArticleSlugRedirect",
    "AuditEntry",
    "Author",
    "Box",
    "CheckoutRecord",
    "Comment",
    "CommentSettingsRow",
    "Customer",
    "Invoice",
    "OutboxMessage",
    "Plan",
    "QueuedEmail",
    "Shipment",
    "SignInLink",
    "Subscription",
    "Tag",
    "WebhookEvent",
    "article_tags",
]
