"""Errors a user acts on: each says what went wrong and what to do about it."""

from __future__ import annotations


class Phase3TestError(Exception):
    """Base class: a failure the framework explains instead of a traceback."""


class SetupError(Phase3TestError):
    """The environment or configuration is wrong (exit code 2 territory)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


class ServerError(Phase3TestError):
    """PostgreSQL could not be initialised or started; carries the server log tail."""
