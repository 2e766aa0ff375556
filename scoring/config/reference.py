"""The model-file reference, generated from the schema so it cannot drift from the code.

Every field of every section needs an entry in `descriptions.DESCRIPTIONS` (a test fails
otherwise); `healthbot reference` and docs/model-reference.md are rendered from the two.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from scoring.config.descriptions import DESCRIPTIONS
from scoring.config.model import Model


def _models(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """('', Model) for a nested model, ('[]', M) for a list, ('.<key>', M) for a dict."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _models(arg)
            if found:
                return found
    if origin is list and args:
        inner = _models(args[0])
        return ("[]" + inner[0], inner[1]) if inner else None
    if origin is dict and len(args) == 2:
        inner = _models(args[1])
        key = "<key>" if getattr(args[1], "__name__", "") == "Metric" else "<name>"
        return (f".{key}" + inner[0], inner[1]) if inner else None
    return None


def fields(model: type[BaseModel] = Model, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every key path of the model file with its pydantic field, depth first."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, info
        nested = _models(info.annotation)
        if nested:
            yield from fields(nested[1], path + nested[0])


def _type(info: FieldInfo) -> str:
    text = str(info.annotation).replace("typing.", "")
    for noise in ("scoring.config.metrics.", "scoring.config.sections.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "—"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [v.model_dump(exclude_none=True) for v in value]
    return "none" if value is None else json.dumps(value, default=str)


def reference_markdown() -> str:
    lines = [
        "# Model file reference",
        "",
        "Generated from the schema by `healthbot reference`; do not edit by hand.",
        "",
        "| key | meaning | type | default | example |",
        "|---|---|---|---|---|",
    ]
    for path, info in fields():
        meaning, example = DESCRIPTIONS.get(path, ("(undocumented)", ""))
        cell = lambda s: str(s).replace("|", "\\|")  # noqa: E731
        lines.append(
            f"| `{path}` | {cell(meaning)} | `{cell(_type(info))}` | "
            f"`{cell(_default(info))}` | `{cell(example)}` |"
        )
    return "\n".join(lines) + "\n"
