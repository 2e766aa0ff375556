"""The exception tree of healthbot's domain.

HealthbotError                 anything a user can cause; the CLI prints `str(error)` and exits 1
├── ConfigError                the model file is missing, unreadable or invalid
├── DataError                  a source or stored data breaks a rule (sync refuses it whole)
│   └── Blocked                a refusal retrying cannot fix: the weekly run is `blocked`
├── LookupFailed               an ACCOUNT argument matched nothing, or more than one account
├── OutboxActionRefused        `outbox retry`/`resolve` does not apply to that row (nothing changed)
└── OutputCheckFailed          the engine produced something its own contract forbids (a bug)
"""

from __future__ import annotations


class HealthbotError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""

    exit_code = 1


class ConfigError(HealthbotError):
    """The model file cannot be used; the message names the key path and the problem."""


class DataError(HealthbotError):
    """Input data breaks a rule; the message names the source, row, column and value."""


class Blocked(DataError):
    """A run refused to go on for a reason retrying cannot fix (e.g. an export that would
    deactivate most of the portfolio): the run is `blocked`, reported once, and not retried
    until a person acts."""


class LookupFailed(HealthbotError):
    """An account reference matched nothing or several accounts."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 2 if self.candidates else 1


class OutboxActionRefused(HealthbotError):
    """A person asked to retry or resolve an outbox row that is not in a state where that
    applies (or no such row exists); the message names the key and its status, and nothing
    was changed. `closest` holds near-miss keys for an unknown one."""

    def __init__(self, message: str, closest: list[str] | None = None) -> None:
        super().__init__(message)
        self.closest = closest or []


class OutputCheckFailed(HealthbotError):
    """The engine's output broke an invariant; raised instead of storing a wrong score."""
