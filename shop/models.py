"""Imports every model so that the metadata (and Alembic) sees the whole schema."""

from shop.accounts.models import AdminUser
from shop.blog.models import Article, Author, Tag, article_tags
from shop.catalog.models import Box
from shop.comments.models import Comment

__all__ = ["AdminUser", "Article", "Author", "Box", "Comment", "Tag", "article_tags"]
