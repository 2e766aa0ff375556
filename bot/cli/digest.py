"""`healthbot digest`: post the weekly digest on demand, or preview it without Slack.

On demand means the same job as the weekly pipeline (bot/jobs/digest.py) under the same outbox
keys, so running it after Monday's run (or twice) posts nothing again: a digest is posted once
per period and channel unless `--force` asks for another copy (new keys). `--preview` renders
only: no outbox row, no Slack call, so it is safe anywhere, even before a channel is set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.context import Context, add_transport_option
from scoring.errors import HealthbotError

if TYPE_CHECKING:
    from bot.jobs.digest import DigestPost
    from bot.messages.digest_render import RenderedDigest


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "digest",
        parents=[common],
        help="post the weekly digest (with its chart) now, or preview it",
        description="Post the digest of a period to the model file's `digest:` channel(s),"
        " with the overflow and the chart in its thread. A digest already posted for the"
        " period is not posted again unless --force.",
        epilog="examples:\n  healthbot digest\n  healthbot digest --period 2026-W47 --force\n"
        "  healthbot digest --preview out/   # digest.json, digest.txt, digest.png\n"
        "  healthbot digest --terminal       # post to the terminal and outbox/, not Slack",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--period", metavar="P", help="ISO week such as 2026-W47 (default: the latest scored)"
    )
    parser.add_argument(
        "--force", action="store_true", help="post again even if already posted for the period"
    )
    parser.add_argument(
        "--preview",
        metavar="OUTDIR",
        type=Path,
        help="write the Block Kit JSON, text and PNG to OUTDIR and print the text; send nothing",
    )
    add_transport_option(parser, check_first=False)  # checked in run(): --preview needs none
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    from bot.jobs.digest import post_digests
    from bot.messages.digest_render import render_digests
    from bot.messages.render import unescape
    from scoring.batch.digest_inputs import load_digest_inputs
    from scoring.batch.views import load_period

    args = ctx.args
    if args.preview is not None and args.force:
        raise HealthbotError("--force posts again; --preview posts nothing: pick one")
    if args.preview is None:
        ctx.check_transport()  # before the model or the database is touched: nothing changes
    model, engine = ctx.model, ctx.engine
    if args.preview is not None:
        inputs = load_digest_inputs(engine, model, load_period(engine, args.period))
        rendered = render_digests(model, inputs)
        written = write_preview(args.preview, rendered)
        for item in rendered:
            print(unescape(item.message.text))  # a person reads it; the files are Slack's
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
        return 0
    if not model.digest:
        raise HealthbotError(
            'no digest channel: add `digest: {channel: "#cs-health"}` to the model file'
            " (or use --preview)"
        )
    from scoring.batch.views import latest_period
    from scoring.store import finish_run, start_run

    period = args.period or latest_period(engine)
    transport = ctx.transport(Path.cwd() / "outbox")
    run_id = start_run(engine, "digest", period)
    try:
        view = load_period(engine, period)
        result = post_digests(engine, model, transport, view, run_id=run_id, force=args.force)
    except Exception as exc:
        finish_run(engine, run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    failed = [p for p in result.posts if p.status in ("failed", "unknown", "missing")]
    finish_run(engine, run_id, "failed" if failed else "succeeded", details=result.details())
    for post in result.posts:
        trouble = post.chart_error or post in failed
        print(_describe(post, result.period), file=sys.stderr if trouble else sys.stdout)
    return 1 if failed else 0


def _describe(post: DigestPost, period: str) -> str:
    """One line per digest: posted, already posted (and how to post again), waiting or
    failed, and what happened to its chart."""
    if post.already_sent:
        line = f"digest {period} was already posted to {post.channel} (--force posts it again)"
    elif post.status == "sent":
        line = f"digest {period} posted to {post.channel}"
    elif post.status == "pending":
        line = f"digest {period} for {post.channel} is waiting in the outbox"
    else:
        line = f"digest {period} to {post.channel} {post.status}: {post.error or 'no reason'}"
    if post.chart_error:
        return f"{line}; chart not shared ({post.chart}): {post.chart_error}"
    return f"{line}; chart {post.chart}" if post.status == "sent" else line


def write_preview(outdir: Path, rendered: list[RenderedDigest]) -> list[Path]:
    """Block Kit JSON, text fallback and PNG of each digest (and its thread, when a list
    overflows) into `outdir`: `digest.*` for one target, `digest-<target>.*` for several."""
    from bot.delivery.terminal import safe_key
    from bot.jobs.digest import digest_key

    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in rendered:
        stem = "digest"
        if len(rendered) > 1:
            stem += "-" + safe_key(digest_key("", item.target).removeprefix("digest::"))
        files: dict[str, str | bytes] = {
            f"{stem}.json": _json(item.message.blocks),
            f"{stem}.txt": item.message.text,
            f"{stem}.png": item.chart,
        }
        for i, (key, thread) in enumerate(item.threads):
            name = f"{stem}-thread" + ("" if i == 0 else f"-{key.replace('_', '-')}")
            files[f"{name}.json"] = _json(thread.blocks)
            files[f"{name}.txt"] = thread.text
        for key, file_name in item.files.items():
            files[file_name] = item.csv(key)
        for name, content in files.items():
            path = outdir / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def _json(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, indent=2, ensure_ascii=False) + "\n"
