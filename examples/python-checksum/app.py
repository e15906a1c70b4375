"""A checksum overlay in Python (componentize-py): it keeps each object in
the store below with its SHA-256 after it, and a whole read checks it.

An overlay stores its objects in another remote instead of a backend of
its own. It targets the world `wharf:storage/overlay`: it exports the
storage interface, as every plugin does, and imports `below`, the store it
sits on. It declares no access and gets none: everything goes through
`below`.

Below, an object is its bytes, then a trailer of 40 bytes: the SHA-256 of
the bytes and the marker `wharfsum`. Sizes above are 40 less. A read of a
whole object checks the digest at the end and fails, naming the key, if
the bytes below were changed; a ranged read passes the bytes through
unchecked (the digest covers the whole object only).
"""

import hashlib
from typing import List, Optional, Tuple

from componentize_py_types import Err, Ok, Result
from wit_world import exports
from wit_world.exports import storage
from wit_world.imports import below
from wit_world.imports import types

MARKER = b"wharfsum"
TRAILER = 32 + len(MARKER)


# Keys pass below unchanged, so the key rules are the store below's: the
# host checks each key there and answers invalid-key for the overlay.


def not_ours(key: str) -> Err:
    return Err(types.Error_Other(
        f"{key!r} below was not written by the checksum overlay (it has no checksum trailer); "
        "read it from the remote below instead"))


def above(meta: types.ObjectMeta) -> types.ObjectMeta:
    """An object below as this overlay shows it: without its trailer."""
    if meta.size < TRAILER:
        raise not_ours(meta.key)
    meta.size -= TRAILER
    return meta


class CheckedReader:
    """A whole object, streamed: everything but the last 40 bytes is
    handed on and hashed; at the end the trailer must match."""

    def __init__(self, key: str, source: below.BelowReader):
        self.key, self.source = key, source
        self.digest = hashlib.sha256()
        self.held = b""   # bytes read below and not yet handed on
        self.ended = False

    def read(self, max_bytes: int) -> bytes:
        max_bytes = max(1, max_bytes)
        while not self.ended and len(self.held) < TRAILER + max_bytes:
            chunk = self.source.read(max(max_bytes, 1 << 16))
            if not chunk:
                self.ended = True
                self.check()
                break
            self.held += chunk
        ready = max(0, len(self.held) - TRAILER)
        out, self.held = self.held[:min(ready, max_bytes)], self.held[min(ready, max_bytes):]
        self.digest.update(out)
        return out

    def check(self) -> None:
        self.close()
        if len(self.held) < TRAILER or not self.held.endswith(MARKER):
            raise not_ours(self.key)
        # Everything before the trailer goes out first; the digest is
        # compared once it has all of it.
        body, trailer = self.held[:-TRAILER], self.held[-TRAILER:]
        expected = self.digest.copy()
        expected.update(body)
        if expected.digest() != trailer[:32]:
            raise Err(types.Error_Other(
                f"{self.key!r}: its SHA-256 does not match the one stored with it: the object "
                "below was changed or damaged"))

    def close(self) -> None:
        # Tell the host now that the read below is done with (Python
        # drops the handle only when the collector gets to it).
        if self.source is not None:
            self.source.close()
            self.source = None

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every byte comes
        # through read().
        return None

    def stream_ended(self, received: int, failure: Optional[str]) -> None:
        # Never called: take_stream hands nothing over.
        pass


class PassReader:
    """A range, read below as it is (unchecked), or nothing."""

    def __init__(self, source: Optional[below.BelowReader]):
        self.source = source

    def read(self, max_bytes: int) -> bytes:
        return self.source.read(max(1, max_bytes)) if self.source else b""

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every byte comes
        # through read().
        return None

    def stream_ended(self, received: int, failure: Optional[str]) -> None:
        # Never called: take_stream hands nothing over.
        pass


class Writer:
    def __init__(self, key: str, target: below.BelowWriter):
        self.key, self.target = key, target
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        if self.target is None:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        self.digest.update(chunk)
        self.target.write(chunk)

    def finish(self) -> types.ObjectMeta:
        if self.target is None:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        target, self.target = self.target, None
        try:
            target.write(self.digest.digest() + MARKER)
            meta = target.finish()
        except Err:
            target.abort()  # the contract: a failed finish leaves nothing
            raise
        meta.key = self.key
        return above(meta)

    def abort(self) -> None:
        # The host calls this on every write it does not finish, and this
        # is where the write below is thrown away: Python never sees the
        # host drop the writer.
        if self.target is not None:
            target, self.target = self.target, None
            target.abort()

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every chunk comes
        # through write().
        return None


class Lister:
    def __init__(self, source: below.BelowLister):
        self.source = source

    def next(self, max_entries: int) -> List[types.Entry]:
        if self.source is None:
            return []
        page = []
        for entry in self.source.next(max(1, max_entries)):
            if isinstance(entry, types.Entry_Object):
                if entry.value.size < TRAILER:
                    below.notice(f"skipped {entry.value.key!r}: it has no checksum trailer")
                    continue
                entry = types.Entry_Object(above(entry.value))
            page.append(entry)
        return page

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None


class Store:
    def stat(self, key: str) -> types.ObjectMeta:
        return above(below.stat(key))

    def read(self, key: str, range: Optional[types.ByteRange]) -> object:
        if range is None:
            return CheckedReader(key, below.read(key, None))
        size = self.stat(key).size
        if isinstance(range, types.ByteRange_Span):
            start, end = range.value.offset, range.value.offset + range.value.length
        elif isinstance(range, types.ByteRange_From):
            start, end = range.value, size
        else:
            start, end = size - min(range.value, size), size
        start, end = min(start, size), min(end, size)
        if start >= end:
            return PassReader(None)
        return PassReader(below.read(key, types.ByteRange_Span(types.Span(start, end - start))))

    def write(self, key: str, options: types.WriteOptions) -> Writer:
        if options.size_hint is not None:
            options.size_hint += TRAILER
        return Writer(key, below.write(key, options))

    def delete(self, key: str) -> None:
        below.delete(key)

    def list(self, prefix: str, delimiter: Optional[str]) -> Lister:
        return Lister(below.list(prefix, delimiter))

    def copy(self, source: str, destination: str) -> types.ObjectMeta:
        meta = below.copy(source, destination)
        meta.key = destination
        return above(meta)

    def delete_many(self, keys: List[str]) -> List[Result[None, types.Error]]:
        results: List[Result[None, types.Error]] = []
        for key in keys:
            try:
                self.delete(key)
                results.append(Ok(None))
            except Err as refused:
                results.append(refused)
        return results

    def describe(self) -> types.StoreDescription:
        # Its etags are those of the objects below (with their trailers),
        # and the SHA-256 of every object is stored with it.
        return types.StoreDescription(etag=types.EtagKind_Opaque(), hashes=["sha256"],
                                      urls=types.UrlSupport_Unsupported(), create_only=False,
                                      checked_writes=False)

    def hash(self, key: str, kind: str) -> str:
        if kind != "sha256":
            raise Err(types.Error_Unsupported(f"no {kind!r} hash here; this overlay keeps sha256"))
        reader = below.read(key, types.ByteRange_Suffix(TRAILER))
        trailer = b""
        while len(trailer) < TRAILER:
            chunk = reader.read(TRAILER)
            if not chunk:
                break
            trailer += chunk
        reader.close()
        if len(trailer) != TRAILER or not trailer.endswith(MARKER):
            raise not_ours(key)
        return trailer[:32].hex()

    def presign(self, key: str, method: types.HttpMethod, expires_in: int) -> types.PresignedUrl:
        raise Err(types.Error_Unsupported("a URL below would serve the object with its trailer"))

    def write_new(self, key: str, options: types.WriteOptions) -> Writer:
        raise Err(types.Error_Unsupported("this overlay offers no create-only writes"))


class Storage(exports.Storage):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="checksum-py",
            version="0.1.0",
            description="Keeps a SHA-256 with each object below and checks it on whole reads "
                        "(a Python overlay example)",
            options=[],
            capabilities=types.Capabilities(
                # As the store below: the host reports no more than it has.
                ranged_read=True, list_delimiter=True, copy=True, content_type=True,
                user_metadata=True, last_modified=True, etag=True, case_insensitive=False,
                key_and_prefix=True),
            # An overlay declares no access: it reaches only the store below.
            access=[],
        )

    def option_aliases(self) -> List[types.OptionAlias]:
        return []

    def open(self, options: List[Tuple[str, str]]) -> storage.Store:
        for name, _ in options:
            raise Err(types.Error_InvalidConfig(
                f"unknown option '{name}'; this overlay takes none (the host takes 'remote')"))
        return Store()
