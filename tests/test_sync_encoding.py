"""CSV files that are not UTF-8 (issue #18): refused with the encoding they look like and the
key that reads them; `encoding:` on the source reads them. Nothing changes on a refusal."""

from __future__ import annotations

import gzip
from datetime import date

import pytest
from sqlalchemy.engine import Engine

from scoring.errors import ConfigError, DataError
from scoring.store import load_accounts
from scoring.sync import run_sync
from scoring.sync.encodings import guess_encoding
from tests.db_fixtures import SyncProject, dump_tables

TODAY = date(2026, 11, 21)
TEXT = "account_id,name,arr\nacme,Acmé Café,100\nbeta,Bétä “Zürich”,200\n"
GOOD_SIGNALS = "account_id,date,signal,value\nacme,2026-11-01,logins,1\n"


def sources(path: str = "exports/accounts.csv", encoding: str | None = None) -> str:
    line = f"    encoding: {encoding}\n" if encoding else ""
    return (
        f"  - kind: accounts\n    path: {path}\n{line}"
        "  - kind: signals\n    path: exports/signals.csv\n"
    )


@pytest.fixture
def synced(engine: Engine, project: SyncProject) -> tuple[Engine, SyncProject]:
    project.write("exports/accounts.csv", "account_id,name\nacme,Acme\n")
    project.write("exports/signals.csv", GOOD_SIGNALS)
    run_sync(engine, project.model(sources()), project.root, TODAY)
    return engine, project


# codec the file is written in -> (what the message calls it, the key it suggests)
REFUSED = {
    "utf-16": ("UTF-16 LE", "utf-16"),
    "utf-16-le": ("UTF-16 LE without a byte-order mark", "utf-16-le"),
    "utf-16-be": ("UTF-16 BE without a byte-order mark", "utf-16-be"),
    "utf-32": ("UTF-32 LE", "utf-32"),
    "cp1252": ("Windows-1252 / Latin-1", "cp1252"),
    "latin-1": ("Windows-1252 / Latin-1", "cp1252"),  # no byte tells them apart here
}


@pytest.mark.parametrize("codec", list(REFUSED))
def test_a_file_that_is_not_utf8_is_refused_naming_its_encoding_then_read_with_the_key(
    synced: tuple[Engine, SyncProject], codec: str
) -> None:
    engine, project = synced
    text = TEXT if codec != "latin-1" else TEXT.replace("“Zürich”", "Zürich")
    (project.root / "exports/accounts.csv").write_bytes(text.encode(codec))
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, project.model(sources()), project.root, TODAY)
    name, key = REFUSED[codec]
    assert str(caught.value) == (
        f"source exports/accounts.csv: exports/accounts.csv is not UTF-8 (it looks like {name});"
        f" add `encoding: {key}` to the source; sync changed nothing"
    )
    assert dump_tables(engine) == before

    run_sync(engine, project.model(sources(encoding=key)), project.root, TODAY)
    names = load_accounts(engine).set_index("account_id")["name"]
    assert names["acme"] == "Acmé Café"
    assert names["beta"] == ("Bétä “Zürich”" if codec != "latin-1" else "Bétä Zürich")


def test_utf8_with_a_byte_order_mark_is_utf8(engine: Engine, project: SyncProject) -> None:
    (project.root / "exports").mkdir(parents=True)
    (project.root / "exports/accounts.csv").write_bytes(TEXT.encode("utf-8-sig"))
    project.write("exports/signals.csv", GOOD_SIGNALS)
    run_sync(engine, project.model(sources()), project.root, TODAY)
    assert load_accounts(engine).set_index("account_id").loc["acme", "name"] == "Acmé Café"


def test_a_compressed_file_is_sniffed_after_decompressing(
    synced: tuple[Engine, SyncProject],
) -> None:
    engine, project = synced
    (project.root / "exports/accounts.csv.gz").write_bytes(gzip.compress(TEXT.encode("utf-16")))
    before = dump_tables(engine)
    with pytest.raises(DataError, match=r"looks like UTF-16 LE\); add `encoding: utf-16`"):
        run_sync(engine, project.model(sources("exports/accounts.csv.gz")), project.root, TODAY)
    assert dump_tables(engine) == before
    model = project.model(sources("exports/accounts.csv.gz", "utf-16"))
    assert run_sync(engine, model, project.root, TODAY)[0].rows_read == 2


def test_a_latin1_byte_far_into_the_file_is_still_named(
    synced: tuple[Engine, SyncProject],
) -> None:
    """Past the sniffed head the parser finds the bad byte; the message is the same."""
    engine, project = synced
    rows = "".join(f"a{i},Account {i},1\n" for i in range(20_000))  # > 64 KiB of ASCII
    data = ("account_id,name,arr\n" + rows).encode() + "zeta,Zoë,5\n".encode("cp1252")
    (project.root / "exports/accounts.csv").write_bytes(data)
    before = dump_tables(engine)
    with pytest.raises(DataError, match=r"is not UTF-8 \(it looks like Windows-1252 / Latin-1\)"):
        run_sync(engine, project.model(sources()), project.root, TODAY)
    assert dump_tables(engine) == before


def test_a_declared_encoding_that_does_not_fit_is_one_line(
    synced: tuple[Engine, SyncProject],
) -> None:
    engine, project = synced
    (project.root / "exports/accounts.csv").write_bytes(TEXT.encode("utf-8"))
    before = dump_tables(engine)
    with pytest.raises(DataError) as caught:
        run_sync(engine, project.model(sources(encoding="utf-16")), project.root, TODAY)
    message = str(caught.value)
    assert message.startswith(
        "source exports/accounts.csv: cannot read exports/accounts.csv as utf-16 (`encoding:`):"
    )
    assert message.endswith("; sync changed nothing") and "\n" not in message
    assert dump_tables(engine) == before


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (sources(encoding="utf-17"), "sources[0].encoding: unknown encoding 'utf-17'"),
        (
            "  - kind: signals\n    path: exports/x.parquet\n    encoding: utf-16\n",
            "sources[0]: `encoding` applies to CSV files only",
        ),
        (
            "  - kind: signals\n    url: sqlite://\n    query: select 1\n    encoding: cp1252\n",
            "sources[0]: `encoding` applies to CSV files only",
        ),
    ],
)
def test_a_bad_encoding_key_names_its_path(
    project: SyncProject, source: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        project.model(source)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"id,name\na,b\n", None),
        ("id,name\na,é\n".encode(), None),
        ("id,name\na,é".encode()[:-1], None),  # a character cut by the sniff is not an error
        ("id,name\na,é\n".encode("cp1252"), "cp1252"),
        (b"id,name\na,\x81\xe9\n", "latin-1"),  # 0x81 is undefined in Windows-1252
        ("id,name\n".encode("utf-16-le"), "utf-16-le"),
        ("id,name\n".encode("utf-16-be"), "utf-16-be"),
        ("id,name\n".encode("utf-32"), "utf-32"),
    ],
)
def test_guess_encoding(data: bytes, expected: str | None) -> None:
    guess = guess_encoding(data)
    assert (guess.key if guess else None) == expected
