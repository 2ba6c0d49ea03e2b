"""Domain errors: each door turns these into its own wire format in one place."""


class DomainError(Exception):
    """A refusal a person can read: the message says what went wrong and, where it helps, why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""


class Conflict(DomainError):
    """The request clashes with the current state: a taken name, a rule that would be broken."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class InvalidInput(DomainError):
    """The request itself is wrong: a missing field, a value out of range."""


class PreconditionFailed(DomainError):
    """The caller's view of the resource is out of date (version mismatch)."""


class Unavailable(DomainError):
    """The database could not be reached, or failed: nothing was written; asking again later may
    succeed."""


class OutcomeUnknown(Unavailable):
    """The database was lost while a write was being committed, and whether it was could not be
    found out: the caller should look before writing again."""
