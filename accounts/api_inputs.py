"""Input parsing shared by every API view: strict serializers that refuse unknown fields.

A write payload with a field we do not know is rejected (400 ``unknown_field``) instead of
being ignored: a client that sends ``is_staff`` or ``balance`` learns at once that it
cannot set it, and a typo (``dispaly_name``) does not silently do nothing.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.exceptions import ValidationFailed


class UnknownField(ValidationFailed):
    code = "unknown_field"
    default_message = _("The request contains fields this endpoint does not accept.")


class PayloadNotObject(ValidationFailed):
    default_message = _("The request body must be a JSON object.")


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise PayloadNotObject()
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise UnknownField(details={"fields": unknown})
        return super().to_internal_value(data)


def parse(serializer_class: type[serializers.Serializer], data, **kwargs) -> dict:
    """Validate ``data`` with ``serializer_class`` and return the cleaned dict (or raise)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TextField(serializers.CharField):
    """A string and only a string: ``5`` or ``true`` for a text field is a client bug, not
    something to coerce into ``"5"``. NUL characters are refused by CharField itself."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and only that. DRF's IntegerField also takes ``"3"``, ``" 3"`` and
    ``3.0`` (the strict JSON parser reads ``1.0e0`` as a Decimal, which DRF then turns
    into 1): a count that arrives as anything but an integer is a client bug, refused
    like an amount (``Money.from_minor``) rather than guessed at."""

    def to_internal_value(self, data):
        if type(data) is not int:  # bool is an int subclass, and True is not one item
            self.fail("invalid")
        return super().to_internal_value(data)
