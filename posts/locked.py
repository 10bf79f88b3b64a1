"""Who may read a post's locked text: a rule supplied by the app that sells access.

Posts only store locked text; paid unlocks and memberships are ``payments.creators``, which
sits above posts and registers its rule here when Django starts (``AppConfig.ready``), so
posts never imports it. Until a rule is registered only the author reads locked text.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from accounts.models import User

# viewer -> a Q on Post, true for the rows (or reposts' originals) the viewer may read.
LockedAccessRule = Callable[[User], Q]

_rule: LockedAccessRule | None = None


def locked_access_rule_register(rule: LockedAccessRule) -> None:
    global _rule
    _rule = rule


def shown_locked_access_q(*, viewer: User | None) -> Q:
    """For each row, whether the viewer may read the locked text of the post the row shows
    (itself, or a repost's original). Anonymous viewers read none."""
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    if _rule is None:
        return (Q(repost_of__isnull=True) & Q(author_id=viewer.pk)) | Q(
            repost_of__author_id=viewer.pk
        )
    return _rule(viewer)
