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


UNREACHABLE = "Rollcall cannot reach its database at the moment; try again in a few seconds."


class Unavailable(Exception):
    """The database cannot be reached now: the connection was refused or lost, or the server is
    going away or full (recognised in `store.outages`). Not a refusal: the same request may be
    made again shortly, and each door answers 503 with `Retry-After`."""

    message = UNREACHABLE
    retry_after = 5  # seconds a client is asked to wait

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message

    def __str__(self) -> str:
        """The message, and what the driver said (for logs; doors answer with `message`)."""
        cause = self.__cause__
        return self.message if cause is None else f"{self.message} ({_first_line(cause)})"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class Busy(Unavailable):
    """A statement given up after waiting its time for a lock (another change of the same rows),
    or stopped by the database to break a deadlock: nothing was changed (`store.outages`)."""

    message = (
        "The database is busy with another change of the same data and could not make this one "
        "in time; nothing was changed. Try again in a moment."
    )


class OutcomeUnknown(Unavailable):
    """The database was lost while a write was being committed, and whether it was could not be
    found out: the caller should look before writing again."""
