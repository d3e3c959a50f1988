"""The exceptions of the zkelect binding.

Every error the library reports is a :class:`ZkelectError`; its ``code`` is
the native ``zkelect_result`` (``None`` for errors raised by the binding
itself) and ``detail`` the library's detailed message (which config line,
which sid, which port).
"""

from __future__ import annotations

import builtins
from typing import Optional


class ZkelectError(Exception):
    """Base class of every zkelect error."""

    def __init__(self, message: str, code: Optional[int] = None, detail: str = "") -> None:
        super().__init__(message)
        #: The native result code (``ZKELECT_ERR_*``), or None.
        self.code = code
        #: The library's detailed message for the failed call.
        self.detail = detail


class ConfigError(ZkelectError, ValueError):
    """The configuration is invalid (the message names the line or key, or
    the sid that is not in the server list)."""


class ElectionTimeout(ZkelectError, builtins.TimeoutError):
    """No leader was elected within the timeout."""


class NotRunningError(ZkelectError):
    """The operation needs a started peer."""


class AlreadyRunningError(ZkelectError):
    """``start()`` on a peer that is already running."""


class PeerClosedError(ZkelectError):
    """The peer was closed; no further operation is possible."""


class InvalidArgumentError(ZkelectError, ValueError):
    """An argument is out of range or not valid UTF-8."""


class NetworkError(ZkelectError, OSError):
    """A socket, file or thread operation failed (e.g. the port is taken)."""


class InternalError(ZkelectError):
    """The library caught an internal panic; please report it."""


class LibraryNotFoundError(ZkelectError, ImportError):
    """The native library ``libzkelect.so`` could not be loaded."""


class LibraryVersionError(ZkelectError, ImportError):
    """The native library's version differs from the package's."""
