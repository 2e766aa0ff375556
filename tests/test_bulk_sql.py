"""Driver-level SQL in the bulk paths is bound by SQLAlchemy's `text()` rules on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.bulk import execute, in_list, read_frame

# `\:` is text()'s escape for a colon that is not a parameter; `%` must reach PostgreSQL as one.
LITERALS = r"SELECT '\:label' AS label, 'at 100%' AS pct, :n AS n"


def test_an_escaped_colon_and_a_percent_are_literals_in_execute(engine: Engine) -> None:
    with engine.connect() as conn:
        cursor = execute(conn, LITERALS, {"n": 7})
        row = cursor.fetchone()
        cursor.close()
    assert tuple(row) == (":label", "at 100%", 7)


def test_an_escaped_colon_and_a_percent_are_literals_in_read_frame(engine: Engine) -> None:
    with engine.connect() as conn:
        frame = read_frame(conn, LITERALS, {"label": "str", "pct": "str", "n": "int"}, {"n": 7})
    assert frame.to_dict("records") == [{"label": ":label", "pct": "at 100%", "n": 7}]


def test_in_list_and_a_repeated_parameter(engine: Engine) -> None:
    """`in_list` binds a whole list as one value; a name used twice is bound twice (SQLite's
    placeholders are positional)."""
    with engine.connect() as conn:
        sql = (
            "SELECT x FROM (SELECT 'a' AS x UNION ALL SELECT 'b' UNION ALL SELECT 'c') t"
            f" WHERE {in_list(conn, 'x', 'xs')} AND x NOT IN (:skip, :skip) ORDER BY x"
        )
        frame = read_frame(conn, sql, {"x": "str"}, {"xs": ["a", "b", "c"], "skip": "b"})
    assert frame["x"].tolist() == ["a", "c"]


def test_a_parameter_without_a_value_is_named(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(sa.exc.InvalidRequestError, match="'n'"):
        execute(conn, "SELECT :n")
