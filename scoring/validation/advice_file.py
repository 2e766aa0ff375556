"""The advisor's proposal as a model file: the user's own file, edited, plus a table of why.

Like calibrate's proposal (proposal.py) the file's text is edited, never dumped, so comments,
order and `${VAR}` references survive. A chosen metric that the model already has (same
signal, aggregate and window) keeps its key, label and description and gets the new scale and
weight; one the model lacks is added at the end of `metrics:`; a metric not chosen stays in the
file with weight 0 (so playbooks, segments and alert settings that name it stay valid; delete
it by hand if you like). Segments with weights of their own get the advised weights, since the
advice was fitted and judged with one set of weights. Every changed number says what it was.
"""

from __future__ import annotations

import pandas as pd
import yaml

from scoring.config import Model
from scoring.config.metrics import readable
from scoring.errors import HealthbotError
from scoring.validation.advise import Advice
from scoring.validation.advise_search import Chosen
from scoring.validation.candidates import CandidateSpec
from scoring.validation.comments import Change, comment_edits
from scoring.validation.proposal import _child, number, propose_text

CHANGE_COLUMNS = ["metric", "change", "definition", "scale", "weight", "heldout_auc", "why"]


def _definition(spec: CandidateSpec) -> str:
    return f"{spec.aggregate} of {spec.signal} over {spec.window_days} days"


def _scale_span(source: str, node: yaml.Node) -> tuple[int, int]:
    """Where the scale is written: a block mapping's node ends after the next key's indent,
    which a replacement must keep."""
    start = node.start_mark.index
    return start, start + len(source[start : node.end_mark.index].rstrip())


def _scale_text(source: str, node: yaml.Node) -> str:
    """The scale as written, on one line: block style (`scale:` above indented lines, as
    yaml.safe_dump writes a model) in flow style, so it is compared and quoted as a value."""
    start, end = _scale_span(source, node)
    text = source[start:end]
    if "\n" not in text:
        return text
    value = yaml.safe_load(" " * node.start_mark.column + text)
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip()


def _own_auc(advice: Advice, signal: str, aggregate: str, window: int) -> float:
    table = advice.candidates
    hit = table[
        (table["signal"] == signal)
        & (table["aggregate"] == aggregate)
        & (table["window_days"] == window)
    ]
    return float(hit["heldout_auc"].iloc[0]) if len(hit) else float("nan")


def _matches(model: Model, advice: Advice) -> dict[int, str]:
    """Chosen position -> the model's metric key with the same definition."""
    out = {}
    for i, chosen in enumerate(advice.chosen):
        spec = advice.spec(chosen)
        for key, metric in model.metrics.items():
            same = (metric.signal, metric.aggregate, metric.window_days) == (
                spec.signal,
                spec.aggregate,
                spec.window_days,
            )
            if same and key not in out.values():
                out[i] = key
                break
    return out


def _new_key(model: Model, spec: CandidateSpec) -> str:
    key = spec.key
    while key in model.metrics:
        key += "_advised"
    return key


def _metric_yaml(key: str, spec: CandidateSpec, chosen: Chosen, own: float, indent: int) -> str:
    pad, inner = " " * indent, " " * (indent + 2)
    lines = [
        f"{pad}{key}:  # added by calibrate --advise (own held-out AUC {own:.2f})"
        + (
            "; read the other way: riskier when higher, given the others"
            if chosen.against_own
            else ""
        ),
        f"{inner}label: {readable(spec.signal)} ({spec.aggregate}, {spec.window_days} days)",
        f"{inner}signal: {spec.signal}",
        f"{inner}aggregate: {spec.aggregate}",
        f"{inner}window_days: {spec.window_days}",
        f"{inner}scale: {chosen.scale.yaml()}",
    ]
    if spec.aggregate == "sum":
        lines.append(f"{inner}fill: 0  # no rows in the window: nothing to add up")
    lines.append(f"{inner}weight: {number(chosen.weight)}")
    return "\n".join(lines) + "\n"


def _end_of_metrics(source: str, metrics: yaml.MappingNode) -> int:
    """Offset just after the line holding the last metric's last value."""
    node: yaml.Node = metrics
    while isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        node = node.value[-1][1]
    end = source.find("\n", node.end_mark.index - 1)
    return len(source) if end < 0 else end + 1


def _why(reason: str, chosen: Chosen) -> str:
    """The reason, and when the metric is read against the way it points alone, that too."""
    if chosen.against_own:
        return f"{reason}; read the other way: riskier when higher, given the others"
    return reason


def advice_text(source: str, model: Model, advice: Advice) -> tuple[str, pd.DataFrame]:
    """(the proposed model text, one row per metric: what changed and why)."""
    matches = _matches(model, advice)
    weights = dict.fromkeys(model.metrics, 0.0)
    for i, key in matches.items():
        weights[key] = advice.chosen[i].weight
    text = propose_text(source, weights, None, advice.bands)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    metrics = _child(root, "metrics")
    if not isinstance(metrics, yaml.MappingNode) or metrics.flow_style:
        raise HealthbotError("cannot add metrics to a `metrics:` written in flow style ({...})")
    edits, changes, rows = [], [], []
    added = []
    for i, chosen in enumerate(advice.chosen):
        spec = advice.spec(chosen)
        own = _own_auc(advice, spec.signal, spec.aggregate, spec.window_days)
        if i not in matches:
            key = _new_key(model, spec)
            added.append(
                _metric_yaml(key, spec, chosen, own, metrics.value[0][0].start_mark.column)
            )
            rows.append([key, "added", _definition(spec), chosen.scale.yaml()])
            rows[-1] += [
                f"0 -> {number(chosen.weight)}",
                own,
                _why("chosen with the others", chosen),
            ]
            continue
        key = matches[i]
        node = _child(_child(metrics, key), "scale")
        old_scale = _scale_text(text, node) if node is not None else ""
        new_scale = chosen.scale.yaml()
        change = "kept"
        if node is not None and yaml.safe_load(old_scale) != yaml.safe_load(new_scale):
            start, end = _scale_span(text, node)
            edits.append((start, end, new_scale))
            at = end if "\n" in text[start:end] else start  # `# was` after a block's last line
            changes.append(Change(at, end, old_scale, "", key))
            change = "rescaled"
        old_weight = model.metrics[key].weight
        shown = new_scale if change == "kept" else f"{old_scale} -> {new_scale}"
        rows.append([key, change, _definition(spec), shown])
        rows[-1] += [
            f"{number(old_weight)} -> {number(chosen.weight)}",
            own,
            _why("chosen again", chosen),
        ]
    chosen_keys = set(matches.values())
    for key, metric in model.metrics.items():
        if key in chosen_keys:
            continue
        own = _own_auc(advice, metric.signal, metric.aggregate, metric.window_days)
        why = (
            f"signal {metric.signal} is in advise.exclude_signals"
            if metric.signal in advice.excluded
            else "adds too little beside the chosen metrics"
        )
        rows.append([key, "dropped", f"{metric.aggregate} of {metric.signal} over"])
        rows[-1][-1] += f" {metric.window_days} days"
        rows[-1] += ["", f"{number(metric.weight)} -> 0", own, why]
    if added:
        at = _end_of_metrics(text, metrics)
        edits.append((at, at, "\n" + "\n".join(added)))
    text = _apply_all(text, edits, changes)
    text = _segment_weights(text, model, advice, matches)
    return text, pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _apply_all(text: str, edits: list, changes: list[Change]) -> str:
    for start, end, new in sorted(edits + comment_edits(text, changes), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _segment_weights(text: str, model: Model, advice: Advice, matches: dict[int, str]) -> str:
    """Segments with weights of their own get the advised weights (all metrics listed)."""
    own = [name for name, seg in model.segments.items() if seg.weights]
    if not own:
        return text
    weights = dict.fromkeys(model.metrics, 0.0)
    for i, chosen in enumerate(advice.chosen):
        weights[matches.get(i) or _new_key(model, advice.spec(chosen))] = chosen.weight
    for name in own:
        text = propose_text(text, weights, name)
    return text
