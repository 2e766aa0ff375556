"""An ibis backend from a URL: where a warehouse source's signals live, named the way users
write it. Sync checks a table through it (`scoring/store/warehouse.py`), scoring runs the
compiled model on it (`scoring/pushdown/connect.py`).

`backend_for("duckdb:///path.duckdb")`, `backend_for("postgresql://user:${PW}@host/db")`, any URL
`ibis.connect` understands (snowflake://, bigquery://, trino://, ... with that ibis extra
installed), and Apache Spark, which ibis cannot connect to by URL: `pyspark://local[2]` (local
mode, two worker threads), `spark://host:7077` (a standalone cluster), `pyspark://yarn`. Query
parameters on a Spark URL are Spark settings (`pyspark://local[4]?spark.driver.memory=6g`).

Every failure is one line naming the URL with its password hidden: the sync and the CLI print
it as it is, never a driver's traceback.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from typing import Any
from urllib.parse import parse_qsl

import ibis
import ibis.expr.types as ir

from scoring.config.sources import is_file_table
from scoring.errors import ConfigError, HealthbotError
from scoring.store.db import first_line, shown_url

SPARK_SCHEMES = frozenset({"pyspark", "spark"})
# Small on purpose: a local session shares the machine with the app; a cluster's own
# settings (or the URL's query) override these for real sizes.
SPARK_DEFAULTS = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.driver.memory": "2g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
# SQLAlchemy spellings the app database uses, as ibis names the same backend.
SCHEMES = {"postgresql": "postgres", "sqlite": "sqlite", "duckdb": "duckdb"}

_lock = threading.Lock()
_session: dict[str, Any] = {}  # master -> the one SparkSession this process may have


def backend_for(url: str) -> Any:
    """The ibis backend for the signals behind `url` (an ibis backend URL, or a Spark master)."""
    if "://" not in url:
        raise ConfigError(
            f"signals URL {shown_url(url)!r} has no scheme: write e.g. duckdb:///signals.duckdb,"
            " postgresql://host/db or pyspark://local[2]"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme in SPARK_SCHEMES:
        return ibis.pyspark.connect(spark_session(url))
    return _ibis_backend(url, scheme)


def _ibis_backend(url: str, scheme: str) -> Any:
    """`ibis.connect` on the URL, a SQLAlchemy driver suffix (`postgresql+psycopg`) dropped."""
    base = SCHEMES.get(scheme.split("+", 1)[0], scheme.split("+", 1)[0])
    target = f"{base}://{url.split('://', 1)[1]}"
    try:
        return ibis.connect(target)
    except ImportError as exc:
        raise ConfigError(
            f"cannot use signals URL {shown_url(url)}: the ibis backend for {base!r} is not"
            f" installed ({first_line(exc)}); install ibis-framework[{base}]"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any driver's failure becomes one line
        raise HealthbotError(
            f"cannot connect to signals URL {shown_url(url)}: {hidden(first_line(exc), url)}"
        ) from None


def open_table(backend: Any, name: str) -> ir.Table:
    """The table `name` on `backend`: `schema.table` (or `catalog.schema.table`), a plain
    name, or Parquet files (`/data/usage/*.parquet`, `s3://bucket/usage.parquet`), which the
    backend reads where they are as a view of its own (the same name each time, so a second
    look finds it). Raises what the backend raises; callers turn it into one line."""
    if is_file_table(name):
        view = "hb_files_" + hashlib.sha1(name.encode()).hexdigest()[:12]
        if view in backend.list_tables():
            return backend.table(view)
        return backend.read_parquet(name, table_name=view)
    if "." in name:
        database, _, table = name.rpartition(".")
        path = tuple(database.split(".")) if "." in database else database
        return backend.table(table, database=path)
    return backend.table(name)


def spark_master(url: str) -> tuple[str, dict[str, str]]:
    """(Spark master, settings) from `pyspark://local[2]?k=v` or `spark://host:7077?k=v`."""
    scheme, rest = url.split("://", 1)
    where, _, query = rest.partition("?")
    where = where.rstrip("/")
    if not where:
        raise ConfigError(
            f"signals URL {shown_url(url)!r} names no Spark master: write pyspark://local[2]"
            " or spark://host:7077"
        )
    master = f"spark://{where}" if scheme.lower() == "spark" else where
    try:
        settings = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise ConfigError(
            f"signals URL {shown_url(url)!r}: its query must be Spark settings, key=value&..."
        ) from None
    return master, settings


def spark_session(url: str) -> Any:
    """The process's SparkSession for `url`'s master, started on first use and then reused
    (a JVM holds one Spark context; starting one costs seconds)."""
    master, settings = spark_master(url)
    with _lock:
        if master in _session:
            return _session[master]
        if _session:
            (running,) = _session
            raise ConfigError(
                f"signals URL {shown_url(url)}: this process already runs Spark on {running};"
                " one process can use one Spark master"
            )
        _session[master] = _start_spark(url, master, settings)
        return _session[master]


def spark_missing() -> str | None:
    """What Spark lacks on this machine (pyspark, or Java), as a sentence; None: nothing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'healthbot[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return None
    if shutil.which("java") is None:
        return "Java is not installed (Spark needs Java 17: set JAVA_HOME or put java on PATH)"
    return None


def _start_spark(url: str, master: str, settings: dict[str, str]) -> Any:
    missing = spark_missing()
    if missing:
        raise HealthbotError(f"cannot use Spark at {shown_url(url)}: {missing}")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("healthbot")
    for key, value in {**SPARK_DEFAULTS, **settings}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - the JVM's failure becomes one line
        raise HealthbotError(
            f"cannot start Spark at {shown_url(url)}: {hidden(first_line(exc), url)}"
        ) from None
    session.sparkContext.setLogLevel("WARN")
    return session


def hidden(text: str, url: str) -> str:
    """`text` without the URL's password, wherever a driver echoed it."""
    creds = url.split("://", 1)[1].rsplit("@", 1)[0] if "@" in url else ""
    if ":" in creds:
        password = creds.split(":", 1)[1]
        if password:
            text = text.replace(password, "***")
    return text
