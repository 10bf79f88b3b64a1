"""Parts of a post card another app owns, loaded in the row's own query.

A post with a product shows the product's title, price and Buy button in every timeline,
but products are ``payments.creators``, which sits above posts. That app registers an
annotation here when Django starts (``AppConfig.ready``), and every post list in
``posts.selectors`` adds it to the query that loads the page: a subquery per row inside that
one query, so a page costs no extra query however many posts carry a product, and posts
never imports payments.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Expression, OuterRef
from django.db.models.functions import Coalesce

# The id of the post a row shows (itself, or a repost's original), as an outer reference
# -> an expression evaluated for each row (e.g. an ``ArraySubquery``).
ShownPartAnnotation = Callable[[Expression], Expression]

_parts: dict[str, ShownPartAnnotation] = {}


def shown_part_register(name: str, annotation: ShownPartAnnotation) -> None:
    """Add ``name`` to every post row, computed by ``annotation``; registering a name again
    replaces it (Django may call ``ready`` more than once in tests)."""
    _parts[name] = annotation


def shown_part_annotations() -> dict[str, Expression]:
    """The registered parts as keyword arguments for ``QuerySet.annotate``."""
    return {
        name: annotation(Coalesce(OuterRef("repost_of_id"), OuterRef("id")))
        for name, annotation in _parts.items()
    }
