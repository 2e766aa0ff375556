"""Writing `<model>.proposed.yml`: the user's own file with only the numbers changed.

The model file is the user's: comments, order, `${VAR}` references to secrets and all. So the
proposal is made by editing the file's TEXT where the YAML parser says each number is
(`yaml.compose` gives every scalar's start and end offsets), never by dumping a parsed copy:
a dump would drop the comments and, after the loader's substitution, would write the secrets
themselves to disk. Nothing here writes over the model file.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from scoring.config import Model, parse_model
from scoring.errors import ConfigError, HealthbotError
from scoring.validation.comments import Change, Edit, comment_edits

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def number(value: float) -> str:
    """30.0 -> "30", 12.25 -> "12.3": how a person writes a weight or a band minimum."""
    text = f"{math.floor(float(value) * 10 + 0.5 + 1e-9) / 10:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _replace(node: yaml.Node, text: str) -> Edit:
    return node.start_mark.index, node.end_mark.index, text


def _insert(mapping: yaml.MappingNode, source: str, entries: list[str]) -> Edit:
    """Add `key: value` entries to a mapping: right after `{` in flow style, else as lines of
    their own just above the first key (same indentation), valid whatever the other values are."""
    if mapping.flow_style:
        at = mapping.start_mark.index + 1
        joined = ", ".join(entries)
        return at, at, f"{joined}, " if mapping.value else joined
    first = mapping.value[0][0].start_mark
    line_start = source.rfind("\n", 0, first.index) + 1
    if source[line_start : first.index].strip():
        raise HealthbotError(
            f"cannot add `{entries[0]}` to the mapping on line {first.line + 1} of the model file"
            " (its first key shares a line with other text); add it by hand"
        )
    return line_start, line_start, "".join(" " * first.column + e + "\n" for e in entries)


def _differs(old: str, new: str) -> bool:
    try:
        return float(old) != float(new)
    except ValueError:
        return True


def _set_number(node: yaml.Node, value: float, key: str, changes: list[Change]) -> Edit:
    """The edit that writes `value` over a scalar, remembering it when the number changes."""
    new = number(value)
    if isinstance(node, yaml.ScalarNode) and _differs(node.value, new):
        changes.append(Change(node.start_mark.index, node.end_mark.index, node.value, new, key))
    return _replace(node, new)


def apply_with_comments(source: str, edits: list[Edit], changes: list[Change]) -> str:
    """The edits plus `# was OLD` on changed lines and stale comments dropped (comments.py)."""
    return _apply(source, edits + comment_edits(source, changes))


def _apply(source: str, edits: list[Edit]) -> str:
    for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
        source = source[:start] + text + source[end:]
    return source


def propose_text(
    source: str,
    weights: Mapping[str, float],
    segment: str | None = None,
    bands: Mapping[str, float] | None = None,
) -> str:
    """The model text with new weights (top level, or one segment's) and band minimums.

    Top-level weights replace each `metrics.<key>.weight`. Segment weights replace the
    segment's `weights.<key>` and add the metrics it did not list (so every weight of the
    segment is explicit); a segment without `weights:` gets one. `bands` (name -> min) edits
    the top-level `bands:` list, or the segment's own list when it has one. A changed number
    carries `# was OLD`, and a nearby comment quoting an old number is dropped (comments.py).
    """
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    edits: list[Edit] = []
    changes: list[Change] = []
    if segment is None:
        metrics = _child(root, "metrics")
        for key, value in weights.items():
            node = _child(_child(metrics, key), "weight")
            if node is None:
                raise HealthbotError(f"cannot find metrics.{key}.weight in the model file")
            edits.append(_set_number(node, value, key, changes))
        band_list = _child(root, "bands")
    else:
        seg = _child(_child(root, "segments"), segment)
        if not isinstance(seg, yaml.MappingNode):
            raise HealthbotError(f"cannot find segments.{segment} in the model file")
        table = _child(seg, "weights")
        if isinstance(table, yaml.MappingNode):
            missing = []
            for key, value in weights.items():
                node = _child(table, key)
                if node is None:
                    missing.append(f"{key}: {number(value)}")
                else:
                    edits.append(_set_number(node, value, key, changes))
            if missing:
                edits.append(_insert(table, source, missing))
        else:
            flow = ", ".join(f"{k}: {number(v)}" for k, v in weights.items())
            edits.append(_insert(seg, source, [f"weights: {{{flow}}}"]))
        band_list = _child(seg, "bands")
    if bands and isinstance(band_list, yaml.SequenceNode):
        for item in band_list.value:
            name, low = _child(item, "name"), _child(item, "min")
            if isinstance(name, yaml.ScalarNode) and low is not None and name.value in bands:
                edits.append(_set_number(low, bands[name.value], name.value, changes))
    return apply_with_comments(source, edits, changes)


def proposed_path(model_path: Path) -> Path:
    """`healthbot.yml` -> `healthbot.proposed.yml`, beside it."""
    return model_path.with_name(f"{model_path.stem}.proposed{model_path.suffix or '.yml'}")


def check_proposal(text: str, origin: str, environ: Mapping[str, str] | None = None) -> Model:
    """Validate the proposed text as a model, in memory only (nothing expanded is written).

    Pass the environment the current model was loaded with; a `${VAR}` it lacks stands in as
    "0", which every number and text field accepts, so the check also runs without secrets.
    """
    env = dict(os.environ if environ is None else environ)
    for name in _VAR.findall(text):
        env.setdefault(name, "0")
    try:
        return parse_model(text, origin, env)
    except ConfigError as exc:
        raise HealthbotError(f"the proposed model does not validate (a bug): {exc}") from None


def write_proposal(model_path: Path, text: str | None, output: Path | None = None) -> Path:
    """Write the proposal beside the model (or to `output`); never over the model itself.

    With `text` None, only check the target (so a bad --output fails before any work)."""
    target = output or proposed_path(model_path)
    if target.resolve() == model_path.resolve():
        raise HealthbotError(
            f"refusing to write the proposal over the model file {model_path}: pick another"
            " --output (review the proposal, then copy it over yourself)"
        )
    if text is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
    )
    return "".join(lines)
