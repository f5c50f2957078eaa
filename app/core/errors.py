"""Domain errors; views turn them into a clear message and a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation. ``message`` is already translated for the user."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class InvalidTransition(DomainError):
    status = 409


class Conflict(DomainError):
    status = 409


class ValidationFailed(DomainError):
    status = 422
