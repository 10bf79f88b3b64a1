"""The ``object`` field every resource in an answer starts with ("transfer", "tip",
"payout"…), as in Stripe's API: a client tells one resource from another in a feed, a log
or a webhook without guessing from its fields. Declared as a one-value enum so the schema
(and a generated client) knows each resource's type. A type shared by two components (a
tip and its public view) needs its enum named in ``ENUM_NAME_OVERRIDES``."""

from __future__ import annotations

from rest_framework import serializers


def object_field(name: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[name], help_text=f'Always "{name}".')


class ObjectField(serializers.ChoiceField):
    """``object_field`` for a model serializer: read-only, the same value for every row."""

    def __init__(self, name: str, **kwargs):
        self.type_name = name
        kwargs.update(read_only=True, source="*", help_text=f'Always "{name}".')
        super().__init__(choices=[name], **kwargs)

    def to_representation(self, value) -> str:
        return self.type_name
