"""A WebDAV storage plugin in Python, over wasi:http (componentize-py).

Keys are paths under the configured URL. Reads are GETs (with a Range
header for ranged reads), writes stream a PUT into a hidden temporary file
next to the key and MOVE it into place when the write finishes, listings
walk the folders with PROPFIND, one folder at a time, in byte order.

It targets the world `wharf:storage/http-plugin`: the storage contract
plus `wasi:http/outgoing-handler`. The host makes each request itself and
only to the URL the user configured (see `info().access`).
"""

import base64
import html
import os
import re
import time
from typing import Iterator, List, Optional, Tuple
from urllib.parse import quote, unquote, urlsplit

from componentize_py_types import Err, Ok, Result
from wit_world import exports
from wit_world.exports import storage
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import wasi_http_types as http
from wit_world.imports import wharf_storage_types as types

MAX_KEY = 1024
# The folder, under the URL's, that uploads go to until they finish (then
# they are moved onto their key). It stays, empty, and listings skip it.
# Not beside the key: rclone's listing of a folder breaks off while a file
# in it is being uploaded.
PARTIAL = ".wharf-partial"
# How long a request answered 423 Locked is sent again before the answer
# stands (seconds).
LOCKED_PATIENCE = 5.0

# ------------------------------------------------------------------ keys


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
    if key == PARTIAL or key.startswith(PARTIAL + "/"):
        raise invalid_key(key, f"'{PARTIAL}/' holds this plugin's uploads in progress")


def check_prefix(prefix: str) -> None:
    if prefix:
        check_key(prefix + "x" if prefix.endswith("/") else prefix)


def byte_order(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------ HTTP


def release(*resources) -> None:
    """Drops host resources now. componentize-py drops a resource when its
    Python object is collected, which may be much later: a response body
    left to the collector keeps its connection busy until then."""
    for resource in resources:
        if resource is not None:
            resource.__exit__(None, None, None)


def failure(status: int, what: str, body: bytes = b"") -> Err:
    """A WebDAV status as the contract's error variant, in one place."""
    detail = body.decode("utf-8", "replace").strip()[:200]
    message = f"{what}: the server answered {status}" + (f" ({detail})" if detail else "")
    if status == 404:
        return Err(types.Error_NotFound(message))
    if status in (401, 403):
        return Err(types.Error_PermissionDenied(
            message + "; check the options 'user' and 'password'"))
    if status == 429:
        return Err(types.Error_RateLimited(types.RateLimit(retry_after_ms=None, message=message)))
    if status in (502, 503, 504):
        return Err(types.Error_Unavailable(message))
    if status == 423:
        # Still locked after LOCKED_PATIENCE seconds of asking again.
        return Err(types.Error_Unavailable(
            f"{message}; another request held the path for {LOCKED_PATIENCE:g} s, try again"))
    return Err(types.Error_Other(message))


def transport_failure(what: str, code) -> Err:
    """A request that got no answer. The sandbox's refusal comes back as
    `HTTP-request-denied`: the URL is not the one the user configured."""
    if isinstance(code, http.ErrorCode_HttpRequestDenied):
        return Err(types.Error_PermissionDenied(
            f"{what}: the host refused the request (it goes only to the configured 'url')"))
    name = type(code).__name__.replace("ErrorCode_", "")
    value = getattr(code, "value", None)
    return Err(types.Error_Unavailable(f"{what}: {name}" + (f" ({value})" if value else "")))


def wait_for(future, what: str) -> http.IncomingResponse:
    with future.subscribe() as ready:
        ready.block()
    got = future.get()
    release(future)
    if got is None or isinstance(got, Err) or isinstance(got.value, Err):
        code = None if got is None or isinstance(got, Err) else got.value.value
        raise transport_failure(what, code)
    return got.value.value


def write_all(stream: streams.OutputStream, data: bytes) -> None:
    """Writes `data` as fast as the host takes it."""
    view = memoryview(data)
    while view:
        permitted = stream.check_write()
        if permitted == 0:
            with stream.subscribe() as ready:
                ready.block()
            continue
        stream.write(bytes(view[:permitted]))
        view = view[permitted:]


class Body:
    """A response body being read, released on `close` or at its end."""

    def __init__(self, response: http.IncomingResponse):
        self.response = response
        self.body = response.consume()
        self.stream = self.body.stream()

    def read(self, max_bytes: int) -> bytes:
        if self.stream is None:
            return b""
        try:
            return bytes(self.stream.blocking_read(max_bytes))
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                self.close()
                return b""
            self.close()
            raise Err(types.Error_Unavailable("the connection failed while reading the body"))

    def read_all(self, limit: int = 16 << 20) -> bytes:
        parts, size = [], 0
        while True:
            chunk = self.read(1 << 16)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                self.close()
                raise Err(types.Error_Other(f"a response larger than {limit} bytes"))

    def close(self) -> None:
        # A child before its parent: stream, then body, then response.
        stream, body, response = self.stream, self.body, self.response
        self.stream = self.body = self.response = None
        release(stream, body, response)


class Dav:
    """The server: where it is and how to sign in."""

    def __init__(self, url: str, user: str, password: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Err(types.Error_InvalidConfig(
                f"option 'url': {url!r} is not an http:// or https:// URL"))
        self.scheme = http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http()
        self.authority = parts.netloc
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base = parts.path.rstrip("/")
        self.base_made = False
        self.auth = None
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.auth = f"Basic {token}".encode()

    def path(self, key: str, folder: bool = False) -> str:
        """The request path of `key` (a folder's ends in `/`)."""
        path = self.base + "/" + quote(key, safe="/")
        return path + "/" if folder and not path.endswith("/") else path

    def key_of(self, href: str) -> Optional[str]:
        """The key an href of a PROPFIND answer names, or None for the root."""
        path = unquote(urlsplit(href).path)
        base = unquote(self.base)
        if not path.startswith(base):
            return None
        key = path[len(base):].strip("/")
        return key or None

    def request(self, method, path: str, headers: List[Tuple[str, bytes]] = ()):
        fields = [(name, value) for name, value in headers]
        if self.auth:
            fields.append(("authorization", self.auth))
        request = http.OutgoingRequest(http.Fields.from_list(fields))
        request.set_method(method)
        request.set_scheme(self.scheme)
        request.set_authority(self.authority)
        request.set_path_with_query(path)
        return request

    def send(self, method, path: str, what: str, headers=(), body: bytes = b"") -> Tuple[int, Body]:
        """One request with a small body; the status and the body to read.
        A server that locks each path while a request changes it (rclone's
        does) answers 423 Locked to a second request on that path meanwhile,
        say two writers making the same folder: such a request is sent
        again, for up to about LOCKED_PATIENCE seconds."""
        waited, pause = 0.0, 0.01
        while True:
            status, answer = self.send_once(method, path, what, headers, body)
            if status != 423 or waited >= LOCKED_PATIENCE:
                return status, answer
            answer.read_all()
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.25)

    def send_once(self, method, path: str, what: str, headers, body: bytes) -> Tuple[int, Body]:
        request = self.request(method, path, list(headers))
        if not body:
            # No body at all (a GET must not send one).
            response = wait_for(outgoing_handler.handle(request, None), what)
            return response.status(), Body(response)
        outgoing = request.body()
        future = outgoing_handler.handle(request, None)
        stream = outgoing.write()
        try:
            write_all(stream, body)
            stream.blocking_flush()
        except Err:
            # A body the host will not send: the future says why (the
            # sandbox's refusal comes as HTTP-request-denied there).
            release(stream, outgoing)
            wait_for(future, what)
            raise Err(types.Error_Unavailable(f"{what}: the request body could not be sent"))
        release(stream)
        http.OutgoingBody.finish(outgoing, None)
        response = wait_for(future, what)
        return response.status(), Body(response)

    def call(self, method, path: str, what: str, ok=(200, 201, 204, 207), headers=(),
             body: bytes = b"") -> bytes:
        """A request whose answer must be one of `ok`; its body."""
        status, answer = self.send(method, path, what, headers, body)
        data = answer.read_all()
        if status not in ok:
            raise failure(status, what, data)
        return data

    def propfind(self, key: str, depth: str, what: str) -> List[dict]:
        data = self.call(http.Method_Other("PROPFIND"), self.path(key, folder=depth == "1"), what,
                         ok=(207,), headers=[("depth", depth.encode()),
                                            ("content-type", b"application/xml")],
                         body=PROPFIND_BODY)
        return parse_multistatus(data)

    def make_folders(self, key: str) -> None:
        """MKCOL every folder above `key`; one that exists answers 405.
        The URL's own folder is made too, once (nothing prunes it)."""
        if not self.base_made:
            base = self.base.strip("/").split("/") if self.base.strip("/") else []
            for depth in range(1, len(base) + 1):
                self.call(http.Method_Other("MKCOL"), "/" + "/".join(base[:depth]) + "/",
                          "create the folder of option 'url'", ok=(201, 405))
            self.base_made = True
        segments = key.split("/")[:-1]
        for depth in range(1, len(segments) + 1):
            folder = "/".join(segments[:depth])
            self.call(http.Method_Other("MKCOL"), self.path(folder, folder=True),
                      f"create folder {folder!r}", ok=(201, 405))

    def refuse_folder(self, key: str) -> None:
        """Fails with already-exists when `key` is a folder."""
        try:
            entries = self.propfind(key, "0", f"stat {key!r}")
        except Err as e:
            if isinstance(e.value, types.Error_NotFound):
                return
            raise
        if entries and entries[0]["folder"]:
            raise Err(types.Error_AlreadyExists(
                f"{key!r} is a folder holding other keys; on WebDAV a key cannot also be a prefix"))

    def conflict(self, key: str, otherwise: Optional[Err] = None) -> Err:
        """Why the server found no folder to hold `key`: an object in the
        way (already-exists), else `otherwise`, else a folder removed
        meanwhile."""
        segments = key.split("/")[:-1]
        for depth in range(1, len(segments) + 1):
            above = "/".join(segments[:depth])
            try:
                entries = self.propfind(above, "0", f"stat {above!r}")
            except Err as e:
                if isinstance(e.value, types.Error_NotFound):
                    break
                raise
            if entries and not entries[0]["folder"]:
                return Err(types.Error_AlreadyExists(
                    f"cannot write {key!r}: {above!r} is an object, and on WebDAV a key "
                    "cannot also be a prefix"))
        return otherwise or Err(types.Error_Unavailable(
            f"cannot write {key!r}: its folder was removed while the write ran; try again"))

    def prune_folders(self, key: str) -> None:
        """Deletes the folders above `key` that are left empty, deepest
        first: objects are keys, and a folder is only there for them."""
        segments = key.split("/")[:-1]
        for depth in range(len(segments), 0, -1):
            folder = "/".join(segments[:depth])
            try:
                inside = self.propfind(folder, "1", f"list folder {folder!r}")
            except Err as e:
                if isinstance(e.value, types.Error_NotFound):
                    continue
                raise
            itself = [e for e in inside if self.key_of(e["href"]) == folder]
            if not itself or not itself[0]["folder"]:
                return  # an object, not a folder: never ours to remove
            if any(self.key_of(entry["href"]) not in (None, folder) for entry in inside):
                return
            self.call(http.Method_Delete(), self.path(folder, folder=True),
                      f"delete empty folder {folder!r}", ok=(200, 204, 404))


PROPFIND_BODY = (b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
                 b'<D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/>'
                 b'<D:getcontenttype/></D:prop></D:propfind>')

RESPONSE = re.compile(r"<(?:[\w-]+:)?response\b.*?</(?:[\w-]+:)?response>", re.S)


def element(name: str, text: str) -> Optional[str]:
    found = re.search(rf"<(?:[\w-]+:)?{name}\b[^>]*?(?:/>|>(.*?)</(?:[\w-]+:)?{name}>)", text, re.S)
    if found is None:
        return None
    return html.unescape(found.group(1) or "")


def parse_multistatus(data: bytes) -> List[dict]:
    """The entries of a PROPFIND answer (prefix-agnostic: `D:`, `d:`, none)."""
    text = data.decode("utf-8", "replace")
    if not re.search(r"</(?:[\w-]+:)?multistatus>\s*$", text):
        # rclone sends 207 and then, when a listing fails halfway, an
        # error after the partial XML: never take that for the whole.
        raise Err(types.Error_Unavailable(
            f"the server's listing broke off: ...{text[-120:]!r}"))
    entries = []
    for response in RESPONSE.findall(text):
        href = element("href", response) or ""
        kind = element("resourcetype", response) or ""
        entries.append({
            "href": href,
            "folder": re.search(r"<(?:[\w-]+:)?collection\b", kind) is not None,
            "size": int(element("getcontentlength", response) or 0),
            "modified": element("getlastmodified", response),
            "etag": element("getetag", response),
            "type": element("getcontenttype", response),
        })
    return entries


MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


def timestamp(http_date: Optional[str]) -> Optional[types.Timestamp]:
    """An HTTP date (`Mon, 02 Jan 2006 15:04:05 GMT`) as a timestamp."""
    found = http_date and re.match(r"\w+, (\d+) (\w+) (\d+) (\d+):(\d+):(\d+)", http_date)
    if not found:
        return None
    day, month, year, hour, minute, second = found.groups()
    # Days since the epoch, by the civil-from-days inverse (no time zones
    # needed: HTTP dates are GMT).
    y, m = int(year), MONTHS.get(month, 1)
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + int(day) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    seconds = days * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    return types.Timestamp(seconds=seconds, nanoseconds=0)


# ------------------------------------------------------------------ the store


class Reader:
    def __init__(self, body: Body):
        self.body = body

    def read(self, max_bytes: int) -> bytes:
        return self.body.read(max(1, max_bytes))

    def close(self) -> None:
        # The host calls this on a read it stops early: the response is
        # let go of now, not when the collector gets to it.
        self.body.close()

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every byte comes
        # through read().
        return None

    def stream_ended(self, received: int, failure: Optional[str]) -> None:
        # Never called: take_stream hands nothing over.
        pass


class Writer:
    """A PUT into a temporary file, streamed as the chunks come, then a
    MOVE onto the key: nothing is visible at the key before `finish`."""

    def __init__(self, dav: Dav, key: str, options: types.WriteOptions):
        self.dav, self.key = dav, key
        self.partial = f"{PARTIAL}/{os.urandom(12).hex()}"
        dav.make_folders(self.partial)
        dav.make_folders(key)
        headers = []
        if options.content_type:
            headers.append(("content-type", options.content_type.encode()))
        request = dav.request(http.Method_Put(), dav.path(self.partial), headers)
        self.outgoing = request.body()
        self.future = outgoing_handler.handle(request, None)
        self.stream = self.outgoing.write()
        self.size = 0
        self.done = False

    def write(self, chunk: bytes) -> None:
        if self.done:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        try:
            write_all(self.stream, chunk)
        except Err:
            # The host stopped taking the body: the server answered early
            # (a refusal), or the connection failed. The answer says which.
            release(self.stream, self.outgoing)
            self.stream = self.outgoing = None
            refusal = self.answer()
            self.abort()
            raise refusal or Err(types.Error_Unavailable(
                f"writing {self.key!r}: the upload was cut off"))
        self.size += len(chunk)

    def answer(self) -> Optional[Err]:
        """The server's answer to the PUT as an error, or None if it took
        the upload; the future is used up either way."""
        future, self.future = self.future, None
        response = wait_for(future, f"write {self.key!r}")
        status = response.status()
        data = Body(response).read_all()
        if status in (200, 201, 204):
            return None
        if status == 409:
            # The folder to hold it is missing or is an object: which?
            return self.dav.conflict(self.key)
        return failure(status, f"write {self.key!r}", data)

    def end_body(self) -> None:
        """Ends the upload: what was written is all of it (the stream, a
        child, goes before its body)."""
        self.stream.blocking_flush()
        release(self.stream)
        self.stream = None
        http.OutgoingBody.finish(self.outgoing, None)
        self.outgoing = None

    def finish(self) -> types.ObjectMeta:
        if self.done:
            raise Err(types.Error_Other("this write was already finished or aborted"))
        try:
            self.end_body()
            refusal = self.answer()
            if refusal is not None:
                raise refusal
            # A MOVE onto a folder would replace the folder and every key
            # below it: a key that is a prefix of others is refused.
            self.dav.refuse_folder(self.key)
            status, answer = self.dav.send(
                http.Method_Other("MOVE"), self.dav.path(self.partial),
                f"move {self.key!r} into place",
                headers=[("destination", (self.dav.origin + self.dav.path(self.key)).encode()),
                         ("overwrite", b"T")])
            data = answer.read_all()
            if status in (403, 404, 409):
                # No folder to move it into (rclone answers 403 when an
                # object is in the way), or a folder removed meanwhile.
                raise self.dav.conflict(self.key, failure(status, f"move {self.key!r}", data))
            if status not in (201, 204):
                raise failure(status, f"move {self.key!r} into place", data)
        except Err:
            # The contract: after an error in finish nothing is stored, and
            # the plugin cleans up itself (the host does not call abort).
            self.abort()
            raise
        self.done = True
        return Store(self.dav).stat(self.key)

    def abort(self) -> None:
        """The host calls this on every write it does not finish; it is
        the only chance to remove the temporary file (Python never sees
        the host drop the writer)."""
        if self.done:
            return  # after finish, or twice: nothing to do
        self.done = True
        # The upload is ended, not cut, when it still can be: the server
        # then answers once it has the file, and the DELETE below is sure
        # to come after it. Cut off, the PUT could reach the server after
        # the DELETE (another connection) and leave the file behind.
        if self.stream is not None and self.outgoing is not None:
            try:
                self.end_body()
            except Err:
                pass  # cut off after all, below
        # Dropping the body unfinished tells the host to cut the upload.
        release(self.stream, self.outgoing)
        self.stream = self.outgoing = None
        if self.future is not None:
            try:
                # The server's answer: read to its end, so the connection
                # goes back to the pool (a child before its parent).
                Body(wait_for(self.future, "abort")).read_all()
            except Err:
                pass  # a cut-off upload fails, as it should
            self.future = None
        # The server may still hold the cut-off upload open for a moment
        # (rclone answers 423 Locked until it has let go; `send` waits).
        self.dav.call(http.Method_Delete(), self.dav.path(self.partial),
                      f"remove the partial upload of {self.key!r}", ok=(200, 204, 404))
        self.dav.prune_folders(self.key)
        # Its own folder stays: another write may be using it.

    def take_stream(self) -> None:
        # Contract 0.3: no stream to hand the host; every chunk comes
        # through write().
        return None


class Lister:
    """A walk of the folders below a prefix, depth first in byte order of
    the keys, one PROPFIND per folder, as the pages are asked for."""

    def __init__(self, dav: Dav, prefix: str, fold: bool):
        self.dav, self.prefix, self.fold = dav, prefix, fold
        folder = prefix.rpartition("/")[0]
        # A stack of pending entries, each (sort key, key, entry or None
        # for a folder still to open), the next one last.
        self.pending: List[Tuple[bytes, str, Optional[dict]]] = []
        self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        try:
            entries = self.dav.propfind(folder, "1", f"list {folder or '/'!r}") if folder else \
                self.dav.propfind("", "1", "list the root")
        except Err as e:
            if isinstance(e.value, types.Error_NotFound):
                return
            raise
        found = []
        for entry in entries:
            key = self.dav.key_of(entry["href"])
            if key is None or key == folder:
                continue
            if key == PARTIAL:
                continue
            # A folder sorts as its keys do: by its name and a '/'.
            if entry["folder"]:
                if (key + "/").startswith(self.prefix) or self.prefix.startswith(key + "/"):
                    found.append((byte_order(key + "/"), key, None))
            elif key.startswith(self.prefix):
                found.append((byte_order(key), key, entry))
        found.sort(reverse=True)
        self.pending.extend(found)

    def next(self, max_entries: int) -> List[types.Entry]:
        page: List[types.Entry] = []
        while self.pending and len(page) < max(1, max_entries):
            _, key, entry = self.pending.pop()
            if entry is not None:
                page.append(types.Entry_Object(meta(key, entry)))
            elif self.fold and len(key) >= len(self.prefix.rstrip("/")) and \
                    (key + "/").startswith(self.prefix) and key + "/" != self.prefix:
                page.append(types.Entry_CommonPrefix(key + "/"))
            else:
                self.open_folder(key)
        return page

    def close(self) -> None:
        self.pending = []


def meta(key: str, entry: dict) -> types.ObjectMeta:
    return types.ObjectMeta(key=key, size=entry["size"], last_modified=timestamp(entry["modified"]),
                            etag=entry["etag"], content_type=entry["type"], metadata=[])


class Store:
    def __init__(self, dav: Dav):
        self.dav = dav

    def stat(self, key: str) -> types.ObjectMeta:
        check_key(key)
        entries = self.dav.propfind(key, "0", f"stat {key!r}")
        if not entries or entries[0]["folder"]:
            # A folder is a prefix of keys, not an object.
            raise Err(types.Error_NotFound(f"no object at {key!r}"))
        return meta(key, entries[0])

    def read(self, key: str, range: Optional[types.ByteRange]) -> Reader:
        check_key(key)
        headers = []
        if isinstance(range, types.ByteRange_Span):
            if range.value.length == 0:
                self.stat(key)
                return Reader(EmptyBody())
            end = range.value.offset + range.value.length - 1
            headers.append(("range", f"bytes={range.value.offset}-{end}".encode()))
        elif isinstance(range, types.ByteRange_From):
            headers.append(("range", f"bytes={range.value}-".encode()))
        elif isinstance(range, types.ByteRange_Suffix):
            if range.value == 0:
                self.stat(key)
                return Reader(EmptyBody())
            headers.append(("range", f"bytes=-{range.value}".encode()))
        status, body = self.dav.send(http.Method_Get(), self.dav.path(key), f"read {key!r}", headers)
        if status == 416:
            # A range past the end reads nothing; it is not an error.
            body.close()
            self.stat(key)
            return Reader(EmptyBody())
        if status == 405:
            # rclone answers a GET of a folder so: a prefix, not an object.
            body.close()
            raise Err(types.Error_NotFound(f"no object at {key!r} (it is a folder of other keys)"))
        if status not in (200, 206):
            data = body.read_all()
            raise failure(status, f"read {key!r}", data)
        return Reader(body)

    def write(self, key: str, options: types.WriteOptions) -> Writer:
        check_key(key)
        return Writer(self.dav, key, options)

    def delete(self, key: str) -> None:
        check_key(key)
        entries = []
        try:
            entries = self.dav.propfind(key, "0", f"delete {key!r}")
        except Err as e:
            if not isinstance(e.value, types.Error_NotFound):
                raise
        # A DELETE of a folder would take everything in it: only objects.
        if entries and not entries[0]["folder"]:
            self.dav.call(http.Method_Delete(), self.dav.path(key), f"delete {key!r}",
                          ok=(200, 204, 404))
            self.dav.prune_folders(key)

    def list(self, prefix: str, delimiter: Optional[str]) -> Lister:
        check_prefix(prefix)
        if delimiter not in (None, "/"):
            raise Err(types.Error_Unsupported(f"delimiter {delimiter!r}: only '/' is supported"))
        return Lister(self.dav, prefix, delimiter == "/")

    def copy(self, source: str, destination: str) -> types.ObjectMeta:
        self.stat(source)
        check_key(destination)
        self.dav.make_folders(destination)
        self.dav.call(http.Method_Other("COPY"), self.dav.path(source), f"copy {source!r}",
                      ok=(201, 204),
                      headers=[("destination", (self.dav.origin + self.dav.path(destination)).encode()),
                               ("overwrite", b"T")])
        return self.stat(destination)

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
        # WebDAV etags are the server's own (rclone's come from the
        # modification time and size), and it keeps no hashes.
        return types.StoreDescription(etag=types.EtagKind_Opaque(), hashes=[],
                                      urls=types.UrlSupport_Unsupported(), create_only=False,
                                      checked_writes=False)

    def hash(self, key: str, kind: str) -> str:
        raise Err(types.Error_Unsupported(f"no {kind!r} hash: a WebDAV server keeps none"))

    def presign(self, key: str, method: types.HttpMethod, expires_in: int) -> types.PresignedUrl:
        raise Err(types.Error_Unsupported("WebDAV has no expiring URLs"))

    def write_new(self, key: str, options: types.WriteOptions) -> Writer:
        raise Err(types.Error_Unsupported("this plugin offers no create-only writes"))


class EmptyBody:
    def read(self, max_bytes: int) -> bytes:
        return b""

    def close(self) -> None:
        pass


def option(name: str, help: str, required: bool = False, secret: bool = False) -> types.OptionSpec:
    return types.OptionSpec(name=name, help=help, required=required, secret=secret, default=None)


OPTIONS = ["url", "user", "password"]


class Storage(exports.Storage):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="webdav-py",
            version="0.1.0",
            description="A WebDAV server's folder (a Python example over wasi:http)",
            options=[
                option("url", "The folder's URL, e.g. http://127.0.0.1:8080/backups", required=True),
                option("user", "The user to sign in as (HTTP basic authentication)"),
                option("password", "That user's password", secret=True),
            ],
            capabilities=types.Capabilities(
                ranged_read=True, list_delimiter=True, copy=True, content_type=False,
                user_metadata=False, last_modified=True, etag=True, case_insensitive=False,
                # A folder and a file cannot share a name.
                key_and_prefix=False),
            # The one URL the user configured: the host grants exactly it.
            access=[types.Access_Network(types.NetworkAccess(
                protocol=types.NetworkProtocol.HTTP, endpoints=["{url}"],
                reason="the WebDAV server the remote names"))],
        )

    def option_aliases(self) -> List[types.OptionAlias]:
        # rclone's webdav backend calls the password 'pass'.
        return [types.OptionAlias(name="pass", origin="rclone",
                                  meaning=types.AliasMeaning_SameAs("password"))]

    def open(self, options: List[Tuple[str, str]]) -> storage.Store:
        given = dict(options)
        for name in given:
            if name not in OPTIONS:
                raise Err(types.Error_InvalidConfig(
                    f"unknown option '{name}'; this plugin takes {', '.join(OPTIONS)}"))
        if "url" not in given:
            raise Err(types.Error_InvalidConfig("option 'url' is required: the WebDAV folder's URL"))
        # No request here: the contract has `open` check the configuration
        # only; a wrong password is reported by the first call.
        return Store(Dav(given["url"], given.get("user", ""), given.get("password", "")))
