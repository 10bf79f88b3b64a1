"""Rate limits of payment links, for pages and the API alike: the API's sliding-window
throttle (``core.api.throttling``) under the ``links`` scope, counted per signed-in person
or, for visitors, per address. Slugs are unguessable already; this keeps anyone from
trying many of them, or paying in a loop."""

from __future__ import annotations

from core.api.throttling import ScopedRateThrottle
from payments.links.errors import RateLimited

SCOPE = "links"


class _Scoped:
    throttle_scope = SCOPE


def links_throttle_check(request) -> None:
    """Count this request; raise ``RateLimited`` (429) over the ``links`` rate."""
    throttle = ScopedRateThrottle()
    if not throttle.allow_request(request, _Scoped()):
        raise RateLimited(details={"retry_after": throttle.wait()})


class LinksThrottle(ScopedRateThrottle):
    """For the API views (``throttle_scope = "links"``)."""
