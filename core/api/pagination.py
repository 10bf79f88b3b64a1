"""The one list shape of the API, with cursor pagination and a bounded page size.

Every list under ``/api/v1/`` answers::

    {"object": "list", "data": [...], "has_more": true, "next_cursor": "cD0xMjM="}

and takes ``?limit=`` (1..100, default 20; out of range is clamped) and ``?cursor=`` (the
``next_cursor`` of the previous page, opaque). ``has_more`` is false and ``next_cursor``
null on the last page. ``tests/test_api_schema.py`` fails on a list operation that declares
another shape, so a new endpoint cannot forget it.

``CursorPagination`` pages a queryset (DRF's cursor pagination: stable under inserts, no
``OFFSET``). Lists whose selector pages by id itself (the ledger statement, the payment
feed, the home timeline) use ``keyset_request``/``keyset_response``; their cursors are
DRF's own encoding of "ids below this one", so a client cannot tell the two apart.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor
from rest_framework.pagination import CursorPagination as DRFCursorPagination
from rest_framework.response import Response

#: Declared on every list operation (``extend_schema(parameters=LIST_PARAMETERS)``).
LIST_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        str,
        description="`next_cursor` of the previous page (opaque); omit for the first.",
    ),
    OpenApiParameter("limit", int, description="Items per page, 1..100, default 20 (clamped)."),
]

LIST_KEYS = ("object", "data", "has_more", "next_cursor")


def list_body(data: list, *, next_cursor: str | None) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
    }


def list_of(item: serializers.Serializer | type[serializers.Serializer], name: str):
    """The declared shape of a list of ``item`` (named ``name`` in the schema)."""
    item_class = item if isinstance(item, type) else type(item)
    return inline_serializer(
        name,
        {
            "object": serializers.ChoiceField(choices=["list"]),
            "data": item_class(many=True),
            "has_more": serializers.BooleanField(help_text="Whether another page follows."),
            "next_cursor": serializers.CharField(
                allow_null=True, help_text="Pass as `?cursor=` for the next page; null on the last."
            ),
        },
    )


class CursorPagination(DRFCursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-id"
    cursor_query_param = "cursor"

    def get_page_size(self, request) -> int:
        # Clamped, never refused: 0 or -5 is 1, 1000 is 100, junk is the default.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            return self.page_size
        return max(1, min(value, self.max_page_size))

    def encode_cursor(self, cursor: Cursor) -> str:
        # The token alone (DRF's encoding), not DRF's full URL: a client passes it back as
        # ``?cursor=``.
        tokens: dict[str, str] = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = str(cursor.position)
        return b64encode(urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")

    def get_paginated_response(self, data) -> Response:
        return Response(list_body(list(data), next_cursor=self.get_next_link()))

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": list(LIST_KEYS),
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": schema,
                "has_more": {"type": "boolean"},
                "next_cursor": {"type": "string", "nullable": True},
            },
        }

    # --- lists whose selector pages by id itself -------------------------------------------
    def keyset_request(self, request) -> tuple[int | None, int]:
        """(``before``: only ids below it, or None for the first page; ``limit``).

        Raises NotFound (``not_found``) on a cursor this API did not hand out, as DRF does.
        """
        self.base_url = request.build_absolute_uri()
        self.request = request
        cursor = self.decode_cursor(request)
        before = None
        if cursor is not None:
            try:
                before = int(str(cursor.position))
            except ValueError:
                before = 0
            if before <= 0 or cursor.reverse or cursor.offset:
                raise NotFound(self.invalid_cursor_message)
        return before, self.get_page_size(request)

    def keyset_response(self, data: list, *, next_before: int | None) -> Response:
        """The page; ``next_before`` is the id the next page starts below (None: last page)."""
        token = None
        if next_before is not None:
            # DRF keeps the position as text; encode_cursor writes the id as such.
            token = self.encode_cursor(Cursor(offset=0, reverse=False, position=next_before))
        return Response(list_body(data, next_cursor=token))

    def single_page(self, data: list) -> Response:
        """A list that is complete in one bounded page (a search's best matches)."""
        return Response(list_body(data, next_cursor=None))

    def respond(self, queryset, request, *, view, render) -> Response:
        """One page of ``queryset`` as a list response; ``render`` turns the page's rows into
        the ``data`` items (a serializer's ``many=True`` data, or a list of dicts)."""
        page: list | None = self.paginate_queryset(queryset, request, view=view)
        return self.get_paginated_response(render(page))
