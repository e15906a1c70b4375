#!/usr/bin/env python3
"""A local fake of the Dropbox HTTP API v2, for Wharf's tests (stdlib only).

Dropbox itself cannot be reached from the test machines, so the tests run
against this fake. It aims to answer like the real service for the calls it
models: same URLs on two distinct hosts, same request formats, same success
JSON, same error JSON shapes and HTTP statuses. `sdk_scenario.py` drives it
with the official Dropbox Python SDK, whose response validators judge it.

Usage:
  fake_dropbox.py --api-port P --content-port P --control-port P
                  --cert CERT.pem --key KEY.pem --data DIR
                  --app-key K --app-secret S --refresh-token R
                  [--access-token-lifetime SECONDS] [--auth-code CODE]
All three ports listen on 127.0.0.1; the api and content ports speak HTTPS
with the given certificate, the control port plain HTTP. The control port is
bound last, so once it accepts connections all three do.

MODELLED
- Hosts. The api port ("api.dropboxapi.com") serves the RPC endpoints and
  POST /oauth2/token; the content port ("content.dropboxapi.com") serves the
  upload and download endpoints. An endpoint called on the other host gets
  400 "Incorrect host for API function ..." (the real text).
- OAuth 2: /oauth2/token with grant_type=refresh_token (returns a new
  short-lived access token each time, {access_token, token_type, expires_in})
  and grant_type=authorization_code (the --auth-code value; single use; also
  returns refresh_token, scope, uid, account_id). Client credentials as
  client_id/client_secret form fields or HTTP Basic. Failures: 400 JSON
  {"error": "invalid_grant" | "invalid_client" | "invalid_request" |
  "unsupported_grant_type", "error_description": ...}. Without the authorize
  step the fake cannot check PKCE: a code exchange without client_secret is
  accepted when code_verifier is 43-128 chars of [A-Za-z0-9-._~]. A refresh
  without client_secret is accepted (as for PKCE-issued refresh tokens).
- Auth on every /2/ call: "Authorization: Bearer T" (or the "authorization"
  URL parameter). Missing or not Bearer: 400 text. Unknown token: 401
  invalid_access_token; expired: 401 expired_access_token (JSON).
- Argument formats: RPC arguments as a JSON body (Content-Type
  application/json); upload/download arguments as JSON in the
  Dropbox-API-Arg header or the "arg" URL parameter. The header must be
  ASCII (clients escape other characters as \\uXXXX); raw UTF-8 there is
  rejected like the real service does ("could not decode input as JSON").
  Arguments are checked like the real (stone-based) server: unknown fields,
  missing required fields, types, ranges and path patterns give 400 with
  'Error in call to API function "files/x": request body: ...'. Download
  results go in the Dropbox-API-Result header, ASCII-escaped the same way.
- Route errors: HTTP 409, Content-Type application/json,
  {"error_summary": "path/not_found/..", "error": {...}} with the error
  union serialized exactly as the SDK's stone serializer expects.
- Endpoints: files/get_metadata, files/list_folder, files/list_folder/continue,
  files/delete_v2, files/delete_batch, files/delete_batch/check,
  files/copy_v2, files/create_folder_v2,
  users/get_current_account (api host); files/upload,
  files/upload_session/start, files/upload_session/append_v2,
  files/upload_session/finish, files/download (content host).
- Namespace: case-insensitive, case-preserving paths (lookups by the
  lower-cased path; path_lower / path_display like the real service; the
  last component keeps the case it was created with, parents keep theirs).
  Folders are created implicitly for uploads and copies; deleting a file
  leaves its folder; delete_v2 on a folder deletes it recursively. Ids are
  "id:" + base62; revs lowercase hex (new per changed write);
  server_modified/client_modified as %Y-%m-%dT%H:%M:%SZ; content_hash is the
  real algorithm (SHA-256 of the concatenated SHA-256 digests of each 4 MiB
  block). "id:..." paths are accepted where the API takes PathOrId.
- Path rules (documented "Paths may not end with a slash or whitespace"):
  malformed_path for a trailing "/", an empty component ("//"), a component
  that is "." or "..", ends with whitespace, is longer than 255 characters,
  or contains "\\", DEL (0x7f) or NUL. disallowed_name (writes only) for the
  names Dropbox refuses to store: desktop.ini, thumbs.db, .ds_store, icon\\r,
  .dropbox, .dropbox.attr (any case). A path of "/" is 400 "The root folder
  is unsupported." (list_folder: 'Specify the root folder as an empty string
  rather than as "/".'); one that does not start with "/" (or id:/rev:/ns:)
  is 400 "did not match pattern".
- Write modes add / overwrite / update(rev), autorename ("name (1).ext"),
  strict_conflict. As documented for strict_conflict, without it a write of
  content identical to the existing file is not a conflict: it succeeds and
  leaves the file (and its rev) unchanged; an overwrite with identical
  content leaves it unchanged too. Conflicts: path/conflict/file,
  conflict/folder, conflict/file_ancestor (a file where a parent folder must
  be). A replaced file keeps its id and name; a copy gets a new id.
- files/upload: at most 150 MiB per call (more: 409 payload_too_large, the
  UploadError variant for it); the optional content_hash argument is checked
  (409 content_hash_mismatch) - the SDK sends it on every upload call.
- Upload sessions (sequential): start (optional data, close flag), append_v2
  (cursor {session_id, offset}; errors not_found, incorrect_offset with
  correct_offset, closed, payload_too_large, content_hash_mismatch), finish
  (cursor + commit, optional final data). A call that fails changes nothing
  (a finish whose commit fails leaves the session as it was before the call).
  A session never finished commits nothing.
- files/download: GET or POST; Range "bytes=a-b", "bytes=a-", "bytes=-n" give
  206 with Content-Range; a range that starts at or past the end (or a
  suffix of 0) gives 409 with error_summary "range/not_satisfiable/..."
  (inferred: it is what the official SDKs' new download helpers test for;
  the variant is not in the public API spec, so the Python SDK decodes it as
  DownloadError "other"; an RFC-style 416 was not chosen); a malformed or
  multi-range header is ignored (whole file, 200). ETag W/"rev" and
  If-None-Match (304).
- files/list_folder: path "" is the root; recursive lists every descendant
  and, for a non-root path, the listed folder itself (as the real service
  does); entries come in no particular order (a deterministic shuffle, so
  that clients assuming an order get caught); limit 1..2000, default 500
  pages; a file path gives path/not_folder, a missing one path/not_found.
  Cursors are opaque; an undecodable one is 400 'Invalid "cursor"
  parameter'; one from before POST /reset (or evicted: the fake keeps the
  1000 newest listings) is 409 reset.
- files/delete_batch: up to 1000 entries {path, parent_rev}, each deleted
  as delete_v2 would (a folder with all it holds); the answer is always an
  async_job_id, whose first delete_batch/check is in_progress and the next
  complete, with one entry per request entry, in order: success with the
  metadata, or failure with the DeleteError (path_lookup/not_found,
  path_write/conflict for a stale parent_rev). An unknown job id is 409
  invalid_async_job_id. Jobs are kept until /reset.
- Request bodies with Content-Length or Transfer-Encoding: chunked, streamed
  to disk in pieces of at most 1 MiB; downloads streamed from disk; HTTP/1.1
  keep-alive (every response has a Content-Length); Expect: 100-continue.

NOT MODELLED
- Other endpoints (move, search, revisions, sharing, longpoll, other batch calls,
  upload_session/append v1, ...): 400 "Unknown API function" naming the
  modelled ones.
- Concurrent upload sessions (session_type "concurrent"): 400 saying so.
- Change tracking: a list_folder cursor pages through a snapshot taken at
  list_folder time; continuing a finished listing returns no entries even if
  the folder changed since. include_deleted, media info, property groups,
  sharing, shared_link, Dropbox-API-Path-Root and Dropbox-API-Select-* are
  accepted and ignored (shared_link: 400). No DeletedMetadata entries.
- rev:/ns: paths (treated as not found), revision history (download "rev"
  other than the current one is not_found), upload session expiry (7 days),
  quotas (the 2^41 - 2^22 byte session limit is only a size check), team
  spaces, file locks, the OAuth authorize page.
- Behaviours the fake could not confirm from public material, chosen as
  noted: unknown API function and wrong method (400 text / 405); a bad
  cursor (400); invalid_client (400, not 401); the default page size (500);
  "\\" and NUL in names (malformed_path); an identical overwrite keeping the
  rev; a failed finish leaving the session as before the call; the exact
  texts of the OAuth error descriptions; delete_v2 with a stale parent_rev
  (path_write/conflict); copying a folder into itself
  (cant_move_folder_into_itself); delete_batch always going asynchronous,
  the deletes done before the job is checked, one in_progress answer per
  job; the text for more than 1000 entries ("list has more than 1000
  items") and the location of an entry's field ("entries.[0].path").
  delete_batch failing as a whole (failed: too_many_write_operations) is
  not modelled.

CONTROL PORT (plain HTTP, JSON in and out)
  POST /fail {"endpoint": "/2/files/upload", "count": 2, "status": 429,
              "reason": "too_many_requests" | "too_many_write_operations",
              "retry_after": 1}
       the next `count` calls to exactly that endpoint (on its own host)
       answer `status`: 429 with Retry-After and the real JSON body, or a
       5xx with a text body. Several /fail calls queue up.
  POST /latency {"seconds": 0.03}
                        every API call waits this long before it is
                        answered, as over a far link (0 turns it off)
  POST /expire_tokens   every access token issued so far is expired
  GET  /stats           {"calls": {endpoint: n}, "connections": {server: n
                         accepted}, "tokens_issued": n,
                         "open_sessions": n, "files": n, "max_body_bytes": n}
  POST /reset           clears files, folders, sessions, cursors, faults and
                        counters (access tokens stay valid; the auth code can
                        be exchanged again)
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import http.server
import json
import os
import random
import re
import secrets
import shutil
import signal
import socketserver
import ssl
import string
import sys
import threading
import time
import traceback
import urllib.parse
import zlib
from dataclasses import dataclass, field

MiB = 1 << 20
PIECE = MiB  # bodies are read, written and sent in pieces of at most this
BLOCK = 4 * MiB  # content_hash block size
SINGLE_CALL_LIMIT = 150 * MiB  # per upload / append / finish call
SESSION_LIMIT = 2**41 - 2**22  # documented maximum size of a session
RPC_BODY_LIMIT = 8 * MiB  # JSON arguments are read whole; nothing real is near this
DEFAULT_PAGE = 500
KEPT_LISTINGS = 1000
BASE62 = string.ascii_letters + string.digits
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SCOPE = ("account_info.read files.content.read files.content.write "
         "files.metadata.read files.metadata.write")

# Path patterns of the API spec (as in the SDK's files.py).
READ_PATH = r"(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/(.|[\r\n])*)?)"
PATH_R_OR_ID = r"(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/(.|[\r\n])*)?)"
WRITE_PATH = r"(/(.|[\r\n])*)|(ns:[0-9]+(/(.|[\r\n])*)?)"
WRITE_PATH_OR_ID = r"(/(.|[\r\n])*)|(ns:[0-9]+(/(.|[\r\n])*)?)|(id:.*)"

# Names Dropbox will not store ("files that don't sync"); compared lower-cased.
DISALLOWED_NAMES = {"desktop.ini", "thumbs.db", ".ds_store", "icon\r", ".dropbox", ".dropbox.attr"}

RPC_CONTENT_TYPES = ("application/json", "application/json; charset=utf-8",
                     "text/plain; charset=dropbox-cors-hack")
UPLOAD_CONTENT_TYPES = ("application/octet-stream", "text/plain; charset=dropbox-cors-hack")
DOWNLOAD_CONTENT_TYPES = ("", "text/plain", "text/plain; charset=utf-8",
                          "application/octet-stream", "application/octet-stream; charset=utf-8")


# --------------------------------------------------------------------------
# Replies and errors: the one place where error bodies are built.
# --------------------------------------------------------------------------

class Reply(Exception):
    """A complete HTTP answer; raised to answer early, returned otherwise."""

    def __init__(self, status: int, body: bytes = b"", content_type: str | None = None,
                 headers: dict | None = None):
        super().__init__(status)
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}


def json_reply(status: int, obj, headers: dict | None = None) -> Reply:
    # Bodies carry UTF-8 as is (only headers need \u escapes).
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json", headers)


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), "text/plain; charset=utf-8")


def error_summary(error) -> str:
    """"path/conflict/file/.." from an error union: the tags from the outside
    in, then a variable run of dots (as the real service; clients must not
    match the summary exactly)."""
    tags = []
    while isinstance(error, dict) and ".tag" in error:
        tag = error[".tag"]
        tags.append(tag)
        inner = error.get(tag)
        if not (isinstance(inner, dict) and ".tag" in inner):
            # A struct member is flattened beside ".tag"; its union field
            # (UploadWriteFailed.reason) carries the rest of the summary.
            inner = next((v for k, v in error.items()
                          if k != ".tag" and isinstance(v, dict) and ".tag" in v), None)
        error = inner
    return "/".join(tags) + "/" + "." * random.randint(1, 3)


def route_error(error: dict) -> Reply:
    """409: the endpoint's own error union (the SDK raises ApiError)."""
    return json_reply(409, {"error_summary": error_summary(error), "error": error})


def bad_request(route: str, message: str) -> Reply:
    """400: bad input, a plain-text body (the SDK raises BadInputError)."""
    return text_reply(400, f'Error in call to API function "{route}": {message}')


def auth_failure(tag: str) -> Reply:
    """401 (the SDK raises AuthError and refreshes on expired_access_token)."""
    return json_reply(401, {"error_summary": f"{tag}/..", "error": {".tag": tag}})


def rate_limited(reason: str, retry_after: int) -> Reply:
    return json_reply(429, {"error_summary": f"{reason}/..",
                            "error": {"reason": {".tag": reason}, "retry_after": retry_after}},
                      {"Retry-After": str(retry_after)})


def oauth_error(error: str, description: str) -> Reply:
    return json_reply(400, {"error": error, "error_description": description})


def header_safe_json(obj) -> str:
    """JSON for an HTTP header: ASCII only, and DEL escaped too."""
    return json.dumps(obj, ensure_ascii=True).replace("\x7f", "\\u007f")


class LookupFailure(Exception):
    """A LookupError union, e.g. {".tag": "not_found"}."""

    def __init__(self, tag: str):
        super().__init__(tag)
        self.error = {".tag": tag}


class WriteFailure(Exception):
    """A WriteError union, e.g. {".tag": "conflict", "conflict": {".tag": "file"}}."""

    def __init__(self, tag: str, conflict: str | None = None):
        super().__init__(tag)
        self.error = {".tag": tag}
        if conflict:
            self.error[tag] = {".tag": conflict}


class SessionFailure(Exception):
    """An upload-session problem: not_found, incorrect_offset, closed,
    too_large, payload_too_large, content_hash_mismatch."""

    def __init__(self, tag: str, correct_offset: int | None = None):
        super().__init__(tag)
        self.error = {".tag": tag}
        if correct_offset is not None:
            self.error["correct_offset"] = correct_offset


class DeleteFailure(Exception):
    """A DeleteError, for delete_v2's 409 or one entry of a batch."""

    def __init__(self, error: dict):
        super().__init__(error.get(".tag"))
        self.error = error


class ClientGone(Exception):
    """The client went away in the middle of a request body."""


# --------------------------------------------------------------------------
# Argument validation, with the messages of the stone-based real server.
# --------------------------------------------------------------------------

class ArgError(Exception):
    def __init__(self, message: str, parents: tuple = ()):
        super().__init__(message)
        self.message, self.parents = message, list(parents)

    def __str__(self):
        return (".".join(reversed(self.parents)) + ": " if self.parents else "") + self.message


def type_name(v) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    return {float: "float", list: "list", str: "string", dict: "object",
            type(None): "null"}.get(type(v), type(v).__name__)


def py_str(v) -> str:
    """The real server (Python) quotes values as str() of the decoded JSON."""
    return str(v)


def string_v(pattern: str | None = None, min_len: int | None = None, max_len: int | None = None):
    compiled = re.compile(r"\A(?:" + pattern + r")\Z") if pattern else None

    def check(v):
        if not isinstance(v, str):
            raise ArgError(f"'{py_str(v)}' expected to be a string, got {type_name(v)}")
        if max_len is not None and len(v) > max_len:
            raise ArgError(f"'{v}' must be at most {max_len} characters, got {len(v)}")
        if min_len is not None and len(v) < min_len:
            raise ArgError(f"'{v}' must be at least {min_len} characters, got {len(v)}")
        if compiled and not compiled.match(v):
            raise ArgError(f"'{v}' did not match pattern '{pattern}'")
        return v
    return check


def bool_v(v):
    if not isinstance(v, bool):
        raise ArgError(f"{v!r} is not a valid boolean")
    return v


def uint_v(lo: int, hi: int):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ArgError(f"expected integer, got {type_name(v)}")
        if not lo <= v <= hi:
            raise ArgError(f"{v} is not within range [{lo}, {hi}]")
        return v
    return check


def timestamp_v(v):
    if not isinstance(v, str):
        raise ArgError(f"'{py_str(v)}' expected to be a string, got {type_name(v)}")
    try:
        time.strptime(v, TIME_FORMAT)
    except ValueError:
        raise ArgError(f"'{v}' does not match format '{TIME_FORMAT}'") from None
    return v


def any_v(v):
    return v


def nullable(check):
    return lambda v: None if v is None else check(v)


REQUIRED = object()


def list_v(item_check, max_items: int | None = None):
    def check(obj):
        if not isinstance(obj, list):
            raise ArgError(f"expected list, got {type_name(obj)}")
        if max_items is not None and len(obj) > max_items:
            raise ArgError(f"list has more than {max_items} items")
        out = []
        for i, item in enumerate(obj):
            try:
                out.append(item_check(item))
            except ArgError as e:
                e.parents.append(f"[{i}]")
                raise
        return out
    return check


def struct_v(fields: dict):
    """fields: name -> (check, default or REQUIRED). Unknown fields are an
    error, as on the real server."""
    def check(obj):
        if not isinstance(obj, dict):
            raise ArgError(f"expected object, got {type_name(obj)}")
        for key in obj:
            if key not in fields and not key.startswith(".tag"):
                raise ArgError(f"unknown field '{key}'")
        out = {}
        for name, (field_check, default) in fields.items():
            if name in obj and not (obj[name] is None and default is not REQUIRED):
                try:
                    out[name] = field_check(obj[name])
                except ArgError as e:
                    e.parents.append(name)
                    raise
            elif default is REQUIRED:
                raise ArgError(f"missing required field '{name}'")
            else:
                out[name] = default
        return out
    return check


def union_v(tags: dict):
    """tags: tag -> check of its value, or None for a void tag. Returns
    (tag, value); accepts "tag" and {".tag": "tag", "tag": value}."""
    def check(obj):
        if isinstance(obj, str):
            tag, value = obj, None
            if tag in tags and tags[tag] is not None:
                raise ArgError(f"expected object for '{tag}', got symbol")
        elif isinstance(obj, dict):
            tag = obj.get(".tag")
            if not isinstance(tag, str):
                raise ArgError("missing '.tag' key")
            value = obj.get(tag)
        else:
            raise ArgError(f"expected string or object, got {type_name(obj)}")
        if tag not in tags:
            raise ArgError(f"unknown tag '{tag}'")
        if tags[tag] is not None:
            try:
                value = tags[tag](value)
            except ArgError as e:
                e.parents.append(tag)
                raise
        return tag, value
    return check


def void_v(obj):
    if obj is not None:
        raise ArgError(f"expected NoneType, got {type_name(obj)}")
    return None


REV = string_v(pattern="[0-9a-f]+", min_len=9)
SHA256_HEX = nullable(string_v(min_len=64, max_len=64))
WRITE_MODE = union_v({"add": None, "overwrite": None, "update": REV})
COMMIT_INFO_FIELDS = {
    "path": (string_v(WRITE_PATH_OR_ID), REQUIRED),
    "mode": (WRITE_MODE, ("add", None)),
    "autorename": (bool_v, False),
    "client_modified": (nullable(timestamp_v), None),
    "mute": (bool_v, False),
    "property_groups": (any_v, None),
    "strict_conflict": (bool_v, False),
}
CURSOR = struct_v({"session_id": (string_v(), REQUIRED),
                   "offset": (uint_v(0, 2**64 - 1), REQUIRED)})

ARGS = {
    "get_temporary_link": struct_v({
        "path": (string_v(READ_PATH), REQUIRED)}),
    "get_metadata": struct_v({
        "path": (string_v(READ_PATH), REQUIRED),
        "include_media_info": (bool_v, False),
        "include_deleted": (bool_v, False),
        "include_has_explicit_shared_members": (bool_v, False),
        "include_property_groups": (any_v, None)}),
    "list_folder": struct_v({
        "path": (string_v(PATH_R_OR_ID), REQUIRED),
        "recursive": (bool_v, False),
        "include_media_info": (bool_v, False),
        "include_deleted": (bool_v, False),
        "include_has_explicit_shared_members": (bool_v, False),
        "include_mounted_folders": (bool_v, True),
        "limit": (nullable(uint_v(1, 2000)), None),
        "shared_link": (any_v, None),
        "include_property_groups": (any_v, None),
        "include_non_downloadable_files": (bool_v, True),
        "include_restorable_info": (bool_v, False)}),
    "list_folder_continue": struct_v({"cursor": (string_v(min_len=1), REQUIRED)}),
    "delete": struct_v({"path": (string_v(WRITE_PATH_OR_ID), REQUIRED),
                        "parent_rev": (nullable(REV), None)}),
    "delete_batch": struct_v({"entries": (list_v(struct_v({
        "path": (string_v(WRITE_PATH_OR_ID), REQUIRED),
        "parent_rev": (nullable(REV), None)}), max_items=1000), REQUIRED)}),
    "poll": struct_v({"async_job_id": (string_v(min_len=1), REQUIRED)}),
    "copy": struct_v({"from_path": (string_v(WRITE_PATH_OR_ID), REQUIRED),
                      "to_path": (string_v(WRITE_PATH_OR_ID), REQUIRED),
                      "allow_shared_folder": (bool_v, False),
                      "autorename": (bool_v, False),
                      "allow_ownership_transfer": (bool_v, False)}),
    "create_folder": struct_v({"path": (string_v(WRITE_PATH), REQUIRED),
                               "autorename": (bool_v, False)}),
    "void": void_v,
    "upload": struct_v({**COMMIT_INFO_FIELDS, "content_hash": (SHA256_HEX, None)}),
    "download": struct_v({"path": (string_v(READ_PATH), REQUIRED),
                          "rev": (nullable(REV), None)}),
    "session_start": struct_v({
        "close": (bool_v, False),
        "session_type": (nullable(union_v({"sequential": None, "concurrent": None})), None),
        "content_hash": (SHA256_HEX, None)}),
    "session_append": struct_v({"cursor": (CURSOR, REQUIRED), "close": (bool_v, False),
                                "content_hash": (SHA256_HEX, None)}),
    "session_finish": struct_v({"cursor": (CURSOR, REQUIRED),
                                "commit": (struct_v(COMMIT_INFO_FIELDS), REQUIRED),
                                "content_hash": (SHA256_HEX, None)}),
}


# --------------------------------------------------------------------------
# Content hash, request bodies.
# --------------------------------------------------------------------------

class ContentHasher:
    """Dropbox's content_hash: SHA-256 over the SHA-256 digests of each
    4 MiB block, fed incrementally; copy() allows a rollback."""

    def __init__(self):
        self.overall = hashlib.sha256()
        self.block = hashlib.sha256()
        self.in_block = 0

    def update(self, data: bytes):
        view = memoryview(data)
        while view:
            take = min(BLOCK - self.in_block, len(view))
            self.block.update(view[:take])
            self.in_block += take
            view = view[take:]
            if self.in_block == BLOCK:
                self.overall.update(self.block.digest())
                self.block, self.in_block = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        overall = self.overall.copy()
        if self.in_block:
            overall.update(self.block.digest())
        return overall.hexdigest()

    def copy(self) -> "ContentHasher":
        twin = ContentHasher()
        twin.overall, twin.block, twin.in_block = self.overall.copy(), self.block.copy(), self.in_block
        return twin


class BodyReader:
    """A request body read in pieces of at most PIECE bytes, whether framed
    by Content-Length or by chunked transfer coding. drain() discards what
    is left: every request's body is consumed before its answer, so the
    connection stays usable (keep-alive)."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.received = 0
        self.done = False
        encoding = headers.get("Transfer-Encoding")
        length = headers.get("Content-Length")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise text_reply(501, f"Transfer-Encoding {encoding!r} is not supported")
            self.length = None
        elif length is not None:
            if not length.strip().isdigit():
                raise text_reply(400, f"Bad Content-Length {length!r}")
            self.length = int(length)
        else:
            self.length = 0
        self._gen = self._chunked() if self.length is None else self._sized()

    def pieces(self):
        return self._gen

    def drain(self):
        for _ in self._gen:
            pass

    def read_all(self, limit: int) -> bytes | None:
        """The whole body, or None if it is longer than limit (then drained)."""
        parts, size = [], 0
        for piece in self._gen:
            size += len(piece)
            if size > limit:
                self.drain()
                return None
            parts.append(piece)
        return b"".join(parts)

    def _read(self, n: int) -> bytes:
        try:
            data = self.rfile.read(n)
        except (OSError, ValueError) as e:
            raise ClientGone(str(e)) from None
        if len(data) < n:
            raise ClientGone("body ended early")
        self.received += len(data)
        return data

    def _sized(self):
        left = self.length
        while left:
            data = self._read(min(PIECE, left))
            left -= len(data)
            yield data
        self.done = True

    def _line(self) -> bytes:
        try:
            line = self.rfile.readline(4096)
        except (OSError, ValueError) as e:
            raise ClientGone(str(e)) from None
        if not line.endswith(b"\n"):
            raise ClientGone("bad chunked framing")
        return line

    def _chunked(self):
        while True:
            try:
                size = int(self._line().split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ClientGone("bad chunk size") from None
            if size == 0:
                while self._line().strip():  # trailers, up to the empty line
                    pass
                self.done = True
                return
            while size:
                data = self._read(min(PIECE, size))
                size -= len(data)
                yield data
            if self._line().strip():
                raise ClientGone("chunk not followed by CRLF")


def receive(body: BodyReader, out, limit: int, hashers) -> tuple[int, bool]:
    """Streams the body into the file `out` and the hashers. Returns (bytes,
    over_limit); past the limit nothing more is written (the body is still
    read to its end)."""
    if body.length is not None and body.length > limit:
        body.drain()
        return body.length, True
    count = 0
    for piece in body.pieces():
        count += len(piece)
        if count > limit:
            continue
        out.write(piece)
        for h in hashers:
            h.update(piece)
    return count, count > limit


# --------------------------------------------------------------------------
# The namespace.
# --------------------------------------------------------------------------

@dataclass
class Node:
    kind: str  # "file" | "folder"
    display: str  # path_display
    id: str
    rev: str = ""
    size: int = 0
    content_hash: str = ""
    blob: str = ""
    client_modified: str = ""
    server_modified: str = ""

    @property
    def lower(self) -> str:
        return self.display.lower()

    def metadata(self, tagged: bool = True) -> dict:
        """FileMetadata / FolderMetadata; tagged where the result type is the
        Metadata union (get_metadata, list entries, copy/delete results)."""
        meta = {".tag": self.kind} if tagged else {}
        meta.update(name=self.display.rsplit("/", 1)[1], path_lower=self.lower,
                    path_display=self.display, id=self.id)
        if self.kind == "file":
            meta.update(client_modified=self.client_modified, server_modified=self.server_modified,
                        rev=self.rev, size=self.size, is_downloadable=True,
                        content_hash=self.content_hash)
        return meta


@dataclass
class Session:
    id: str
    file: str
    offset: int = 0
    closed: bool = False
    gone: bool = False  # finished or reset
    hasher: ContentHasher = field(default_factory=ContentHasher)
    lock: threading.Lock = field(default_factory=threading.Lock)


def split_path(path: str) -> list[str] | None:
    """The components of "/a/b", or None if Dropbox calls it malformed."""
    if not path.startswith("/") or path.endswith("/") or path[-1].isspace():
        return None
    parts = path[1:].split("/")
    for part in parts:
        if (part in ("", ".", "..") or part[-1].isspace() or len(part) > 255
                or "\\" in part or "\x7f" in part or "\x00" in part):
            return None
    return parts


def now_text() -> str:
    return time.strftime(TIME_FORMAT, time.gmtime())


def random_id(n: int = 22) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(n))


def renamed(name: str, n: int) -> str:
    """autorename: "a.txt" -> "a (1).txt", "dir" -> "dir (1)"."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


def parse_range(header: str | None, size: int):
    """(start, end) inclusive, None for the whole file, or "unsatisfiable"."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m[1] == "" and m[2] == ""):
        return None  # malformed or several ranges: ignored (RFC 7233)
    if m[1] == "":
        suffix = int(m[2])
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(m[1])
    if m[2] and int(m[2]) < start:
        return None  # invalid: ignored
    if start >= size:
        return "unsatisfiable"
    return start, min(int(m[2]) if m[2] else size - 1, size - 1)


@dataclass
class Endpoint:
    host: str  # "api" | "content"
    style: str  # "rpc" | "upload" | "download" | "oauth"
    args: str | None  # key of ARGS
    handler: str  # method name on Fake


ENDPOINTS = {
    "/oauth2/token": Endpoint("api", "oauth", None, "oauth_token"),
    "/2/users/get_current_account": Endpoint("api", "rpc", "void", "get_current_account"),
    "/2/files/get_metadata": Endpoint("api", "rpc", "get_metadata", "get_metadata"),
    "/2/files/get_temporary_link": Endpoint("api", "rpc", "get_temporary_link", "get_temporary_link"),
    "/2/files/list_folder": Endpoint("api", "rpc", "list_folder", "list_folder"),
    "/2/files/list_folder/continue": Endpoint("api", "rpc", "list_folder_continue", "list_folder_continue"),
    "/2/files/delete_v2": Endpoint("api", "rpc", "delete", "delete"),
    "/2/files/delete_batch": Endpoint("api", "rpc", "delete_batch", "delete_batch"),
    "/2/files/delete_batch/check": Endpoint("api", "rpc", "poll", "delete_batch_check"),
    "/2/files/copy_v2": Endpoint("api", "rpc", "copy", "copy"),
    "/2/files/create_folder_v2": Endpoint("api", "rpc", "create_folder", "create_folder"),
    "/2/files/upload": Endpoint("content", "upload", "upload", "upload"),
    "/2/files/upload_session/start": Endpoint("content", "upload", "session_start", "session_start"),
    "/2/files/upload_session/append_v2": Endpoint("content", "upload", "session_append", "session_append"),
    "/2/files/upload_session/finish": Endpoint("content", "upload", "session_finish", "session_finish"),
    "/2/files/download": Endpoint("content", "download", "download", "download"),
}
REAL_HOST = {"api": "api.dropboxapi.com", "content": "content.dropboxapi.com"}
# Where the content host serves temporary links.
TEMPORARY_PREFIX = "/temporary/"



class Fake:
    """The state (in memory; file bytes under --data) and the endpoints."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.blobs = os.path.join(opts.data, "blobs")
        self.tmp = os.path.join(opts.data, "tmp")
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch)
        self.tokens_issued = 0
        self.generation = 0
        self.account_id = "dbid:" + random_id(35)
        self.uid = str(random.randint(10**8, 10**9))
        self.namespace = str(random.randint(10**8, 10**9))
        self.counter = 0
        self.reset()

    # ---- state ---------------------------------------------------------

    def reset(self):
        with self.lock:
            for s in getattr(self, "sessions", {}).values():
                s.gone = True
            self.nodes: dict[str, Node] = {}
            self.by_id: dict[str, Node] = {}
            self.temporary_links: dict[str, tuple[str, float]] = {}  # token -> (node id, expiry)
            self.sessions: dict[str, Session] = {}
            self.listings: collections.OrderedDict = collections.OrderedDict()
            self.jobs: dict[str, dict] = {}  # async_job_id -> {"checks", "entries"}
            self.generation += 1
            self.faults: dict[str, collections.deque] = {}
            self.calls: collections.Counter = collections.Counter()
            self.connections: collections.Counter = collections.Counter()
            self.latency = 0.0
            self.max_body = 0
            self.auth_code_used = False
            for d in (self.blobs, self.tmp):
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)

    def temp_file(self) -> str:
        return os.path.join(self.tmp, secrets.token_hex(12))

    def new_rev(self) -> str:
        self.counter += 1
        return f"{self.counter:07x}{secrets.token_hex(3)}"

    def lookup(self, raw: str) -> Node:
        """The node at a ReadPath / PathOrId; raises LookupFailure."""
        if raw.startswith("id:"):
            node = self.by_id.get(raw)
        elif raw.startswith(("rev:", "ns:")):
            node = None  # revisions and namespaces are not modelled
        else:
            if split_path(raw) is None:
                raise LookupFailure("malformed_path")
            node = self.nodes.get(raw.lower())
        if node is None:
            raise LookupFailure("not_found")
        return node

    def write_target(self, raw: str) -> list[str]:
        """The components of a write path; raises WriteFailure."""
        if raw.startswith("id:"):
            node = self.by_id.get(raw)
            if node is None:
                raise WriteFailure("malformed_path")
            raw = node.display
        elif raw.startswith("ns:"):
            raise WriteFailure("malformed_path")
        parts = split_path(raw)
        if parts is None:
            raise WriteFailure("malformed_path")
        if any(p.lower() in DISALLOWED_NAMES for p in parts):
            raise WriteFailure("disallowed_name")
        return parts

    def occupant(self, parts: list[str]) -> Node | None:
        """What is at the write target parts now. Raises
        conflict/file_ancestor if a file is where a parent folder must be."""
        ancestors = [self.nodes.get("/" + "/".join(parts[:i + 1]).lower()) for i in range(len(parts) - 1)]
        if any(a is not None and a.kind == "file" for a in ancestors):
            raise WriteFailure("conflict", "file_ancestor")
        return self.nodes.get("/" + "/".join(parts).lower())

    def free_name(self, parts: list[str], autorename: bool, existing: Node) -> list[str]:
        """With autorename, parts with the name made free ("a (1).txt");
        without, conflict/file or conflict/folder."""
        if not autorename:
            raise WriteFailure("conflict", existing.kind)
        parent, n = "/" + "/".join(parts[:-1]).lower(), 1
        while (parent.rstrip("/") + "/" + renamed(parts[-1], n)).lower() in self.nodes:
            n += 1
        return parts[:-1] + [renamed(parts[-1], n)]

    def make_parents(self, parts: list[str]) -> str:
        """Creates the missing parent folders of parts; returns the display
        path of the parent (existing folders keep their case)."""
        display = ""
        for i in range(len(parts) - 1):
            node = self.nodes.get("/" + "/".join(parts[:i + 1]).lower())
            if node is None:
                node = self.add_node(Node("folder", display + "/" + parts[i], "id:" + random_id()))
            display = node.display
        return display

    def add_node(self, node: Node) -> Node:
        self.nodes[node.lower] = node
        self.by_id[node.id] = node
        return node

    def subtree(self, lower: str) -> list[Node]:
        return [n for p, n in self.nodes.items() if p == lower or p.startswith(lower + "/")]

    def remove(self, lower: str):
        for node in self.subtree(lower):
            del self.nodes[node.lower]
            self.by_id.pop(node.id, None)
            if node.blob:
                try:
                    os.unlink(node.blob)
                except OSError:
                    pass

    def commit_file(self, parts, mode, autorename, strict, client_modified, src, size, chash):
        """Stores the file src at parts under the write mode. Returns (node,
        consumed): consumed is False when src was not needed (identical
        content already there). Raises WriteFailure."""
        with self.lock:
            existing = self.occupant(parts)
            tag, want_rev = mode
            if existing is not None and existing.kind == "folder":
                parts, existing = self.free_name(parts, autorename, existing), None
            elif existing is not None:
                same = existing.content_hash == chash and existing.size == size
                if tag == "overwrite" or (tag == "update" and existing.rev == want_rev):
                    if same:
                        return existing, False
                elif same and not strict:
                    return existing, False
                else:
                    parts, existing = self.free_name(parts, autorename, existing), None
            elif tag == "update" and strict:
                raise WriteFailure("conflict", "file")
            parent = self.make_parents(parts)
            blob = os.path.join(self.blobs, secrets.token_hex(16))
            os.replace(src, blob)
            stamp = now_text()
            if existing is not None:  # replaced in place: same id and name
                if existing.blob:
                    os.unlink(existing.blob)
                node = existing
            else:
                node = self.add_node(Node("file", parent + "/" + parts[-1], "id:" + random_id()))
            node.rev, node.size, node.content_hash, node.blob = self.new_rev(), size, chash, blob
            node.server_modified, node.client_modified = stamp, client_modified or stamp
            return node, True

    # ---- dispatch ------------------------------------------------------

    def handle_api(self, req, host: str, method: str, path: str):
        with self.lock:
            self.calls[path] += 1
            latency = self.latency
        if latency:
            time.sleep(latency)
        if host == "content" and path.startswith(TEMPORARY_PREFIX):
            return self.temporary_download(req, method, path[len(TEMPORARY_PREFIX):])
        endpoint = ENDPOINTS.get(path)
        route = path[3:] if path.startswith("/2/") else path.lstrip("/")
        if endpoint is None:
            if path.startswith("/2/"):
                known = ", ".join(p[3:] for p in ENDPOINTS if p.startswith("/2/"))
                raise text_reply(400, f'Unknown API function: "{route}" (the fake Dropbox models: {known})')
            raise text_reply(404, "Not Found")
        if endpoint.host != host:
            raise text_reply(400, f"Incorrect host for API function {route}.  "
                                  f"You must issue the request to {REAL_HOST[endpoint.host]}")
        allowed = ("GET", "POST") if endpoint.style == "download" else ("POST",)
        if method not in allowed:
            raise Reply(405, b"Method Not Allowed", "text/plain; charset=utf-8",
                        {"Allow": ", ".join(allowed)})
        self.take_fault(path)
        if endpoint.style == "oauth":
            return self.oauth_token(req)
        self.authenticate(req, route)
        arg = self.read_arg(req, endpoint, route)
        return getattr(self, endpoint.handler)(req, arg, route)

    def take_fault(self, path: str):
        with self.lock:
            queue = self.faults.get(path)
            if not queue:
                return
            fault = queue[0]
            fault["count"] -= 1
            if fault["count"] <= 0:
                queue.popleft()
        if fault["status"] == 429:
            raise rate_limited(fault["reason"], fault["retry_after"])
        raise text_reply(fault["status"], f"fault injected by the control port (HTTP {fault['status']})")

    def authenticate(self, req, route: str):
        value = req.headers.get("Authorization")
        if value is None:
            value = (req.query.get("authorization") or [None])[0]
        if value is None:
            raise bad_request(route, 'Must provide HTTP header "Authorization" or URL parameter '
                                     '"authorization".')
        m = re.fullmatch(r"[Bb]earer +(\S+)", value.strip())
        if not m:
            raise bad_request(route, f'Invalid authorization value in HTTP header "Authorization": '
                                     f'"{value}".  Expecting "Bearer <oauth2-access-token>".')
        with self.lock:
            expiry = self.tokens.get(m[1])
        if expiry is None:
            raise auth_failure("invalid_access_token")
        if expiry <= time.time():
            raise auth_failure("expired_access_token")

    def read_arg(self, req, endpoint: Endpoint, route: str):
        check = ARGS[endpoint.args]
        ctype = re.sub(r"\s*;\s*", "; ", (req.headers.get("Content-Type") or "").strip().lower())
        if endpoint.style == "rpc":
            data = req.body.read_all(RPC_BODY_LIMIT)
            if data is None:
                raise bad_request(route, "request body: too large")
            if check is void_v and not data.strip():
                return None
            if ctype not in RPC_CONTENT_TYPES:
                raise bad_request(route, self.content_type_message(ctype, RPC_CONTENT_TYPES))
            source = "request body"
            try:
                obj = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise bad_request(route, "request body: could not decode input as JSON") from None
        else:
            expected = UPLOAD_CONTENT_TYPES if endpoint.style == "upload" else DOWNLOAD_CONTENT_TYPES
            if ctype not in expected:
                raise bad_request(route, self.content_type_message(ctype, expected))
            raw = req.headers.get("Dropbox-API-Arg")
            source = 'HTTP header "Dropbox-API-Arg"'
            if raw is None:
                raw = (req.query.get("arg") or [None])[0]
                source = 'URL parameter "arg"'
            if raw is None:
                raise bad_request(route, 'Must provide HTTP header "Dropbox-API-Arg" or URL '
                                         'parameter "arg".')
            try:
                if source.startswith("HTTP") and not raw.isascii():
                    raise ValueError("headers are ASCII")
                obj = json.loads(raw)
            except ValueError:
                raise bad_request(route, f"{source}: could not decode input as JSON") from None
        try:
            return check(obj)
        except ArgError as e:
            raise bad_request(route, f"{source}: {e}") from None

    @staticmethod
    def content_type_message(got: str, expected) -> str:
        listed = ", ".join(f'"{e}"' for e in expected if e)
        return f'Bad HTTP "Content-Type" header: "{got}".  Expecting one of {listed}.'

    def path_arg(self, route: str, source: str, name: str, value: str):
        """The root as a path is bad input, with the real messages."""
        if value == "/":
            raise bad_request(route, f"{source}: {name}: The root folder is unsupported.")

    # ---- OAuth ---------------------------------------------------------

    def oauth_token(self, req):
        data = req.body.read_all(64 * 1024) or b""
        params = {k: v[0] for k, v in req.query.items()}
        params.update({k: v[0] for k, v in urllib.parse.parse_qs(
            data.decode("utf-8", "replace"), keep_blank_values=True).items()})
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        basic = req.headers.get("Authorization") or ""
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise oauth_error("invalid_client", "Invalid client_id or client_secret") from None
        grant = params.get("grant_type")
        if not grant:
            raise oauth_error("invalid_request", "No grant_type provided.")
        if grant not in ("refresh_token", "authorization_code"):
            raise oauth_error("unsupported_grant_type", f"unsupported grant_type \"{grant}\"")
        if not client_id:
            raise oauth_error("invalid_request", "No client_id provided.")
        if client_id != self.opts.app_key or (client_secret is not None
                                              and client_secret != self.opts.app_secret):
            raise oauth_error("invalid_client", "Invalid client_id or client_secret")
        if grant == "refresh_token":
            token = params.get("refresh_token")
            if not token:
                raise oauth_error("invalid_request", "No refresh_token provided.")
            if token != self.opts.refresh_token:
                raise oauth_error("invalid_grant", "refresh token is invalid or revoked")
            return self.issue_token({})
        code, verifier = params.get("code"), params.get("code_verifier")
        if not code:
            raise oauth_error("invalid_request", "No code provided.")
        if client_secret is None:
            if verifier is None:
                raise oauth_error("invalid_request", "No client_secret or code_verifier provided.")
            if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier):
                raise oauth_error("invalid_grant", "invalid code verifier")
        with self.lock:
            if code != self.opts.auth_code or self.auth_code_used:
                raise oauth_error("invalid_grant", "code doesn't exist or has expired")
            self.auth_code_used = True
        return self.issue_token({"refresh_token": self.opts.refresh_token, "scope": SCOPE,
                                 "uid": self.uid, "account_id": self.account_id})

    def issue_token(self, extra: dict) -> dict:
        token = "sl.u." + secrets.token_urlsafe(96)
        with self.lock:
            self.tokens[token] = time.time() + self.opts.access_token_lifetime
            self.tokens_issued += 1
        return {"access_token": token, "token_type": "bearer",
                "expires_in": self.opts.access_token_lifetime, **extra}

    # ---- RPC endpoints -------------------------------------------------

    def get_current_account(self, req, arg, route):
        name = {"given_name": "Wharf", "surname": "Tester", "familiar_name": "Wharf",
                "display_name": "Wharf Tester", "abbreviated_name": "WT"}
        return {"account_id": self.account_id, "name": name, "email": "wharf-tester@example.com",
                "email_verified": True, "disabled": False, "country": "US", "locale": "en",
                "referral_link": "https://db.tt/" + random_id(8), "is_paired": False,
                "account_type": {".tag": "basic"},
                "root_info": {".tag": "user", "root_namespace_id": self.namespace,
                              "home_namespace_id": self.namespace}}

    def get_metadata(self, req, arg, route):
        self.path_arg(route, "request body", "path", arg["path"])
        with self.lock:
            try:
                return self.lookup(arg["path"]).metadata()
            except LookupFailure as e:
                raise route_error({".tag": "path", "path": e.error}) from None

    def get_temporary_link(self, req, arg, route):
        """A link that serves the file to anyone, without a token, for four
        hours (as Dropbox's files/get_temporary_link; the real links are on
        dl.dropboxusercontent.com, these on the content host)."""
        self.path_arg(route, "request body", "path", arg["path"])
        with self.lock:
            try:
                node = self.lookup(arg["path"])
            except LookupFailure as e:
                raise route_error({".tag": "path", "path": e.error}) from None
            if node.kind != "file":
                raise route_error({".tag": "path", "path": {".tag": "not_file"}})
            token = secrets.token_urlsafe(24)
            self.temporary_links[token] = (node.id, time.time() + self.opts.temporary_link_lifetime)
            link = f"https://127.0.0.1:{self.opts.content_port}{TEMPORARY_PREFIX}{token}"
            return {"metadata": node.metadata(tagged=False), "link": link}

    def temporary_download(self, req, method: str, token: str):
        """GET of a temporary link: the file's bytes, or 410 once the link
        expired (404 for a link that never was, or whose file is gone)."""
        if method != "GET":
            raise Reply(405, b"Method Not Allowed", "text/plain; charset=utf-8", {"Allow": "GET"})
        with self.lock:
            found = self.temporary_links.get(token)
            if found is None:
                raise text_reply(404, "Not Found")
            node_id, expires = found
            if time.time() >= expires:
                raise text_reply(410, "This link has expired.")
            node = self.by_id.get(node_id)
            if node is None or node.kind != "file":
                raise text_reply(404, "Not Found")
            size = node.metadata(tagged=False)["size"]
            blob = open(node.blob, "rb")
        with blob:
            req.body.drain()
            req.send_head(200, size, "application/octet-stream", {})
            while data := blob.read(PIECE):
                req.wfile.write(data)
        return STREAMED

    def list_folder(self, req, arg, route):
        path = arg["path"]
        if path == "/":
            raise bad_request(route, 'request body: path: Specify the root folder as an empty '
                                     'string rather than as "/".')
        if arg["shared_link"] is not None:
            raise bad_request(route, "request body: shared_link: not modelled by the fake Dropbox")
        with self.lock:
            if path == "":
                prefix, entries = "", []
            else:
                try:
                    folder = self.lookup(path)
                except LookupFailure as e:
                    raise route_error({".tag": "path", "path": e.error}) from None
                if folder.kind != "folder":
                    raise route_error({".tag": "path", "path": {".tag": "not_folder"}})
                prefix = folder.lower
                # A recursive listing includes the listed folder itself.
                entries = [folder] if arg["recursive"] else []
            for lower, node in self.nodes.items():
                rest = lower[len(prefix) + 1:]
                if lower.startswith(prefix + "/") and (arg["recursive"] or "/" not in rest):
                    entries.append(node)
            # No particular order, like the real service: a shuffle that is
            # the same for the same folder, so failures reproduce.
            entries.sort(key=lambda n: n.lower)
            random.Random(zlib.crc32(prefix.encode())).shuffle(entries)
            listing = [n.metadata() for n in entries]
            listing_id = secrets.token_hex(8)
            self.listings[listing_id] = listing
            while len(self.listings) > KEPT_LISTINGS:
                self.listings.popitem(last=False)
            return self.page(listing_id, 0, arg["limit"] or DEFAULT_PAGE)

    def page(self, listing_id: str, offset: int, limit: int) -> dict:
        listing = self.listings[listing_id]
        self.listings.move_to_end(listing_id)
        end = min(offset + limit, len(listing))
        state = json.dumps([self.generation, listing_id, end, limit], separators=(",", ":"))
        cursor = "AAG" + base64.urlsafe_b64encode(state.encode()).decode().rstrip("=")
        return {"entries": listing[offset:end], "cursor": cursor, "has_more": end < len(listing)}

    def list_folder_continue(self, req, arg, route):
        cursor = arg["cursor"]
        try:
            raw = cursor[3:] + "=" * (-len(cursor[3:]) % 4)
            generation, listing_id, offset, limit = json.loads(base64.urlsafe_b64decode(raw))
            if not (cursor.startswith("AAG") and isinstance(offset, int) and isinstance(limit, int)):
                raise ValueError(cursor)
        except (ValueError, TypeError):
            raise bad_request(route, f'Invalid "cursor" parameter: "{cursor}"') from None
        with self.lock:
            if generation != self.generation or listing_id not in self.listings:
                raise route_error({".tag": "reset"})
            return self.page(listing_id, offset, limit)

    def delete(self, req, arg, route):
        self.path_arg(route, "request body", "path", arg["path"])
        try:
            return {"metadata": self.delete_one(arg)}
        except DeleteFailure as e:
            raise route_error(e.error) from None

    def delete_one(self, arg) -> dict:
        """Deletes what is at arg["path"] (a folder with all it holds), or
        raises DeleteFailure with the DeleteError; returns its metadata."""
        with self.lock:
            try:
                node = self.lookup(arg["path"])
            except LookupFailure as e:
                raise DeleteFailure({".tag": "path_lookup", "path_lookup": e.error}) from None
            if arg["parent_rev"] is not None and (node.kind != "file" or node.rev != arg["parent_rev"]):
                conflict = WriteFailure("conflict", node.kind).error
                raise DeleteFailure({".tag": "path_write", "path_write": conflict})
            meta = node.metadata()
            self.remove(node.lower)
            return meta

    def delete_batch(self, req, arg, route):
        """Always an asynchronous job, as the real route answers for any
        batch it has seen so far. The deletes happen now; the job reports
        in_progress to its first check, so clients must poll."""
        for i, entry in enumerate(arg["entries"]):
            self.path_arg(route, "request body", f"entries.[{i}].path", entry["path"])
        entries = []
        with self.lock:
            for entry in arg["entries"]:
                try:
                    # A union member that is a struct is written inline.
                    entries.append({".tag": "success", "metadata": self.delete_one(entry)})
                except DeleteFailure as e:
                    entries.append({".tag": "failure", "failure": e.error})
            job = "dbjid:" + random_id(86)
            self.jobs[job] = {"checks": 0, "entries": entries}
        return {".tag": "async_job_id", "async_job_id": job}

    def delete_batch_check(self, req, arg, route):
        with self.lock:
            job = self.jobs.get(arg["async_job_id"])
            if job is None:
                raise route_error({".tag": "invalid_async_job_id"})
            job["checks"] += 1
            if job["checks"] == 1:
                return {".tag": "in_progress"}
            return {".tag": "complete", "entries": job["entries"]}

    def copy(self, req, arg, route):
        self.path_arg(route, "request body", "from_path", arg["from_path"])
        self.path_arg(route, "request body", "to_path", arg["to_path"])
        with self.lock:
            try:
                src = self.lookup(arg["from_path"])
            except LookupFailure as e:
                raise route_error({".tag": "from_lookup", "from_lookup": e.error}) from None
            try:
                parts = self.write_target(arg["to_path"])
                if src.kind == "folder" and ("/" + "/".join(parts).lower()).startswith(src.lower + "/"):
                    raise route_error({".tag": "cant_move_folder_into_itself"})
                existing = self.occupant(parts)
                if existing is not None:
                    parts = self.free_name(parts, arg["autorename"], existing)
            except WriteFailure as e:
                raise route_error({".tag": "to", "to": e.error}) from None
            root = self.clone(src, self.make_parents(parts) + "/" + parts[-1])
            for node in sorted(self.subtree(src.lower), key=lambda n: n.lower):
                if node is not src:
                    self.clone(node, root.display + node.display[len(src.display):])
            return {"metadata": root.metadata()}

    def clone(self, src: Node, display: str) -> Node:
        node = Node(src.kind, display, "id:" + random_id())
        if src.kind == "file":
            node.blob = os.path.join(self.blobs, secrets.token_hex(16))
            try:
                os.link(src.blob, node.blob)  # blobs are never changed in place
            except OSError:
                shutil.copyfile(src.blob, node.blob)
            node.rev, node.size, node.content_hash = self.new_rev(), src.size, src.content_hash
            node.client_modified, node.server_modified = src.client_modified, now_text()
        return self.add_node(node)

    def create_folder(self, req, arg, route):
        self.path_arg(route, "request body", "path", arg["path"])
        with self.lock:
            try:
                parts = self.write_target(arg["path"])
                existing = self.occupant(parts)
                if existing is not None:
                    parts = self.free_name(parts, arg["autorename"], existing)
            except WriteFailure as e:
                raise route_error({".tag": "path", "path": e.error}) from None
            display = self.make_parents(parts) + "/" + parts[-1]
            node = self.add_node(Node("folder", display, "id:" + random_id()))
            return {"metadata": node.metadata(tagged=False)}

    # ---- content endpoints ---------------------------------------------

    def upload(self, req, arg, route):
        source = 'HTTP header "Dropbox-API-Arg"'
        self.path_arg(route, source, "path", arg["path"])
        failed_id = "pid_upload_session:" + secrets.token_urlsafe(24)
        try:
            with self.lock:
                parts = self.write_target(arg["path"])
        except WriteFailure as e:
            raise route_error({".tag": "path", "reason": e.error, "upload_session_id": failed_id}) from None
        tmp = self.temp_file()
        try:
            hasher = ContentHasher()
            with open(tmp, "wb") as f:
                size, over = receive(req.body, f, SINGLE_CALL_LIMIT, [hasher])
            if over:
                raise route_error({".tag": "payload_too_large"})
            chash = hasher.hexdigest()
            if arg["content_hash"] is not None and arg["content_hash"] != chash:
                raise route_error({".tag": "content_hash_mismatch"})
            try:
                node, _ = self.commit_file(parts, arg["mode"], arg["autorename"], arg["strict_conflict"],
                                           arg["client_modified"], tmp, size, chash)
            except WriteFailure as e:
                raise route_error({".tag": "path", "reason": e.error,
                                   "upload_session_id": failed_id}) from None
            with self.lock:
                return node.metadata(tagged=False)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def session(self, session_id: str) -> Session:
        with self.lock:
            s = self.sessions.get(session_id)
        if s is None:
            raise SessionFailure("not_found")
        return s

    def append(self, s: Session, offset: int, body: BodyReader, content_hash: str | None,
               allow_closed_empty: bool = False):
        """Appends this call's body to the session (s.lock held). Returns the
        state to restore for a rollback. Raises SessionFailure, changing
        nothing."""
        if s.gone:
            raise SessionFailure("not_found")
        if s.closed:
            if not allow_closed_empty or body.read_all(0) is None:
                raise SessionFailure("closed")
        if offset != s.offset:
            raise SessionFailure("incorrect_offset", s.offset)
        saved = (s.offset, s.hasher.copy(), s.closed)
        call_hasher = ContentHasher()
        try:
            with open(s.file, "ab") as f:
                size, over = receive(body, f, SINGLE_CALL_LIMIT, [s.hasher, call_hasher])
            if over:
                raise SessionFailure("payload_too_large")
            if s.offset + size > SESSION_LIMIT:
                raise SessionFailure("too_large")
            if content_hash is not None and content_hash != call_hasher.hexdigest():
                raise SessionFailure("content_hash_mismatch")
        except (SessionFailure, ClientGone, OSError):
            self.rollback(s, saved)
            raise
        s.offset += size
        return saved

    @staticmethod
    def rollback(s: Session, saved):
        s.offset, s.hasher, s.closed = saved
        with open(s.file, "ab") as f:
            f.truncate(s.offset)

    def session_start(self, req, arg, route):
        if arg["session_type"] is not None and arg["session_type"][0] == "concurrent":
            raise bad_request(route, 'HTTP header "Dropbox-API-Arg": session_type: concurrent upload '
                                     'sessions are not modelled by the fake Dropbox')
        s = Session("pid_upload_session:" + secrets.token_urlsafe(30), self.temp_file())
        open(s.file, "wb").close()
        try:
            with s.lock:
                self.append(s, 0, req.body, arg["content_hash"])
                s.closed = arg["close"]
        except SessionFailure as e:
            os.unlink(s.file)
            if e.error[".tag"] == "too_large":
                e.error = {".tag": "payload_too_large"}
            raise route_error(e.error) from None
        except BaseException:
            os.unlink(s.file)
            raise
        with self.lock:
            self.sessions[s.id] = s
        return {"session_id": s.id}

    def session_append(self, req, arg, route):
        try:
            s = self.session(arg["cursor"]["session_id"])
            with s.lock:
                self.append(s, arg["cursor"]["offset"], req.body, arg["content_hash"])
                if arg["close"]:
                    s.closed = True
        except SessionFailure as e:
            raise route_error(e.error) from None
        return None  # "null": append_v2 has no result

    def session_finish(self, req, arg, route):
        commit = arg["commit"]
        self.path_arg(route, 'HTTP header "Dropbox-API-Arg"', "commit.path", commit["path"])
        try:
            s = self.session(arg["cursor"]["session_id"])
        except SessionFailure as e:
            raise route_error({".tag": "lookup_failed", "lookup_failed": e.error}) from None
        with s.lock:
            try:
                with self.lock:
                    parts = self.write_target(commit["path"])
            except WriteFailure as e:
                raise route_error({".tag": "path", "path": e.error}) from None
            try:
                saved = self.append(s, arg["cursor"]["offset"], req.body, arg["content_hash"],
                                    allow_closed_empty=True)
            except SessionFailure as e:
                if e.error[".tag"] in ("payload_too_large", "content_hash_mismatch"):
                    raise route_error(e.error) from None
                raise route_error({".tag": "lookup_failed", "lookup_failed": e.error}) from None
            try:
                node, consumed = self.commit_file(parts, commit["mode"], commit["autorename"],
                                                  commit["strict_conflict"], commit["client_modified"],
                                                  s.file, s.offset, s.hasher.hexdigest())
            except WriteFailure as e:
                self.rollback(s, saved)
                raise route_error({".tag": "path", "path": e.error}) from None
            s.gone = True
            if not consumed:
                os.unlink(s.file)
            with self.lock:
                self.sessions.pop(s.id, None)
                return node.metadata(tagged=False)

    def download(self, req, arg, route):
        self.path_arg(route, 'HTTP header "Dropbox-API-Arg"', "path", arg["path"])
        with self.lock:
            try:
                node = self.lookup(arg["path"])
                if node.kind != "file":
                    raise LookupFailure("not_file")
                if arg["rev"] is not None and arg["rev"] != node.rev:
                    raise LookupFailure("not_found")
            except LookupFailure as e:
                raise route_error({".tag": "path", "path": e.error}) from None
            meta = node.metadata(tagged=False)
            # Opened under the lock: a concurrent delete or overwrite unlinks
            # the blob, but this open file stays readable.
            blob = open(node.blob, "rb")
        with blob:
            size = meta["size"]
            span = parse_range(req.headers.get("Range"), size)
            if span == "unsatisfiable":
                raise route_error({".tag": "range", "range": {".tag": "not_satisfiable"}})
            etag = f'W/"{meta["rev"]}"'
            headers = {"Dropbox-API-Result": header_safe_json(meta), "ETag": etag,
                       "Accept-Ranges": "bytes"}
            if req.headers.get("If-None-Match") == etag:
                raise Reply(304, b"", None, headers)
            status, start, end = 200, 0, size - 1
            if span is not None:
                status, (start, end) = 206, span
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            req.body.drain()
            req.send_head(status, end - start + 1, "application/octet-stream", headers)
            blob.seek(start)
            left = end - start + 1
            while left > 0:
                data = blob.read(min(PIECE, left))
                if not data:
                    raise ClientGone("blob shorter than its size")  # cannot happen; close the connection
                req.wfile.write(data)
                left -= len(data)
        return STREAMED

    # ---- control port --------------------------------------------------

    def control(self, req, method: str, path: str):
        data = req.body.read_all(MiB) or b""
        try:
            body = json.loads(data) if data.strip() else {}
        except ValueError:
            raise json_reply(400, {"error": "body is not JSON"}) from None
        if (method, path) == ("GET", "/stats"):
            with self.lock:
                return {"calls": dict(self.calls), "connections": dict(self.connections),
                        "tokens_issued": self.tokens_issued,
                        "open_sessions": len(self.sessions),
                        "files": sum(1 for n in self.nodes.values() if n.kind == "file"),
                        "max_body_bytes": self.max_body}
        if (method, path) == ("POST", "/fail"):
            return self.add_fault(body)
        if (method, path) == ("POST", "/latency"):
            seconds = body.get("seconds")
            if not isinstance(seconds, (int, float)) or not 0 <= seconds <= 5:
                raise json_reply(400, {"error": "seconds: a number from 0 to 5"})
            with self.lock:
                self.latency = float(seconds)
            return {}
        if (method, path) == ("POST", "/expire_links"):
            with self.lock:
                for token, (node_id, _) in self.temporary_links.items():
                    self.temporary_links[token] = (node_id, 0.0)
                return {"expired": len(self.temporary_links)}
        if (method, path) == ("POST", "/expire_tokens"):
            with self.lock:
                for token in self.tokens:
                    self.tokens[token] = 0.0
                return {"expired": len(self.tokens)}
        if (method, path) == ("POST", "/reset"):
            self.reset()
            return {"reset": True}
        raise json_reply(404, {"error": f"no control call {method} {path}; there are POST /fail, "
                                        "POST /expire_tokens, GET /stats, POST /reset"})

    def add_fault(self, body: dict) -> dict:
        endpoint = body.get("endpoint")
        count = body.get("count", 1)
        status = body.get("status", 429)
        reason = body.get("reason", "too_many_requests")
        retry_after = body.get("retry_after", 1)
        problems = []
        if endpoint not in ENDPOINTS:
            problems.append(f"endpoint must be one of {sorted(ENDPOINTS)}")
        if not isinstance(count, int) or count < 1:
            problems.append("count must be a positive integer")
        if status != 429 and not (isinstance(status, int) and 500 <= status <= 599):
            problems.append("status must be 429 or 5xx")
        if status == 429:  # reason and retry_after only shape a 429's body
            if reason not in ("too_many_requests", "too_many_write_operations"):
                problems.append("reason must be too_many_requests or too_many_write_operations")
            if not isinstance(retry_after, int) or retry_after < 0:
                problems.append("retry_after must be a non-negative integer")
        if problems:
            raise json_reply(400, {"error": "; ".join(problems)})
        with self.lock:
            self.faults.setdefault(endpoint, collections.deque()).append(
                {"count": count, "status": status, "reason": reason, "retry_after": retry_after})
        return {"queued": count}

    def note_body(self, size: int):
        with self.lock:
            self.max_body = max(self.max_body, size)


STREAMED = object()  # a handler's result when it has sent its own response


# --------------------------------------------------------------------------
# HTTP plumbing.
# --------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "fake-dropbox"
    sys_version = ""
    timeout = 600  # an idle keep-alive connection is dropped after this
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def setup(self):
        with self.server.fake.lock:
            self.server.fake.connections[self.server.kind] += 1
        context = self.server.ssl_context
        if context is not None:
            # The TLS handshake runs here, in the connection's own thread, so
            # a client that connects and says nothing blocks nobody else.
            self.request.settimeout(30)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.close()

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method: str):
        fake: Fake = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            self.body = BodyReader(self.rfile, self.headers)
        except Reply as reply:
            self.close_connection = True
            self.send_reply(reply)
            return
        try:
            if self.server.kind == "control":
                result = fake.control(self, method, url.path)
            else:
                result = fake.handle_api(self, self.server.kind, method, url.path)
            if result is STREAMED:
                fake.note_body(self.body.received)
                return
            reply = json_reply(200, result)
        except Reply as r:
            reply = r
        except (ClientGone, ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
            return
        except Exception:
            traceback.print_exc()
            reply = text_reply(500, "fake Dropbox internal error (see its log)")
        try:
            self.body.drain()
        except ClientGone:
            self.close_connection = True
            return
        fake.note_body(self.body.received)
        self.send_reply(reply)

    def send_head(self, status: int, length: int, content_type: str | None, headers: dict):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Dropbox-Request-Id", secrets.token_hex(16))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_reply(self, reply: Reply):
        body = b"" if reply.status == 304 else reply.body
        self.send_head(reply.status, len(body), reply.content_type, reply.headers)
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        path = urllib.parse.urlsplit(self.path).path
        sys.stderr.write(f"{self.server.kind} {self.command} {path} {code}\n")

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.server.kind}: {fmt % args}\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, port: int, kind: str, fake: Fake, ssl_context):
        self.kind, self.fake, self.ssl_context = kind, fake, ssl_context
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        # HTTPServer.server_bind would look up the host name; not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request, client_address):
        kind, value = sys.exc_info()[:2]
        sys.stderr.write(f"{self.kind}: connection from {client_address[0]}:{client_address[1]} "
                         f"ended: {kind.__name__}: {value}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--api-port", type=int, required=True)
    p.add_argument("--content-port", type=int, required=True)
    p.add_argument("--control-port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--data", required=True, help="where file contents are kept (emptied at start)")
    p.add_argument("--app-key", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--refresh-token", required=True)
    p.add_argument("--access-token-lifetime", type=int, default=14400)
    p.add_argument("--temporary-link-lifetime", type=int, default=14400,
                   help="seconds a files/get_temporary_link link works (Dropbox: four hours)")
    p.add_argument("--auth-code", default=None)
    opts = p.parse_args()

    # SIGTERM: leave at once (the state is in memory; daemon threads die).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts.cert, opts.key)
    context.set_alpn_protocols(["http/1.1"])  # clients offering h2 fall back to HTTP/1.1
    fake = Fake(opts)
    api = Server(opts.api_port, "api", fake, context)
    content = Server(opts.content_port, "content", fake, context)
    control = Server(opts.control_port, "control", fake, None)  # bound last: it means ready
    for server in (api, content):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stderr.write(f"fake Dropbox: api https://127.0.0.1:{opts.api_port}, content "
                     f"https://127.0.0.1:{opts.content_port}, control "
                     f"http://127.0.0.1:{opts.control_port}\n")
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
