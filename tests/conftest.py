import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """The suite runs on PostgreSQL and on SQLite (scripts/test runs both). A test marked
    `postgresql` exercises what only PostgreSQL has (COPY, percentile_cont, a worker process
    sharing the test database) and says why; on SQLite it is skipped with that reason."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    for item in items:
        marker = item.get_closest_marker("postgresql")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}"))


@pytest.fixture(autouse=True)
def _english(settings):
    """Tests read English messages unless they switch language themselves."""
    settings.LANGUAGE_CODE = "en"


def fail_inserts_into(table: str) -> None:
    """From now on (in this test's database) every insert into `table` fails with an
    IntegrityError naming `t_fail`, as a dying worker's write would: on PostgreSQL a check
    constraint that existing rows need not satisfy, on SQLite a trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT t_fail CHECK (id < 0) NOT VALID")
        else:
            cursor.execute(
                f"CREATE TRIGGER t_fail BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 't_fail'); END"
            )
