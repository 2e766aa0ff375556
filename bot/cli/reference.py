"""`healthbot reference`: the model-file reference, generated from the schema."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.context import Context


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "reference",
        parents=[common],
        help="print every model-file key (meaning, type, default)",
        epilog="examples:\n  healthbot reference\n"
        "  healthbot reference --output docs/model-reference.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", metavar="FILE")
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    from scoring.config.reference import reference_markdown

    text = reference_markdown()
    if ctx.args.output:
        Path(ctx.args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
