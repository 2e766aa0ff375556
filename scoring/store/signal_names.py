"""Which signal names the database holds, cheaply: the model-file checks ask before every
scoring command, so a full `SELECT DISTINCT` over millions of rows is read only when a name is
missing (and the answer needs the closest stored name)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Engine


def stored_signal_names(engine: Engine, wanted: Iterable[str]) -> set[str]:
    """The names in `wanted` that have a stored row; when one has none, every stored name
    too (for "closest" hints). Empty exactly when no signal is stored at all."""
    found: set[str] = set()
    missing = False
    with engine.connect() as conn:
        for name in sorted(set(wanted)):
            row = conn.execute(
                text("SELECT 1 FROM signals WHERE signal = :name LIMIT 1"), {"name": name}
            ).first()
            if row is None:
                missing = True
            else:
                found.add(name)
        if missing:
            found |= {r[0] for r in conn.execute(text("SELECT DISTINCT signal FROM signals"))}
    return found
