"""Tabs on a person's profile that another app owns (a shop, memberships).

A profile shows the person's posts; what they sell and their membership tiers are
``payments.creators``, which sits above posts. That app registers its tabs here when Django
starts (``AppConfig.ready``), so posts never imports it. A tab is shown only when it has
something to show: whether each registered tab does is one ``Exists`` per tab, all asked in
a single query, so the profile costs the same number of queries however many tabs there are
and however much each one holds. The open tab's content is loaded by its own ``context``
function, which must cost a fixed number of queries too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, QuerySet

from accounts.models import User


@dataclass(frozen=True)
class ProfileTab:
    #: The ``?tab=`` value, e.g. ``"shop"``.
    key: str
    #: The label, translated when shown (a lazy string).
    label: str
    #: The template that renders the tab's content (gets ``author`` and ``context``'s dict).
    template: str
    #: author -> a queryset that has a row when the tab has anything to show.
    has_content: Callable[[User], QuerySet]
    #: (author, viewer, before) -> the template's context; ``before`` is the ``?before=``
    #: cursor (a positive id or None) for a tab that pages its list.
    context: Callable[[User, User | None, int | None], dict]


_tabs: dict[str, ProfileTab] = {}


def profile_tab_register(tab: ProfileTab) -> None:
    """Add ``tab`` after those registered before it; registering a key again replaces it
    (Django may call ``ready`` more than once in tests)."""
    _tabs[tab.key] = tab


def profile_tabs_shown(*, author: User) -> list[ProfileTab]:
    """The registered tabs that have content for ``author``, in registration order (one
    query, or none when nothing is registered)."""
    if not _tabs:
        return []
    present = (
        User.objects.filter(pk=author.pk)
        .values(**{f"tab_{key}": Exists(tab.has_content(author)) for key, tab in _tabs.items()})
        .first()
        or {}
    )
    # Prefixed: a tab's key may be the name of a relation on User.
    return [tab for key, tab in _tabs.items() if present.get(f"tab_{key}")]
