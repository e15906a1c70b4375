"""Wharf's errors as exceptions.

Every failure is a :class:`Error` carrying what went wrong (``kind``, as the
contract names it: ``not-found``, ``permission-denied``…), on which
``remote``, in which ``operation`` and at which ``key``. Each kind is also
the built-in exception Python code already catches: a missing object is a
``FileNotFoundError``, a refusal a ``PermissionError``, a bad key or
configuration a ``ValueError``.
"""

from __future__ import annotations


class Error(Exception):
    """A failure of a Wharf call."""

    #: The contract's name for it: ``not-found``, ``invalid-key``…
    kind: str = "other"
    #: The remote's name, where one was involved.
    remote: str | None = None
    #: The operation (``read``, ``write``, ``stat``…), where known.
    operation: str | None = None
    #: The key or prefix involved, where known.
    key: str | None = None
    #: The message without the remote, operation and key before it.
    detail: str | None = None
    #: For ``rate-limited``: how long the backend asked to wait, in seconds.
    retry_after: float | None = None

    def __str__(self) -> str:
        # OSError's own __str__ would print "[Errno None] …".
        return str(self.args[0]) if self.args else self.kind


class NotFound(Error, FileNotFoundError):
    """There is no object at the key."""


class AlreadyExists(Error, FileExistsError):
    """The write was to create an object, and one is already there."""


class InvalidKey(Error, ValueError):
    """The key breaks the key rules or the backend's limits."""


class InvalidConfig(Error, ValueError):
    """A remote's configuration is wrong: an option, a value, the file."""


class InvalidRequest(Error, ValueError):
    """The request cannot be done as asked (copy a tree onto one object…)."""


class PermissionDenied(Error, PermissionError):
    """The backend, or the sandbox, refused the access."""


class Unsupported(Error, NotImplementedError):
    """The backend cannot do this (its capabilities say so)."""


class Unavailable(Error, ConnectionError):
    """A transient failure: the call may work if tried again."""


class RateLimited(Unavailable):
    """The backend asked to slow down (see ``retry_after``)."""


class Corrupted(Error, OSError):
    """Bytes did not arrive as sent: a size or hash differs, data is damaged."""


class IoFailed(Error, OSError):
    """Reading or writing a local file or stream failed."""


class LimitExceeded(Error):
    """The plugin went past a bound the host sets (memory, time); it was stopped."""


class PluginFailed(Error):
    """The plugin crashed or broke the contract; it is restarted for the next call."""


class InvalidPlugin(Error):
    """A plugin file could not be loaded."""


class WharfWarning(UserWarning):
    """Something a remote's user should know: an option left out, a name skipped."""


__all__ = [
    "AlreadyExists",
    "Corrupted",
    "Error",
    "InvalidConfig",
    "InvalidKey",
    "InvalidPlugin",
    "InvalidRequest",
    "IoFailed",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "PluginFailed",
    "RateLimited",
    "Unavailable",
    "Unsupported",
    "WharfWarning",
]
