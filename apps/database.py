"""Hand-written SQL read as the ORM reads it, for the few page queries whose querysets cost
more to build than to run (the round page's results, laggards and participation: building
and compiling their subqueries took longer than PostgreSQL took to answer them). The SQL is
plain enough for both databases: no vendor functions, placeholders for every value, and
each column converted here by the same converters the ORM applies to that model field."""

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, QuerySet
from django.db.models.expressions import Col


def converter(field: Field) -> Callable[[Any], Any]:
    """How the ORM turns this model field's value, as the database driver returns it, into
    Python on the default connection: a JSON text into its value, SQLite's float into a
    Decimal of the field's places, SQLite's text into an aware datetime, and so on."""
    column = Col("raw", field)
    steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    def convert(value: Any) -> Any:
        for step in steps:
            value = step(value, column, connection)
        return value

    return convert


def fetch(
    sql: str, params: Sequence[Any], converters: dict[int, Callable] | None = None
) -> list[tuple]:
    """The rows of `sql`, the columns at `converters`' positions (if any) converted."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters:
        return rows
    return [
        tuple(converters[i](value) if i in converters else value for i, value in enumerate(row))
        for row in rows
    ]


def subquery(queryset: QuerySet) -> tuple[str, tuple]:
    """A queryset (of one column) as SQL to put after IN, with its parameters."""
    sql, params = queryset.query.sql_with_params()
    return f"({sql})", tuple(params)


def date_param(value) -> Any:
    """A date as the database compares it with a date column."""
    return connection.ops.adapt_datefield_value(value)


def datetime_param(value) -> Any:
    """An aware datetime as the database compares it with a datetime column."""
    return connection.ops.adapt_datetimefield_value(value)
