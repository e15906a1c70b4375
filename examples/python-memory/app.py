"""An in-memory Wharf storage plugin in Python (componentize-py).

Objects live in a dict for as long as the plugin instance lives; it is a
walk-through of the contract for authors in any language, not a backend
to keep data in.
"""

import hashlib
import time
from typing import List, Optional, Tuple

from componentize_py_types import Err, Ok, Result
from wit_world import exports
from wit_world.exports import storage
from wit_world.imports import types

MAX_KEY = 1024


def invalid_key(key: str, why: str) -> Err:
    return Err(types.Error_InvalidKey(f"invalid key {key!r}: {why}"))


def check_key(key: str) -> None:
    """The contract's key rules (the host checks them too)."""
    if key == "":
        raise invalid_key(key, "a key cannot be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY:
        raise invalid_key(key, f"a key is at most {MAX_KEY} bytes")
    if "\0" in key:
        raise invalid_key(key, "a key cannot hold NUL")
    if key.startswith("/"):
        raise invalid_key(key, "a key cannot start with '/'")
    for segment in key.split("/"):
        if segment == "":
            raise invalid_key(key, "a key cannot have an empty segment")
        if segment in (".", ".."):
            raise invalid_key(key, f"a key cannot hold a '{segment}' segment")


def check_prefix(prefix: str) -> None:
    if prefix == "":
        return
    check_key(prefix + "x" if prefix.endswith("/") else prefix)


def now() -> types.Timestamp:
    t = time.time_ns()
    return types.Timestamp(seconds=t // 1_000_000_000, nanoseconds=t % 1_000_000_000)


class Object:
    def __init__(self, data: bytes, content_type: Optional[str], metadata: List[Tuple[str, str]]):
        self.data = data
        self.content_type = content_type
        self.metadata = metadata
        self.modified = now()

    def meta(self, key: str) -> types.ObjectMeta:
        return types.ObjectMeta(key=key, size=len(self.data), last_modified=self.modified,
                                etag=None, content_type=self.content_type, metadata=list(self.metadata))


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def read(self, max_bytes: int) -> bytes:
        chunk = self.data[self.offset:self.offset + max_bytes]
        self.offset += len(chunk)
        return chunk

    def close(self) -> None:
        # The host calls this on a read it stops early (Python never sees
        # the host drop a resource); later reads return the end.
        self.data = b""
        self.offset = 0

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every byte comes
        # through read().
        return None

    def stream_ended(self, received: int, failure: Optional[str]) -> None:
        # Never called: take_stream hands nothing over.
        pass


class Writer:
    def __init__(self, store: "Store", key: str, options: types.WriteOptions):
        self.store, self.key, self.options = store, key, options
        self.parts: List[bytes] = []
        self.done = False

    def write(self, chunk: bytes) -> None:
        if self.done:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        self.parts.append(bytes(chunk))

    def finish(self) -> types.ObjectMeta:
        if self.done:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        self.done = True
        obj = Object(b"".join(self.parts), self.options.content_type, self.options.metadata)
        self.parts = []
        self.store.objects[self.key] = obj
        return obj.meta(self.key)

    def abort(self) -> None:
        self.done = True
        self.parts = []

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every chunk comes
        # through write().
        return None


class Lister:
    def __init__(self, entries: List[types.Entry]):
        self.entries = entries

    def next(self, max_entries: int) -> List[types.Entry]:
        page, self.entries = self.entries[:max_entries], self.entries[max_entries:]
        return page

    def close(self) -> None:
        self.entries = []


def byte_order(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


class Store:
    def __init__(self):
        self.objects = {}

    def get(self, key: str) -> Object:
        check_key(key)
        obj = self.objects.get(key)
        if obj is None:
            raise Err(types.Error_NotFound(f"no object at {key!r}"))
        return obj

    def stat(self, key: str) -> types.ObjectMeta:
        return self.get(key).meta(key)

    def read(self, key: str, range: Optional[types.ByteRange]) -> Reader:
        data = self.get(key).data
        if isinstance(range, types.ByteRange_Span):
            data = data[range.value.offset:range.value.offset + range.value.length]
        elif isinstance(range, types.ByteRange_From):
            data = data[range.value:]
        elif isinstance(range, types.ByteRange_Suffix):
            data = data[len(data) - min(range.value, len(data)):]
        return Reader(data)

    def write(self, key: str, options: types.WriteOptions) -> Writer:
        check_key(key)
        return Writer(self, key, options)

    def delete(self, key: str) -> None:
        check_key(key)
        self.objects.pop(key, None)

    def list(self, prefix: str, delimiter: Optional[str]) -> Lister:
        check_prefix(prefix)
        if delimiter not in (None, "/"):
            raise Err(types.Error_Unsupported(f"delimiter {delimiter!r}: only '/' is supported"))
        entries, seen = [], set()
        for key in sorted((k for k in self.objects if k.startswith(prefix)), key=byte_order):
            rest = key[len(prefix):]
            if delimiter and "/" in rest:
                common = prefix + rest.split("/", 1)[0] + "/"
                if common not in seen:
                    seen.add(common)
                    entries.append(types.Entry_CommonPrefix(common))
                continue
            entries.append(types.Entry_Object(self.objects[key].meta(key)))
        return Lister(entries)

    def delete_many(self, keys: List[str]) -> List[Result[None, types.Error]]:
        # One result per key, in order: a bad key fails alone (contract 0.2).
        results: List[Result[None, types.Error]] = []
        for key in keys:
            try:
                self.delete(key)
                results.append(Ok(None))
            except Err as refused:
                results.append(refused)
        return results

    def describe(self) -> types.StoreDescription:
        # Contract 0.3: the etags say nothing (there are none), and hashes
        # are computed on request from the bytes.
        return types.StoreDescription(
            etag=types.EtagKind_Opaque(),
            hashes=["md5", "sha256"],
            # Objects live in this instance's memory: there is nothing a
            # URL could reach, and nothing another writer could race.
            urls=types.UrlSupport_Unsupported(),
            create_only=False,
            checked_writes=False,
        )

    def presign(self, key: str, method: types.HttpMethod, expires_in: int) -> types.PresignedUrl:
        raise Err(types.Error_Unsupported("objects in memory have no URLs"))

    def write_new(self, key: str, options: types.WriteOptions) -> Writer:
        raise Err(types.Error_Unsupported("this plugin offers no create-only writes"))

    def hash(self, key: str, kind: str) -> str:
        data = self.get(key).data
        if kind == "md5":
            return hashlib.md5(data).hexdigest()
        if kind == "sha256":
            return hashlib.sha256(data).hexdigest()
        raise Err(types.Error_Unsupported(f"no {kind!r} hash here; this plugin gives md5 and sha256"))

    def copy(self, source: str, destination: str) -> types.ObjectMeta:
        obj = self.get(source)
        check_key(destination)
        copied = Object(obj.data, obj.content_type, obj.metadata)
        self.objects[destination] = copied
        return copied.meta(destination)


class Storage(exports.Storage):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="memory-py",
            version="0.1.0",
            description="Objects in memory, for as long as the plugin instance lives (a Python example)",
            options=[],
            capabilities=types.Capabilities(
                ranged_read=True, list_delimiter=True, copy=True, content_type=True,
                user_metadata=True, last_modified=True, etag=False, case_insensitive=False,
                key_and_prefix=True),
            access=[],
        )

    def option_aliases(self) -> List[types.OptionAlias]:
        # Contract 0.3: other tools' names for the options; it has none.
        return []

    def open(self, options: List[Tuple[str, str]]) -> storage.Store:
        for name, _ in options:
            raise Err(types.Error_InvalidConfig(f"unknown option '{name}'; this plugin takes no options"))
        return Store()
