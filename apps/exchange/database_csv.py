"""CSV formatted by PostgreSQL itself: `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)` read
through psycopg row by row, the same bytes as `exports.stream` writes for the same rows.

A large export spends nearly all its time turning rows into Python objects and back into
text; here the database writes the text and Python only passes it on. The SELECT is the
export's own queryset (so the same filters, permissions and order), its columns written
as `exports.stream` would write them:

- text through `Cell`: an apostrophe before a formula-like text (as `exports.cell`), and an
  empty text as NULL, because COPY writes an empty string as "" where Python's csv writes
  nothing (and NULL as nothing, as Python writes None);
- numbers through `Number` (as `exports.number`), booleans and timestamps through
  `BooleanText` and `IsoTimestamp`;
- the line ending: COPY ends each row with LF, the Python writer with CRLF. Each message
  from the server is exactly one row ("messages sent from the backend will always
  correspond to single data rows", PostgreSQL protocol, CopyData), so the LF that ends a
  message is the row's end, whatever newlines a quoted cell holds.

The quoting is the same in both: a cell is quoted when it holds a comma, a double quote,
CR or LF, and a double quote inside is doubled (RFC 4180; Python's QUOTE_MINIMAL with
CRLF lines, COPY's CSV format). tests/exchange/test_database_csv.py checks the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField

ROWS_PER_CHUNK = 500  # as exports.stream: about 100 KB a chunk for the answers


class Cell(Func):
    """A text column as `exports.cell` writes it: after an apostrophe when, past any leading
    apostrophes, it starts with = + - @, tab or CR; NULL when empty."""

    # ascii() of the first character (= + - @ tab CR, or an apostrophe) settles nearly every
    # cell without building a string; only a text starting with an apostrophe is trimmed.
    template = (
        "CASE WHEN ascii(%(expressions)s) IN (61, 43, 45, 64, 9, 13)"
        " OR (ascii(%(expressions)s) = 39"
        " AND ascii(ltrim(%(expressions)s, '''')) IN (61, 43, 45, 64, 9, 13))"
        " THEN '''' || %(expressions)s ELSE NULLIF(%(expressions)s, '') END"
    )
    output_field = TextField()


class Number(Func):
    """A decimal as `exports.number` writes it: up to 4 places, no trailing zeros (NULL for
    none). The stored scores have 4 places, so the rounding never applies a tie rule."""

    template = "trim_scale(round((%(expressions)s)::numeric, 4))::text"
    output_field = TextField()


class BooleanText(Func):
    """A boolean as the exports write it: true or false."""

    template = "CASE WHEN %(expressions)s THEN 'true' ELSE 'false' END"
    output_field = TextField()


class IsoTimestamp(Func):
    """A timestamp as Python's `datetime.isoformat()` of Django's UTC value writes it:
    2026-10-01T09:30:00+00:00, with .ffffff only when there are microseconds."""

    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        " || CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s THEN ''"
        " ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', '.US') END || '+00:00'"
    )
    output_field = TextField()


class Constant(Func):
    """A cell that is the same on every row, as text Python has already written (and
    neutralised); NULL for an empty one (see the module's note)."""

    arity = 0
    output_field = TextField()

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text or None

    def as_sql(self, compiler, connection, **extra):
        return "%s::text", [self.text]


def cell(field: str) -> Cell:
    """A text field's cell."""
    return Cell(F(field))


def boolean(field: str) -> BooleanText:
    """A boolean field's cell."""
    return BooleanText(F(field))


def copy_csv(queryset: QuerySet) -> Iterator[bytes]:
    """The rows of a values_list queryset as CSV bytes with CRLF line endings, formatted by
    PostgreSQL (COPY) and streamed in chunks of ROWS_PER_CHUNK rows."""
    connection = connections[queryset.db]
    sql, params = queryset.query.sql_with_params()
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        lines: list[bytes] = []
        for row in copy:
            lines.append(bytes(row[:-1]))  # without the LF that ends the message's row
            if len(lines) >= ROWS_PER_CHUNK:
                yield b"\r\n".join(lines) + b"\r\n"
                lines = []
        if lines:
            yield b"\r\n".join(lines) + b"\r\n"
