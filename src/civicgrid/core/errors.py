"""Domain errors raised by services. The API and pages map each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; `field` names the input at fault when there is one."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "detail": self.message, "field": self.field}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The object changed under us, or is in a state where this action does not apply."""

    status = 409
    code = "conflict"


class OutsideEveryGrid(ValidationFailed):
    code = "outside_every_grid"
