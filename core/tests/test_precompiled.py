"""core.precompiled on the real PostgreSQL: a shape compiled once gives the rows a freshly
built queryset gives, for any arguments; a builder whose SQL is not fixed by its arguments
is refused (and still answers, built per call); the queryset cannot be refined."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import user_signup
from core.precompiled import Precompiled

pytestmark = pytest.mark.django_db


def people(n: int) -> list[User]:
    return [
        user_signup(handle=f"pc{i}", email=f"pc{i}@example.com", password="pw-long-1x")
        for i in range(n)
    ]


def by_ids(ids: list[int], above: int | None):
    qs = User.objects.filter(pk__any_of=ids, is_active=True)
    if above is not None:
        qs = qs.filter(pk__gt=above)
    return qs.order_by("-pk")


def test_one_compiled_shape_answers_every_call_as_a_freshly_built_query():
    users = people(4)
    ids = [u.pk for u in users]
    query = Precompiled(by_ids, name="test.by_ids")
    for args in ([ids, None], [ids[:1], None], [[], None], [ids, ids[1]], [ids[2:], ids[0]]):
        assert list(query(*args)) == list(by_ids(*args))
    # Two patterns of None arguments: two shapes, both compiled.
    assert sorted(query._shapes) == [(False, False), (False, True)]
    assert all(shape is not None for shape in query._shapes.values())
    # Values of a row come through as the ORM gives them.
    (row,) = list(query([ids[0]], None))
    assert (row.pk, row.handle, row.email) == (users[0].pk, users[0].handle, users[0].email)


def test_a_precompiled_queryset_cannot_be_refined():
    query = Precompiled(by_ids, name="test.by_ids")
    qs = query([1, 2], None)
    for refine in (lambda: qs.filter(pk=1), lambda: qs[:1], lambda: qs.count()):
        with pytest.raises(TypeError):
            refine()


@pytest.mark.parametrize(
    "build",
    [
        # A value of the builder's own (the clock) is frozen into the parameters.
        lambda ids: User.objects.filter(pk__any_of=ids, date_joined__lte=timezone.now()),
        # __in writes one placeholder per item: the SQL text changes with the list.
        lambda ids: User.objects.filter(pk__in=ids),
        # The argument shows up transformed, not as itself.
        lambda ids: User.objects.filter(Q(pk__any_of=[i + 1 for i in ids])),
    ],
)
def test_a_builder_whose_sql_is_not_fixed_by_its_arguments_is_refused_and_built_per_call(build):
    users = people(3)
    ids = [u.pk for u in users]
    query = Precompiled(build, name="test.refused")
    assert sorted(u.pk for u in query(ids)) == sorted(u.pk for u in build(ids))
    assert list(query._shapes.values()) == [None]
    # Built per call: it can be refined like any queryset.
    assert query(ids[:1]).filter(pk__gt=0).count() == build(ids[:1]).count()


def notifications_by_ids(ids: list[int]):
    from accounts.models import Notification

    return Notification.objects.filter(pk__any_of=ids).select_related("actor").order_by("pk")


def test_converters_are_worked_out_once_per_shape_and_still_convert_every_row(monkeypatch):
    """A JSON column comes back decoded (its field's ``from_db_value``), on the first run
    and on every later one, while the columns' converters are asked for once."""
    from django.db.models.sql.compiler import SQLCompiler

    from accounts.models import Notification

    alice, bob = people(2)
    rows = [
        Notification.objects.create(recipient=alice, actor=bob, kind="follow", data={"n": n})
        for n in range(3)
    ]
    asked = []
    original = SQLCompiler.get_converters

    def counting(self, expressions):
        asked.append(len(expressions))
        return original(self, expressions)

    monkeypatch.setattr(SQLCompiler, "get_converters", counting)
    query = Precompiled(notifications_by_ids, name="test.notifications_by_ids")
    for subset in ([rows[0].pk], [r.pk for r in rows], [rows[2].pk, rows[1].pk]):
        got = list(query(subset))
        assert [(n.pk, n.data, n.actor.handle) for n in got] == [
            (n.pk, n.data, n.actor.handle) for n in notifications_by_ids(subset)
        ]
        assert all(isinstance(n.data, dict) for n in got)
    # The freshly built querysets above ask each time; the shape asked once.
    shape = query._shapes[(False,)]
    assert shape is not None and list(shape.converters) == ["default"]
    assert len(asked) == 3 + 1
