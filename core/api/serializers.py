"""A ``ModelSerializer`` that works out its fields once per class instead of per instance.

DRF's ``ModelSerializer.get_fields`` inspects the model and builds every field from it on
each serializer instance: for ``GET /me`` that was a third of the request's CPU
(``bench/profile_api.py``), labels and uniqueness checks recomputed for an answer whose
shape never changes. The fields depend only on the class (its ``Meta`` and declared
fields), so the first instance builds them and keeps the unbound result on its class; each
instance then gets a deep copy, exactly as DRF copies declared fields
(``Field.__deepcopy__`` constructs the field again from its arguments), so no instance
ever shares a bound field with another.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from rest_framework import serializers


class FieldsOnceModelSerializer(serializers.ModelSerializer):
    # Declared, not set: each class that is instantiated gets its own.
    _built_fields: ClassVar[dict[str, Any]]

    def get_fields(self):
        cls = type(self)
        # Looked up on the class itself: a subclass has fields of its own.
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return copy.deepcopy(built)
