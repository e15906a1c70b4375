"""Wharf in Python: every Wharf backend (a local folder, S3 and the
S3-compatibles, Dropbox, FTP, overlays such as crypt and compress, any
third-party ``.wasm`` plugin) behind one API, each run in its sandbox.

>>> import wharf
>>> media = wharf.Remote("media")                    # ./media, no config needed
>>> media.put("2026/a.txt", b"hello")
>>> media.open("2026/a.txt").read()
b'hello'
>>> r2 = wharf.Remote.from_options("s3", {"bucket_name": "media", "endpoint_url": "…",
...                                      "access_key": "…", "secret_key": "…"})
>>> wharf.sync("./uploads", (r2, "uploads/"))

Calls release the GIL while they wait; a remote may be shared between
threads (its plugin instances serve one call each, in a pool).
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Union

from . import _native
from .errors import (
    AlreadyExists,
    Error,
    InvalidConfig,
    InvalidKey,
    NotFound,
    PermissionDenied,
    Unsupported,
    WharfWarning,
)

__version__: str = _native.__version__

#: How much a read or write moves at once, in bytes.
CHUNK_SIZE: int = _native.CHUNK_SIZE


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend says of one object."""

    key: str
    size: int
    #: When it was last written (timezone-aware, UTC), if the backend says.
    last_modified: _dt.datetime | None = None
    #: The backend's tag for the content (an S3 ETag…), if it has one.
    etag: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def _from_native(cls, raw: tuple) -> "ObjectInfo":
        key, size, modified, etag, content_type, metadata = raw
        when = None
        if modified is not None:
            seconds, nanoseconds = modified
            when = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).replace(
                microsecond=nanoseconds // 1000
            )
        return cls(key, size, when, etag, content_type, dict(metadata))


@dataclass(frozen=True)
class Prefix:
    """A common prefix in a listing with a delimiter: a "directory",
    such as ``photos/2026/``, standing for every key below it."""

    prefix: str


Entry = Union[ObjectInfo, Prefix]


class ObjectFile(io.RawIOBase):
    """An object open for reading: a binary file that streams (one chunk
    in memory at most) and seeks (a seek away from what is here starts a
    ranged read). ``size`` and ``info`` are what ``stat`` said at open."""

    def __init__(self, native: Any):
        super().__init__()
        self._native = native
        self.name = native.key

    @property
    def key(self) -> str:
        return self._native.key

    @property
    def size(self) -> int:
        return self._native.size

    @property
    def info(self) -> ObjectInfo:
        return ObjectInfo._from_native(self._native.info)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._native.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self._native.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._native.read(len(view))
        view[: len(data)] = data
        return len(data)

    def peek(self, size: int = 1) -> bytes:
        return self._native.peek(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._native.seek(offset, whence)

    def tell(self) -> int:
        return self._native.tell()

    def close(self) -> None:
        if not self.closed:
            self._native.close()
        super().close()


#: What ``put`` stores: bytes, a binary file object, or chunks of bytes.
Source = Union[bytes, bytearray, memoryview, BinaryIO, Iterable[bytes]]


class Remote:
    """A remote: a backend as configured. ``Remote("r2")`` is remote
    ``r2`` of the Wharf config file (``config``, else ``$WHARF_CONFIG``,
    else the default; ``media`` is ./media and needs none), opened once per
    process and shared. :meth:`from_options` makes one from a plugin and
    its options."""

    def __init__(self, name: str, *, config: str | os.PathLike[str] | None = None):
        self._native = _native.Remote.named(name, _path(config))

    @classmethod
    def from_options(
        cls,
        plugin: str,
        options: Mapping[str, Any],
        *,
        name: str = "inline",
        config: str | os.PathLike[str] | None = None,
    ) -> "Remote":
        """A remote of ``plugin`` (``fs``, ``s3``, ``dropbox``, ``ftp``,
        ``crypt``, a ``.wasm`` path…) with ``options``: the plugin's own
        names or the aliases it declares (django-storages' ``bucket_name``,
        ``endpoint_url``…), and host keys (``memory_limit_mib``…). An
        overlay's ``remote`` names a remote of the config file."""
        remote = cls.__new__(cls)
        remote._native = _native.Remote.inline(
            name, plugin, {k: _option_text(v) for k, v in options.items()}, _path(config)
        )
        return remote

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def plugin(self) -> str:
        """The name the remote's plugin gives itself."""
        return self._native.plugin

    @property
    def capabilities(self) -> dict[str, bool]:
        """What the backend can do: ``ranged_read``, ``copy``, ``etag``…"""
        return self._native.capabilities()

    def __repr__(self) -> str:
        return f"<wharf.Remote {self.name!r} ({self.plugin})>"

    def stat(self, key: str) -> ObjectInfo:
        """What the backend says of the object at ``key``; raises
        :class:`NotFound` if there is none."""
        return ObjectInfo._from_native(self._native.stat(key))

    def exists(self, key: str) -> bool:
        """Whether there is an object at ``key``."""
        try:
            self._native.stat(key)
        except NotFound:
            return False
        return True

    def open(self, key: str) -> ObjectFile:
        """The object at ``key``, open for reading (streamed, seekable)."""
        return ObjectFile(self._native.open(key))

    def put(
        self,
        key: str,
        source: Source,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        only_new: bool = False,
    ) -> ObjectInfo:
        """Stores ``source`` at ``key``, streamed a chunk at a time: bytes,
        a binary file object (read from where it is), or an iterable of
        bytes chunks. Nothing is visible until it is all stored; if the
        source raises, nothing is stored and the exception goes on.

        With ``only_new=True`` the write only creates: it raises
        :class:`AlreadyExists` (a ``FileExistsError``) if an object is at
        ``key`` by the time it would be stored, the backend checking in the
        same step (of two such writes of one key, exactly one succeeds).
        Raises :class:`Unsupported` where the backend cannot promise that."""
        if size is None and isinstance(source, (bytes, bytearray, memoryview)):
            size = len(source)
        writer = self._native.writer(
            key, content_type, list((metadata or {}).items()), size, only_new
        )
        try:
            for chunk in _chunks(source):
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return ObjectInfo._from_native(writer.finish())

    def delete(self, key: str) -> None:
        """Deletes the object at ``key``; deleting a missing key succeeds."""
        self._native.delete(key)

    def delete_many(self, keys: Iterable[str]) -> dict[str, Error]:
        """Deletes ``keys`` (in batches the backend can take at once);
        returns the keys that could not be deleted, with why."""
        keys = list(keys)
        failed = self._native.delete_many(keys)
        return {key: error for key, error in zip(keys, failed) if error is not None}

    def list(self, prefix: str = "", delimiter: str | None = None) -> Iterator[list[Entry]]:
        """The objects under ``prefix``, a page at a time (in key order for
        backends that list in order). With ``delimiter="/"``, one level:
        the objects there and a :class:`Prefix` for each "directory"."""
        lister = self._native.lister(prefix, delimiter)
        while True:
            page = lister.next_page()
            if not page:
                return
            yield [
                Prefix(entry) if isinstance(entry, str) else ObjectInfo._from_native(entry)
                for entry in page
            ]

    def walk(self, prefix: str = "", delimiter: str | None = None) -> Iterator[Entry]:
        """:meth:`list`, one entry at a time."""
        for page in self.list(prefix, delimiter):
            yield from page

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Copies ``source`` to ``destination`` in this remote: inside the
        backend where it copies (no bytes pass through here), else streamed
        through, verified either way."""
        if self.capabilities.get("copy"):
            return ObjectInfo._from_native(self._native.copy(source, destination))
        failures: list[BaseException] = []

        def note_failure(event: dict) -> None:
            if event["event"] == "failed":
                failures.append(event["error"])

        _native.transfer(
            "copy",
            (self._native, source),
            (self._native, destination),
            recursive=False,
            progress=note_failure,
        )
        if failures:
            raise failures[0]
        return self.stat(destination)

    def hash(self, key: str, kind: str) -> str:
        """The ``kind`` hash (``md5``, ``sha256``, ``dropbox``…: one the
        plugin declares) of the object at ``key``."""
        return self._native.hash(key, kind)

    def url(self, key: str, expires: int = 3600, method: str = "GET") -> str:
        """A URL that lets a plain HTTP client ``method`` (GET, HEAD, PUT)
        the object at ``key`` for ``expires`` seconds, without credentials:
        S3 signs one here (no request), Dropbox asks for a temporary link,
        an fs remote with ``base_url`` gives the published address (which
        does not expire). A longer expiry than the backend allows is
        shortened to its limit, with a :class:`WharfWarning`. Raises
        :class:`Unsupported` for a backend that makes no URLs."""
        url, _expires_in, shortened_from = self._native.presign(key, method, expires)
        if shortened_from is not None:
            warnings.warn(
                f"remote '{self.name}': a URL for {key!r} was asked to last {shortened_from} s, "
                f"longer than the backend allows; it lasts {_expires_in} s",
                WharfWarning,
                stacklevel=2,
            )
        return url

    def take_notices(self) -> list[str]:
        """What the remote's plugins told the user since last asked (names
        an overlay skipped, say)."""
        return self._native.take_notices()


@dataclass(frozen=True)
class Summary:
    """The counts at the end of a transfer."""

    copied: int
    skipped: int
    deleted: int
    failed: int
    bytes: int
    same: int
    differ: int
    missing: int
    extra: int
    size_only: int
    planned: int
    planned_bytes: int
    #: Nothing failed, and for ``check``: nothing differs or is missing.
    ok: bool


#: One side of a transfer: ``"remote:key"`` or a local path as the
#: ``wharf`` command reads them, a ``pathlib.Path`` (always local), or
#: ``(Remote, key)``.
Side = Union[str, "os.PathLike[str]", "tuple[Remote, str]"]

#: Hears each event of a transfer: ``{"event": "copied", "rel": "a.jpg",
#: "bytes": 123, "verified": "md5"}``, ``{"event": "progress", "rel":
#: "a.jpg", "bytes": 1048576}``, ``failed`` (with ``error``), ``differs``,
#: ``missing``…
Progress = Callable[[dict], None]


def copy(source: Side, destination: Side, **options: Any) -> Summary:
    """Copies ``source`` (an object, or with ``recursive=True``, the
    default, every object below it) to ``destination``, as ``wharf cp``.
    Options: ``progress``, ``transfers``, ``retries``, ``dry_run``,
    ``checksum``, ``follow_links``, ``multi_thread_streams``, ``config``,
    and ``bwlimit`` (rclone's ``--bwlimit``: ``"10M"``, ``"10M:1M"`` for
    upload and download, or a timetable such as ``"08:00,512k 19:00,off"``)."""
    return _transfer("copy", source, destination, options)


def sync(source: Side, destination: Side, **options: Any) -> Summary:
    """Makes ``destination`` match ``source``: copies what is new or
    changed (and with ``delete=True`` removes what the source lacks)."""
    return _transfer("sync", source, destination, options)


def move(source: Side, destination: Side, **options: Any) -> Summary:
    """Copies, verifies, then deletes each source object."""
    return _transfer("move", source, destination, options)


def check(source: Side, destination: Side, **options: Any) -> Summary:
    """Compares two trees by size and hash (``download=True``: by bytes
    where there is no common hash); ``Summary.ok`` says whether they match."""
    return _transfer("check", source, destination, options)


def _transfer(mode: str, source: Side, destination: Side, options: dict) -> Summary:
    config = options.pop("config", None)
    raw = _native.transfer(
        mode, _side(source), _side(destination), config=_path(config), **options
    )
    return Summary(**raw)


def _side(side: Side) -> Any:
    if isinstance(side, tuple):
        remote, key = side
        return (remote._native, key)
    if isinstance(side, os.PathLike):
        return (None, os.fspath(side))
    return side


def _path(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), CHUNK_SIZE):
            yield source[start : start + CHUNK_SIZE]
    elif isinstance(source, (bytearray, memoryview)):
        view = memoryview(source).cast("B")
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])
    elif hasattr(source, "read"):
        while True:
            chunk = source.read(CHUNK_SIZE)
            if not chunk:
                return
            if isinstance(chunk, str):
                raise TypeError(
                    "put() stores bytes: open the file in binary mode ('rb'), or encode the text"
                )
            yield bytes(chunk) if not isinstance(chunk, bytes) else chunk
    else:
        for chunk in source:
            if isinstance(chunk, str):
                raise TypeError("put() stores bytes: encode text chunks before passing them")
            yield bytes(chunk) if not isinstance(chunk, bytes) else chunk


__all__ = [
    "AlreadyExists",
    "CHUNK_SIZE",
    "Entry",
    "Error",
    "InvalidConfig",
    "InvalidKey",
    "NotFound",
    "ObjectFile",
    "ObjectInfo",
    "PermissionDenied",
    "Prefix",
    "Remote",
    "Summary",
    "Unsupported",
    "WharfWarning",
    "check",
    "copy",
    "move",
    "sync",
]
