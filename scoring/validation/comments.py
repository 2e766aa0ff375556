"""Keeping a proposal's comments true: a changed number says what it was, and a comment that
quotes a number the proposal changed is dropped rather than left to contradict it.

"80-100 is healthy" above a band list whose minimum is now 77 is worse than no comment: the
reader trusts the comment. So every changed number gets an inline `# was 80` (an existing
trailing comment is kept after it, `# was 10  # fewer is better`, unless it quotes the old
number), and a paragraph of comment lines near the change (above its section, above or inside
its own entry) that quotes an old number is removed. Comments elsewhere in the file are never
touched: a "30" in a date on the other side of the file is not about this weight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

Edit = tuple[int, int, str]


@dataclass(frozen=True)
class Change:
    """One number edited in the model text: where its scalar sits, and its old and new text."""

    start: int
    end: int
    old: str
    new: str
    key: str


def _quotes(text: str, old: str) -> bool:
    """Whether `text` mentions the number `old` as a number of its own ("80-100", "80%", not
    "180" or "80th" or "8.0")."""
    return re.search(rf"(?<![\w.]){re.escape(old)}(?![\w]|\.\d)", text) is not None


def _line(source: str, at: int) -> tuple[int, int]:
    start = source.rfind("\n", 0, at) + 1
    end = source.find("\n", at)
    return start, len(source) if end < 0 else end


def _comment_lines_above(source: str, at: int) -> int:
    """Start offset of the run of full-line comments directly above the line holding `at`."""
    start, _ = _line(source, at)
    while start > 0:
        above, _ = _line(source, start - 1)
        if not source[above : start - 1].lstrip().startswith("#"):
            break
        start = above
    return start


def _region(root: yaml.Node, source: str, at: int) -> list[tuple[int, int]]:
    """The spans whose comments can be about the number at `at`: the comments above its
    top-level section, and its own entry (the comments above it included) or, for a list
    such as `bands:`, the whole list."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if not key.start_mark.index <= at <= value.end_mark.index:
            continue
        header = (_comment_lines_above(source, key.start_mark.index), key.start_mark.index)
        if isinstance(value, yaml.MappingNode):
            for child_key, child in value.value:
                if child_key.start_mark.index <= at <= child.end_mark.index:
                    own = _comment_lines_above(source, child_key.start_mark.index)
                    return [header, (own, child.end_mark.index)]
        return [header, (key.start_mark.index, value.end_mark.index)]
    return []


def _paragraphs(source: str, start: int, end: int) -> list[tuple[int, int]]:
    """Runs of full-line comments within [start, end), as (first line start, last line end+1)."""
    out: list[tuple[int, int]] = []
    at = _line(source, start)[0]
    run: tuple[int, int] | None = None
    while at < end and at < len(source):
        line_start, line_end = _line(source, at)
        if source[line_start:line_end].lstrip().startswith("#"):
            run = (run[0] if run else line_start, min(line_end + 1, len(source)))
        elif run:
            out.append(run)
            run = None
        at = line_end + 1
    if run:
        out.append(run)
    return out


def comment_edits(source: str, changes: list[Change]) -> list[Edit]:
    """Edits (start, end, text) that add `# was OLD` to each changed line and remove the
    nearby comment paragraphs quoting an old number; they never overlap a number's edit."""
    if not changes:
        return []
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    edits: list[Edit] = []
    by_line: dict[tuple[int, int], list[Change]] = {}
    for change in changes:
        by_line.setdefault(_line(source, change.start), []).append(change)
    for (_, line_end), on_line in by_line.items():
        on_line.sort(key=lambda c: c.start)
        tail_start = max(c.end for c in on_line)
        tail = source[tail_start:line_end]
        hashes = (i for i, ch in enumerate(tail) if ch == "#" and tail[i - 1 : i] in " \t")
        hash_at = next(hashes, -1)
        was = (
            f"# was {on_line[0].old}"
            if len(on_line) == 1
            else "# was " + ", ".join(f"{c.key} {c.old}" for c in on_line)
        )
        if hash_at >= 0:
            existing = tail[hash_at + 1 :].strip()
            keep = existing and not any(_quotes(existing, c.old) for c in on_line)
            text = f"{was}  # {existing}" if keep else was
            edits.append((tail_start + hash_at, line_end, text))
        else:
            code_end = tail_start + len(tail.rstrip())
            edits.append((code_end, line_end, f"  {was}"))
    dropped: set[tuple[int, int]] = set()
    for change in changes:
        for start, end in _region(root, source, change.start):
            for paragraph in _paragraphs(source, start, end):
                if paragraph not in dropped and _quotes(source[slice(*paragraph)], change.old):
                    dropped.add(paragraph)
    edits += [(start, end, "") for start, end in sorted(dropped)]
    return edits
