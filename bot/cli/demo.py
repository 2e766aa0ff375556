"""`healthbot demo`: a realistic portfolio, the real weekly pipeline, output in the terminal."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.context import Context
from scoring.errors import HealthbotError
from scoring.periods import last_complete_day

if TYPE_CHECKING:
    from scoring.config import Model

MARKER = ".healthbot-demo.json"
OWNED = [
    "healthbot.yml",
    "healthbot.db",
    "healthbot.db-wal",
    "healthbot.db-shm",
    "exports",
    "outbox",
]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "demo",
        parents=[common],
        help="generate a realistic portfolio and run the pipeline",
        description="Write ./healthbot.yml, ./exports/ and ./healthbot.db from a generated"
        " portfolio (a few hundred accounts, 26 weeks of signals), then run the real weekly"
        " pipeline for the last two weeks and show the digest, the alert DMs and a card."
        " Posts to Slack for real when $SLACK_BOT_TOKEN is set.",
        epilog="examples:\n  healthbot demo\n  healthbot demo --seed 3 --accounts 500\n"
        "  healthbot demo --force   # overwrite files the demo did not write",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--accounts", type=int, default=300, help="portfolio size (default 300)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite healthbot.yml/healthbot.db even if the demo did not write them",
    )
    parser.set_defaults(func=run)


def demo_model_path() -> Path:
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "demo-model.yml", here.parent / "examples" / "demo-model.yml"):
        if candidate.is_file():
            return candidate
    raise HealthbotError("the demo model file is missing from this installation")


def _claim(workdir: Path, force: bool) -> None:
    marker = workdir / MARKER
    ours = set(json.loads(marker.read_text())["files"]) if marker.exists() else set()
    foreign = [n for n in OWNED if (workdir / n).exists() and n not in ours]
    if foreign and not force:
        raise HealthbotError(
            f"refusing to overwrite {', '.join(foreign)} in {workdir} (not written by the demo);"
            " run the demo in an empty directory or pass --force"
        )
    for name in OWNED:
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    marker.write_text(json.dumps({"files": OWNED}))


def replayed_weeks(model: Model, history: list[date]) -> list[date]:
    """The history weeks whose alerts the demo replays: all but the first few, which the band
    rule needs as the runs before a week (as a deployment has them after its first weeks)."""
    from scoring.decisions.band_hysteresis import runs_needed

    return history[runs_needed(model) + 1 :]


def run(ctx: Context) -> int:
    from bot.cli.replayed_history import record_replayed_alerts
    from bot.delivery.terminal import TerminalTransport
    from bot.delivery.transports import transport_from_env
    from bot.jobs.scheduler import due_as_of
    from bot.jobs.weekly import run_weekly
    from bot.messages.render import unescape
    from scoring.batch.jobs import score_and_store
    from scoring.config import load_model
    from scoring.periods import weekly_as_ofs
    from scoring.sample import generate_portfolio, write_exports
    from scoring.store import ensure_schema, make_engine
    from scoring.sync import run_sync

    started = time.perf_counter()
    workdir = Path.cwd()
    _claim(workdir, ctx.args.force)
    shutil.copyfile(demo_model_path(), workdir / "healthbot.yml")
    model = load_model(workdir / "healthbot.yml", ctx.environ)
    # The data ends where the scheduler's latest run would have scored, so the demo's last
    # weekly run is the one a worker (or `healthbot run-weekly`) would run now.
    now = datetime.now(UTC)
    end = due_as_of(model, now) or last_complete_day(model.timezone, now)
    portfolio = generate_portfolio(seed=ctx.args.seed, accounts=ctx.args.accounts, end=end)
    write_exports(portfolio, workdir)
    url = ctx.environ.get("DATABASE_URL") or "sqlite:///healthbot.db"
    engine = make_engine(url)
    ensure_schema(engine)
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    say(
        f"healthbot demo: {len(portfolio.accounts)} accounts, {len(portfolio.signals):,} signal"
        f" rows over {portfolio.signals['date'].nunique()} days (seed {ctx.args.seed})"
    )
    for summary in run_sync(engine, model, workdir, end + timedelta(days=1)):
        say(f"  sync {summary.line()}")
    history = weekly_as_ofs(end - timedelta(days=7 * 12), end - timedelta(days=14))
    score_and_store(engine, model, history)
    # What those weeks' runs would have shown, so the weekly runs below start as week N of a
    # deployment: a slide that began weeks ago was alerted then (and is in cooldown now).
    record_replayed_alerts(engine, model, replayed_weeks(model, history))
    outdir = workdir / "outbox"
    # The terminal transport's own echo of every message is too much for a first look: the
    # demo prints a curated view below, and every message is still written to outbox/. The demo
    # chooses the terminal itself when there is no token: it runs on its own database, so no
    # real message can be consumed by it (other commands refuse instead of choosing).
    has_token = bool(ctx.environ.get("SLACK_BOT_TOKEN", "").strip())
    transport = transport_from_env(
        ctx.environ, outdir, stream=io.StringIO(), terminal=not has_token
    )
    results = [
        run_weekly(engine, model, workdir, as_of, transport, sync=False)
        for as_of in (end - timedelta(days=7), end)
    ]
    last = results[-1]
    # The run's texts are what Slack gets (escaped); a person reads them here literally.
    print(unescape(last.digest_text))
    print("─" * 72)
    counts = [(len(last.texts), "owner"), (last.alerts, "health alert"), (last.notices, "notice")]
    print(f"Alert DMs for {last.period}: " + ", ".join(_counted(n, w) for n, w in counts) + "\n")
    for text in last.texts[:3]:
        print(unescape(text))
        print("─" * 72)
    if len(last.texts) > 3:
        print(f"(+{len(last.texts) - 3} more DMs in {outdir}/)\n")
    _sample_card(engine, model)
    on_terminal = isinstance(transport, TerminalTransport)
    where = f"written to {outdir}/" if on_terminal else "posted to Slack"
    say(f"\nBlock Kit previews {where}. Took {time.perf_counter() - started:.1f}s.")
    say("Explore: healthbot lookup acme · healthbot history northwind · healthbot export scores")
    return 0


def _sample_card(engine, model) -> None:  # noqa: ANN001
    """Northwind Logistics is always one of the demo's sharp drops: a card worth reading."""
    from bot.messages.render import PLAIN, render_text
    from bot.slack.cards import account_card
    from scoring.store import load_accounts

    accounts = load_accounts(engine)
    northwind = accounts[accounts["name"] == "Northwind Logistics"]["account_id"]
    if len(northwind):
        card = account_card(engine, model, northwind.iloc[0])
        print("Sample /health card:\n")
        print(render_text("card", PLAIN, **card))


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
