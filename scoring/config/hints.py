"""Hints for model-file errors ("did you mean"): the valid value nearest a wrong one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(value: object, valid: Iterable[object]) -> str:
    """` (closest: 'x')` for the valid value nearest `value`, or "" when none is near.

    Case is ignored for the second try, since segment values and account attributes are
    matched without it."""
    options = [str(v) for v in valid]
    match = difflib.get_close_matches(str(value), options, n=1)
    if not match:
        folded = {o.casefold(): o for o in options}
        near = difflib.get_close_matches(str(value).casefold(), list(folded), n=1)
        match = [folded[near[0]]] if near else []
    return f" (closest: {match[0]!r})" if match else ""
