"""Hot read queries built and compiled once per process, then run with each call's values.

A few read shapes are asked for on nearly every page with different values only: a page
of posts by their ids with what the viewer may do with each (liked, reposted, may read the
locked text, the product on the card). Building that queryset and compiling it to SQL
costs the app more CPU than PostgreSQL spends answering it (a home timeline page of 20
posts: about 6 ms of Python before a 4 ms query). ``Precompiled`` builds and compiles such
a shape once and reuses its SQL.

Safe by construction, checked once per shape: the builder is run and compiled twice, with
two different sets of stand-in arguments (lists of different lengths), and the SQL is kept
only if both texts are identical and the parameters differ exactly where the arguments
go. A builder that puts a value of its own into the query (``timezone.now()`` instead of
the database's ``Now()``, a setting read per call) or whose SQL text depends on an
argument (``__in`` writes one placeholder per item; use ``__any_of``) fails the check: it
is then built per call as before, with a warning in the log — slower, never wrong.

What a call returns is a queryset for reading only: refining it (``filter``, slicing,
``count``) raises ``TypeError``, because its SQL is fixed. Arguments are ints, lists of
ints or None; the SQL is compiled once for each pattern of None arguments. The database
is chosen per call by the routers, as for any queryset (all our databases are PostgreSQL,
so one SQL text serves them all).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import ForeignKey, IntegerField, Lookup, QuerySet
from django.db.models.query import ModelIterable
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

log = structlog.get_logger(__name__)

Arg = int | list[int] | None


@ForeignKey.register_lookup
@IntegerField.register_lookup
class AnyOf(Lookup):
    """``field__any_of=[...]``: ``field = ANY(%s)`` with the whole list as one array
    parameter, so the SQL text is the same however many values there are."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, list(self.rhs))


# Stand-ins no real argument takes (ids are positive): two sets, told apart by value and,
# for lists, by length.
_STAND_IN_A = -1_000_000_007
_STAND_IN_B = -2_000_000_011


def _stand_ins(args: tuple[Arg, ...], base: int, list_length: int) -> tuple[Arg, ...]:
    out: list[Arg] = []
    for position, arg in enumerate(args):
        if arg is None:
            out.append(None)
        elif isinstance(arg, list):
            out.append([base - position] * list_length)
        else:
            out.append(base - position)
    return tuple(out)


@dataclass(frozen=True)
class _Shape:
    """One compiled shape: the SQL and, per parameter, a constant or an argument index."""

    sql: str
    slots: tuple[tuple[bool, Any], ...]  # (is_argument, index or constant value)
    query: _FixedSQLQuery
    select: Any
    klass_info: Any
    annotation_col_map: Any
    col_count: int
    has_extra_select: bool
    # Per database alias: the converters of the selected columns (see
    # ``_FixedSQLCompiler.get_converters``).
    converters: dict[str, dict] = field(default_factory=dict)

    def params(self, args: tuple[Arg, ...]) -> tuple:
        return tuple(args[value] if is_arg else value for is_arg, value in self.slots)


class _FixedSQLQuery(Query):
    """A compiled shape's query with one call's parameters; compiles to the shape's SQL."""

    shape: _Shape
    fixed_params: tuple

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        if using is None and connection is None:
            raise ValueError("Need either using or connection")
        if using:
            connection = connections[using]
        return _FixedSQLCompiler(self, connection, using, elide_empty)

    def clone(self):
        raise TypeError("a precompiled queryset runs as it is: it cannot be refined")


class _FixedSQLCompiler(SQLCompiler):
    def __init__(self, query: _FixedSQLQuery, connection, using, elide_empty=True):
        super().__init__(query, connection, using, elide_empty)
        shape = query.shape
        # What compiling would have computed, and ModelIterable reads after execute_sql.
        self.select = shape.select
        self.klass_info = shape.klass_info
        self.annotation_col_map = shape.annotation_col_map
        self.col_count = shape.col_count
        self.has_extra_select = shape.has_extra_select

    def setup_query(self, with_col_aliases=False):
        pass

    def pre_sql_setup(self, with_col_aliases=False):
        raise TypeError("a precompiled query has no setup to do")

    def as_sql(self, with_limits=True, with_col_aliases=False):
        query = cast(_FixedSQLQuery, self.query)
        return query.shape.sql, query.fixed_params

    def get_converters(self, expressions):
        """The selected columns' converters (a field's ``from_db_value``, the backend's
        own), worked out once per shape and database alias instead of on every run: the
        columns are the shape's, so the answer never changes (Django asks every selected
        column for them on every run)."""
        shape = cast(_FixedSQLQuery, self.query).shape
        if len(expressions) != shape.col_count:
            return super().get_converters(expressions)
        converters = shape.converters.get(self.connection.alias)
        if converters is None:
            converters = super().get_converters(expressions)
            shape.converters[self.connection.alias] = converters
        return converters


class Precompiled:
    """``Precompiled(build)``: call it with ``build``'s arguments for ``build(*args)``'s
    rows, compiled once per process (see the module docstring for what is checked)."""

    def __init__(self, build: Callable[..., QuerySet], *, name: str):
        self.build = build
        self.name = name
        # Pattern of None arguments -> its shape, or None when the shape cannot be fixed.
        self._shapes: dict[tuple[bool, ...], _Shape | None] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: Arg) -> QuerySet:
        pattern = tuple(arg is None for arg in args)
        shape = self._shapes.get(pattern, _MISSING)
        if shape is _MISSING:
            with self._lock:
                shape = self._shapes.get(pattern, _MISSING)
                if shape is _MISSING:
                    shape = self._compile(args)
                    self._shapes[pattern] = shape
        if shape is None:
            return self.build(*args)
        query: _FixedSQLQuery = copy.copy(shape.query)
        query.fixed_params = shape.params(args)
        return QuerySet(model=query.model, query=query)

    def cache_clear(self) -> None:
        """Forget the compiled shapes (a test that changes what the builder reads)."""
        with self._lock:
            self._shapes.clear()

    def _compile(self, args: tuple[Arg, ...]) -> _Shape | None:
        stand_ins_a = _stand_ins(args, _STAND_IN_A, 1)
        stand_ins_b = _stand_ins(args, _STAND_IN_B, 2)
        first = self.build(*stand_ins_a)
        second = self.build(*stand_ins_b)
        if (
            first._iterable_class is not ModelIterable
            or bool(getattr(first, "_prefetch_related_lookups", None))
            or bool(getattr(first, "_known_related_objects", None))
            or first.query.combinator
        ):
            return self._refuse("only plain model querysets are precompiled")
        compiler = first.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        sql_b, params_b = second.query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
        if sql != sql_b or len(params) != len(params_b):
            return self._refuse("its SQL text changes with the arguments")
        slots: list[tuple[bool, Any]] = []
        for value_a, value_b in zip(params, params_b, strict=True):
            if type(value_a) is type(value_b) and value_a == value_b:
                slots.append((False, value_a))
                continue
            index = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(stand_ins_a, stand_ins_b, strict=True))
                    if a is not None and value_a == a and value_b == b
                ),
                None,
            )
            if index is None:
                return self._refuse(f"a parameter is neither constant nor an argument: {value_a!r}")
            slots.append((True, index))
        query = first.query
        query.__class__ = _FixedSQLQuery
        assert isinstance(query, _FixedSQLQuery)
        shape = _Shape(
            sql=sql,
            slots=tuple(slots),
            query=query,
            select=compiler.select,
            klass_info=compiler.klass_info,
            annotation_col_map=compiler.annotation_col_map,
            col_count=compiler.col_count,
            has_extra_select=compiler.has_extra_select,
        )
        query.shape = shape
        return shape

    def _refuse(self, reason: str) -> _Shape | None:
        log.warning("precompiled.refused", query=self.name, reason=reason)
        return None


_MISSING: Any = object()
