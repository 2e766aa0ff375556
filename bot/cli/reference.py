"""`healthbot reference`: the model-file reference, generated from the schema."""

from __future__ import annotations

import argparse

from bot.cli.context import Context
from bot.cli.output import check_output_option, write_output


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
    parser.set_defaults(func=run, preflight=check_output_option)


def run(ctx: Context) -> int:
    from scoring.config.reference import reference_markdown

    text = reference_markdown()
    if ctx.args.output:
        write_output(ctx.args.output, text)
    else:
        print(text, end="")
    return 0
