#!/usr/bin/env python3
"""Proves the fake Dropbox (fake_dropbox.py) with the official Dropbox SDK.

Run with the Python of the venv that install.sh makes:
  /opt/dropbox-test-tools/venv/bin/python sdk_scenario.py \
      --api 127.0.0.1:PORT --content 127.0.0.1:PORT --ca CA.crt \
      --app-key K --app-secret S --refresh-token R \
      --control http://127.0.0.1:PORT --scratch DIR

The SDK decodes every answer with its stone validators (the API's schema),
so a success or error body of the wrong shape fails the step that got it;
one step also decodes raw answers strictly (no unknown fields or tags).
Prints one JSON object, {"steps": [{"name", "ok", "detail"}], "ok"}, and
exits 0 only if every step passed. Works in its own folder of the fake's
namespace (/sdk-proof-XXXX), so it can run against a fake in use.
"""

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
import traceback
import urllib.error
import urllib.request

opts = None
dropbox = None  # imported in main(), after the host variables are set
STEPS = []
MiB = 1 << 20


def step(fn):
    STEPS.append(fn)
    return fn


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def content_hash(data: bytes) -> str:
    """Dropbox's content_hash, written out here independently of the fake
    and of the SDK: SHA-256 of the concatenated SHA-256 of 4 MiB blocks."""
    blocks = b"".join(hashlib.sha256(data[i:i + 4 * MiB]).digest()
                      for i in range(0, len(data), 4 * MiB))
    return hashlib.sha256(blocks).hexdigest()


def control(method: str, path: str, body=None):
    request = urllib.request.Request(opts.control + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def api_error(call, *args, **kwargs):
    """The ApiError a call must raise; its .error is the decoded union."""
    try:
        result = call(*args, **kwargs)
    except dropbox.exceptions.ApiError as e:
        return e
    raise Failed(f"{call.__name__} succeeded ({result!r}) where an ApiError was expected")


class Ctx:
    """What the steps share."""
    dbx = None
    base = "/sdk-proof-" + secrets.token_hex(4)
    small = b"Hello, Dropbox!\nThis is the small file.\n"
    small_md = None
    large_path = None
    large = None
    large_md = None


C = Ctx()


@step
def account_through_refresh_token():
    before = control("GET", "/stats")["tokens_issued"]
    account = C.dbx.users_get_current_account()
    check(isinstance(account, dropbox.users.FullAccount), f"not a FullAccount: {account!r}")
    check(len(account.account_id) == 40, f"account_id {account.account_id!r}")
    after = control("GET", "/stats")["tokens_issued"]
    check(after == before + 1, f"tokens_issued {before} -> {after}: the SDK should refresh once at start")
    return f"{account.name.display_name} {account.account_id}; token issued through the refresh token"


@step
def upload_small():
    path = C.base + "/Docs/Small.txt"
    md = C.dbx.files_upload(C.small, path)
    check(isinstance(md, dropbox.files.FileMetadata), repr(md))
    check(md.size == len(C.small), f"size {md.size}")
    check(md.content_hash == content_hash(C.small), f"content_hash {md.content_hash}")
    check(md.path_display == path and md.path_lower == path.lower(), f"{md.path_display} {md.path_lower}")
    check(md.name == "Small.txt" and md.id.startswith("id:") and len(md.rev) >= 9, repr(md))
    C.small_md = md
    return f"{md.path_display} rev {md.rev} {md.content_hash[:16]}..."


@step
def upload_large_through_session():
    C.large_path = os.path.join(opts.scratch, "large.bin")
    with open(C.large_path, "wb") as f:
        f.write(os.urandom(20 * MiB + 12345))
    with open(C.large_path, "rb") as f:
        C.large = f.read()
    chunk = 8 * MiB
    start = C.dbx.files_upload_session_start(b"")
    offset, appends = 0, 0
    while len(C.large) - offset > chunk:
        cursor = dropbox.files.UploadSessionCursor(start.session_id, offset)
        C.dbx.files_upload_session_append_v2(C.large[offset:offset + chunk], cursor)
        offset += chunk
        appends += 1
    cursor = dropbox.files.UploadSessionCursor(start.session_id, offset)
    commit = dropbox.files.CommitInfo(C.base + "/Docs/Large.bin")
    md = C.dbx.files_upload_session_finish(C.large[offset:], cursor, commit)
    check(md.size == len(C.large), f"size {md.size} != {len(C.large)}")
    check(md.content_hash == content_hash(C.large), "content_hash differs from the local one")
    check(control("GET", "/stats")["open_sessions"] == 0, "the finished session is still open")
    C.large_md = md
    return f"{md.size} bytes in start + {appends} appends of 8 MiB + finish with {len(C.large) - offset}"


@step
def get_metadata_of_both():
    for want, data in ((C.small_md, C.small), (C.large_md, C.large)):
        md = C.dbx.files_get_metadata(want.path_display)
        check(isinstance(md, dropbox.files.FileMetadata), repr(md))
        check(md.size == len(data) and md.content_hash == content_hash(data),
              f"{md.size} {md.content_hash}")
        check((md.id, md.rev) == (want.id, want.rev), "id or rev changed")
    upper = C.dbx.files_get_metadata(C.small_md.path_display.upper())
    check(upper.id == C.small_md.id and upper.path_display == C.small_md.path_display,
          f"case-insensitive lookup gave {upper.path_display}")
    folder = C.dbx.files_get_metadata(C.base + "/docs")
    check(isinstance(folder, dropbox.files.FolderMetadata) and folder.path_display == C.base + "/Docs",
          f"implicit parent folder: {folder!r}")
    by_id = C.dbx.files_get_metadata(C.small_md.id)
    check(by_id.path_lower == C.small_md.path_lower, "lookup by id")
    return "sizes and content hashes match; lookups by other case and by id work"


@step
def download_whole_and_ranges():
    md, resp = C.dbx.files_download(C.small_md.path_display)
    check(resp.content == C.small and md.rev == C.small_md.rev, "small file whole")
    cases = [((2, 6), C.small[2:7]), ((None, 5), C.small[-5:]), ((30, None), C.small[30:]),
             ((10, 10_000), C.small[10:])]
    for rng, want in cases:
        md, resp = C.dbx.files_download(C.small_md.path_display,
                                        extra_headers=dropbox.build_range_headers(rng))
        check(resp.status_code == 206, f"{rng}: HTTP {resp.status_code}")
        check(resp.content == want, f"{rng}: got {resp.content!r}")
        check(resp.headers["Content-Range"].endswith(f"/{len(C.small)}"), resp.headers["Content-Range"])
        check(md.size == len(C.small), "Dropbox-API-Result of a range names the whole file")
    start = 9 * MiB + 7
    md, resp = C.dbx.files_download(C.large_md.path_display,
                                    extra_headers=dropbox.build_range_headers((start, None)))
    check(resp.status_code == 206 and resp.content == C.large[start:], "large file from an offset")
    local = os.path.join(opts.scratch, "large.copy")
    md = C.dbx.files_download_to_file(local, C.large_md.path_display)
    with open(local, "rb") as f:
        got = f.read()
    check(content_hash(got) == C.large_md.content_hash and md.size == len(C.large), "large file whole")
    return "whole, bytes=a-b, bytes=-n, bytes=a-, end past EOF (clipped), large from offset, large whole"


@step
def temporary_link():
    import ssl
    result = C.dbx.files_get_temporary_link(C.small_md.path_display)
    check(isinstance(result.link, str) and result.link.startswith("https://"), f"link {result.link!r}")
    check(result.metadata.content_hash == C.small_md.content_hash, "metadata of the linked file")
    context = ssl.create_default_context(cafile=opts.ca)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    # A plain client, without the token, gets the bytes.
    with opener.open(result.link, timeout=30) as answer:
        check(answer.read() == C.small, "the link serves the file")
    folder = api_error(C.dbx.files_get_temporary_link, C.base)
    check(folder.error.is_path() and folder.error.get_path().is_not_file(), f"a folder: {folder.error!r}")
    missing = api_error(C.dbx.files_get_temporary_link, C.base + "/no-such-file")
    check(missing.error.is_path() and missing.error.get_path().is_not_found(), f"missing: {missing.error!r}")
    control("POST", "/expire_links")
    try:
        opener.open(result.link, timeout=30)
        raise Failed("an expired link still served the file")
    except urllib.error.HTTPError as e:
        check(e.code == 410, f"an expired link: HTTP {e.code}")
    return "a link a plain client fetches; folder -> path/not_file; missing -> path/not_found; expired -> 410"


@step
def range_past_the_end():
    e = api_error(C.dbx.files_download, C.small_md.path_display,
                  extra_headers=dropbox.build_range_headers((len(C.small), None)))
    # range/not_satisfiable is not in the public spec: the SDK sees "other".
    check(isinstance(e.error, dropbox.files.DownloadError) and e.error.is_other(), repr(e.error))
    res = C.dbx.request_json_string_with_retry(
        "content", "files/download", "download", json.dumps({"path": C.small_md.path_display}), "user",
        None, extra_headers={"Range": f"bytes={len(C.small)}-"})
    summary = json.loads(res.obj_result)["error_summary"]
    check(type(res).__name__ == "RouteErrorResult" and summary.startswith("range/not_satisfiable/"),
          summary)
    return f"409 {summary}, decoded by the SDK as {e.error!r}"


def list_all(path, recursive, limit):
    result = C.dbx.files_list_folder(path, recursive=recursive, limit=limit)
    pages = [result.entries]
    while result.has_more:
        result = C.dbx.files_list_folder_continue(result.cursor)
        pages.append(result.entries)
    return pages


@step
def list_folder_paginated():
    folder = C.base + "/List"
    names = [f"/File {i:02}.txt" for i in range(25)]
    for name in names:
        C.dbx.files_upload(name.encode(), folder + name)
    for i in range(5):
        C.dbx.files_upload(b"sub", f"{folder}/Sub/g{i}.txt")
    details = []
    for recursive in (False, True):
        pages = list_all(folder, recursive, 10)
        entries = [e for page in pages for e in page]
        paths = [e.path_lower for e in entries]
        want = {(folder + n).lower() for n in names} | {(folder + "/sub").lower()}
        if recursive:
            want |= {f"{folder}/sub/g{i}.txt".lower() for i in range(5)}
            want.add(folder.lower())  # a recursive listing includes the folder itself
        check(len(paths) == len(set(paths)), f"duplicates: {sorted(paths)}")
        check(set(paths) == want, f"missing {sorted(want - set(paths))}, extra {sorted(set(paths) - want)}")
        check(all(len(p) <= 10 for p in pages) and len(pages) >= 3, f"page sizes {[len(p) for p in pages]}")
        folders = (folder.lower(), f"{folder}/sub".lower())
        for e in entries:
            expected = dropbox.files.FolderMetadata if e.path_lower in folders else dropbox.files.FileMetadata
            check(isinstance(e, expected), f"{e.path_lower} is a {type(e).__name__}")
        order = "sorted" if paths == sorted(paths) else "unordered"
        details.append(f"{'recursive' if recursive else 'one level'}: {len(entries)} entries in "
                       f"pages of {[len(p) for p in pages]}, {order}")
    root = [e.path_lower for page in list_all("", False, 2000) for e in page]
    check(C.base.lower() in root, f"root listing lacks {C.base}")
    return "; ".join(details)


@step
def copy_v2():
    dst = C.base + "/Copies/Small copy.txt"
    result = C.dbx.files_copy_v2(C.small_md.path_display, dst)
    md = result.metadata
    check(isinstance(md, dropbox.files.FileMetadata), repr(md))
    check(md.path_display == dst and md.content_hash == C.small_md.content_hash and md.id != C.small_md.id,
          repr(md))
    _, resp = C.dbx.files_download(dst)
    check(resp.content == C.small, "copied content")
    e = api_error(C.dbx.files_copy_v2, C.small_md.path_display, dst)
    check(e.error.is_to() and e.error.get_to().is_conflict() and e.error.get_to().get_conflict().is_file(),
          repr(e.error))
    e = api_error(C.dbx.files_copy_v2, C.base + "/nothing-here", C.base + "/x")
    check(e.error.is_from_lookup() and e.error.get_from_lookup().is_not_found(), repr(e.error))
    folder = C.dbx.files_copy_v2(C.base + "/List/Sub", C.base + "/Copies/Sub2").metadata
    check(isinstance(folder, dropbox.files.FolderMetadata), repr(folder))
    copied = [e.name for page in list_all(C.base + "/Copies/Sub2", False, 100) for e in page]
    check(sorted(copied) == [f"g{i}.txt" for i in range(5)], f"folder copy holds {copied}")
    return (f"file copied to {dst}; to existing -> to/conflict/file; "
            "from missing -> from_lookup/not_found; folder copied")


@step
def delete_v2():
    dst = C.base + "/Copies/Small copy.txt"
    md = C.dbx.files_delete_v2(dst).metadata
    check(isinstance(md, dropbox.files.FileMetadata) and md.path_display == dst, repr(md))
    e = api_error(C.dbx.files_get_metadata, dst)
    check(e.error.is_path() and e.error.get_path().is_not_found(), repr(e.error))
    check(isinstance(C.dbx.files_get_metadata(C.base + "/Copies"), dropbox.files.FolderMetadata),
          "deleting a file must leave its folder")
    e = api_error(C.dbx.files_delete_v2, dst)
    check(e.error.is_path_lookup() and e.error.get_path_lookup().is_not_found(), repr(e.error))
    md = C.dbx.files_delete_v2(C.base + "/List/Sub").metadata
    check(isinstance(md, dropbox.files.FolderMetadata), repr(md))
    e = api_error(C.dbx.files_get_metadata, C.base + "/List/Sub/g1.txt")
    check(e.error.get_path().is_not_found(), "a folder delete is recursive")
    return "file deleted (folder kept), missing -> path_lookup/not_found, folder deleted recursively"


@step
def delete_batch():
    folder = C.base + "/Batch"
    kept = C.dbx.files_upload(b"kept", folder + "/Sub/kept.txt")
    mds = [C.dbx.files_upload(f"batch {i}".encode(), f"{folder}/b{i}.txt") for i in range(3)]
    stale = C.dbx.files_upload(b"first", folder + "/stale.txt")
    C.dbx.files_upload(b"second", folder + "/stale.txt", mode=dropbox.files.WriteMode.overwrite)
    Arg = dropbox.files.DeleteArg
    entries = ([Arg(md.path_display, parent_rev=md.rev) for md in mds]
               + [Arg(folder + "/missing.txt"),
                  Arg(folder + "/stale.txt", parent_rev=stale.rev),
                  Arg(folder + "/Sub", parent_rev=mds[0].rev)])
    launch = C.dbx.files_delete_batch(entries)
    check(launch.is_async_job_id(), f"launch {launch!r}")
    job = launch.get_async_job_id()
    statuses = []
    for _ in range(20):
        status = C.dbx.files_delete_batch_check(job)
        statuses.append("complete" if status.is_complete() else
                        "in_progress" if status.is_in_progress() else repr(status))
        if not status.is_in_progress():
            break
        time.sleep(0.05)
    check(statuses[0] == "in_progress" and statuses[-1] == "complete", f"statuses {statuses}")
    results = status.get_complete().entries
    check(len(results) == len(entries), f"{len(results)} results for {len(entries)} entries")
    for md, result in zip(mds, results[:3]):
        check(result.is_success(), repr(result))
        meta = result.get_success().metadata
        check(isinstance(meta, dropbox.files.FileMetadata) and meta.id == md.id, repr(meta))
    missing, stale_result, folder_result = results[3:]
    check(missing.is_failure() and missing.get_failure().is_path_lookup()
          and missing.get_failure().get_path_lookup().is_not_found(), repr(missing))
    check(stale_result.is_failure() and stale_result.get_failure().is_path_write()
          and stale_result.get_failure().get_path_write().is_conflict(), repr(stale_result))
    check(folder_result.is_failure() and folder_result.get_failure().is_path_write(), repr(folder_result))
    for md in mds:
        e = api_error(C.dbx.files_get_metadata, md.path_display)
        check(e.error.get_path().is_not_found(), f"{md.path_display} is still there")
    check(C.dbx.files_get_metadata(folder + "/stale.txt").size == len(b"second"),
          "a stale parent_rev must keep the newer file")
    check(C.dbx.files_get_metadata(kept.path_display).id == kept.id,
          "a folder entry with a file's parent_rev must keep the folder")
    e = api_error(C.dbx.files_delete_batch_check, "dbjid:" + "A" * 86)
    check(e.error.is_invalid_async_job_id(), repr(e.error))
    return (f"async job {job[:12]}... checked {' -> '.join(statuses)}; 3 deleted, missing -> "
            "path_lookup/not_found, stale parent_rev and folder -> path_write/conflict; "
            "unknown job -> invalid_async_job_id")


@step
def not_found():
    e = api_error(C.dbx.files_get_metadata, C.base + "/missing.txt")
    check(e.error.is_path() and e.error.get_path().is_not_found(), repr(e.error))
    e = api_error(C.dbx.files_download, C.base + "/missing.txt")
    check(isinstance(e.error, dropbox.files.DownloadError) and e.error.get_path().is_not_found(),
          repr(e.error))
    e = api_error(C.dbx.files_list_folder, C.base + "/missing")
    check(e.error.is_path() and e.error.get_path().is_not_found(), repr(e.error))
    e = api_error(C.dbx.files_list_folder, C.small_md.path_display)
    check(e.error.get_path().is_not_folder(), repr(e.error))
    e = api_error(C.dbx.files_download, C.base + "/Docs")
    check(e.error.get_path().is_not_file(), repr(e.error))
    return ("get_metadata, download, list_folder: not_found; list_folder of a file: not_folder; "
            "download of a folder: not_file")


@step
def conflicts():
    path = C.small_md.path_display
    e = api_error(C.dbx.files_upload, b"different content", path)
    reason = e.error.get_path().reason
    check(e.error.is_path() and reason.is_conflict() and reason.get_conflict().is_file(), repr(e.error))
    same = C.dbx.files_upload(C.small, path)  # identical content: no conflict, nothing changes
    check(same.rev == C.small_md.rev, f"identical add changed the rev {C.small_md.rev} -> {same.rev}")
    e = api_error(C.dbx.files_upload, C.small, path, strict_conflict=True)
    check(e.error.get_path().reason.get_conflict().is_file(), "strict_conflict")
    e = api_error(C.dbx.files_upload, b"x", C.base + "/Docs")
    check(e.error.get_path().reason.get_conflict().is_folder(), repr(e.error))
    e = api_error(C.dbx.files_upload, b"x", path + "/under-a-file")
    check(e.error.get_path().reason.get_conflict().is_file_ancestor(), repr(e.error))
    renamed = C.dbx.files_upload(b"renamed", path, autorename=True)
    check(renamed.name == "Small (1).txt", renamed.name)
    new = C.dbx.files_upload(b"overwritten", path, mode=dropbox.files.WriteMode.overwrite)
    check(new.rev != C.small_md.rev and new.size == 11 and new.id == C.small_md.id, repr(new))
    stale = api_error(C.dbx.files_upload, b"update", path,
                      mode=dropbox.files.WriteMode.update(C.small_md.rev))
    check(stale.error.get_path().reason.get_conflict().is_file(), "update with a stale rev")
    C.small_md = C.dbx.files_upload(C.small, path, mode=dropbox.files.WriteMode.update(new.rev))
    e = api_error(C.dbx.files_create_folder_v2, C.base + "/docs")
    check(e.error.get_path().get_conflict().is_folder(), repr(e.error))
    made = C.dbx.files_create_folder_v2(C.base + "/Made/Deep").metadata
    check(isinstance(made, dropbox.files.FolderMetadata) and made.path_display == C.base + "/Made/Deep",
          repr(made))
    return ("add onto a file -> path/conflict/file (identical content is no conflict unless strict), "
            "onto a folder -> conflict/folder, under a file -> conflict/file_ancestor, autorename, "
            "overwrite, update(rev), create_folder_v2")


@step
def malformed_and_disallowed_paths():
    e = api_error(C.dbx.files_get_metadata, C.base + "/Docs/")
    check(e.error.get_path().is_malformed_path(), repr(e.error))
    e = api_error(C.dbx.files_get_metadata, C.base + "//Docs")
    check(e.error.get_path().is_malformed_path(), repr(e.error))
    e = api_error(C.dbx.files_upload, b"x", C.base + "/trailing space ")
    check(e.error.get_path().reason.is_malformed_path(), repr(e.error))
    e = api_error(C.dbx.files_upload, b"x", C.base + "/.DS_Store")
    check(e.error.get_path().reason.is_disallowed_name(), repr(e.error))
    try:
        C.dbx.files_list_folder("/")
        raise Failed("list_folder('/') succeeded")
    except dropbox.exceptions.BadInputError as bad:
        check("empty string" in bad.message, bad.message)
    return "trailing '/', '//', trailing space -> malformed_path; .DS_Store -> disallowed_name; '/' -> 400"


@step
def non_ascii_names():
    path = C.base + "/Ünïcode ☃ ✓.txt"
    md = C.dbx.files_upload("snow ☃".encode(), path)
    check(md.path_display == path, md.path_display)
    again = C.dbx.files_get_metadata(path.lower())
    check(again.id == md.id, "case-insensitive non-ASCII lookup")
    got, resp = C.dbx.files_download(path.upper())
    check(resp.content == "snow ☃".encode() and got.name == "Ünïcode ☃ ✓.txt", got.name)
    return md.path_display


@step
def upload_session_errors():
    sid = C.dbx.files_upload_session_start(b"abc").session_id
    cursor = dropbox.files.UploadSessionCursor
    e = api_error(C.dbx.files_upload_session_append_v2, b"def", cursor(sid, 0))
    check(e.error.is_incorrect_offset() and e.error.get_incorrect_offset().correct_offset == 3,
          repr(e.error))
    C.dbx.files_upload_session_append_v2(b"def", cursor(sid, 3), close=True)
    e = api_error(C.dbx.files_upload_session_append_v2, b"ghi", cursor(sid, 6))
    check(e.error.is_closed(), repr(e.error))
    e = api_error(C.dbx.files_upload_session_append_v2, b"x", cursor("pid_upload_session:nope", 0))
    check(e.error.is_not_found(), repr(e.error))
    commit = dropbox.files.CommitInfo(C.base + "/Sessions/abcdef.txt")
    e = api_error(C.dbx.files_upload_session_finish, b"", cursor(sid, 5), commit)
    lookup = e.error.get_lookup_failed() if e.error.is_lookup_failed() else None
    check(lookup is not None and lookup.get_incorrect_offset().correct_offset == 6, repr(e.error))
    e = api_error(C.dbx.files_upload_session_finish, b"", cursor(sid, 6),
                  dropbox.files.CommitInfo(C.small_md.path_display))
    check(e.error.is_path() and e.error.get_path().get_conflict().is_file(), repr(e.error))
    md = C.dbx.files_upload_session_finish(b"", cursor(sid, 6), commit)
    check(md.size == 6 and md.content_hash == content_hash(b"abcdef"), repr(md))
    e = api_error(C.dbx.files_upload_session_finish, b"", cursor(sid, 6), commit)
    check(e.error.get_lookup_failed().is_not_found(), "a finished session is gone")
    unfinished = C.dbx.files_upload_session_start(b"never committed").session_id
    e = api_error(C.dbx.files_get_metadata, C.base + "/Sessions/never.txt")
    check(e.error.get_path().is_not_found() and unfinished, "an unfinished session commits nothing")
    return ("incorrect_offset (with correct_offset), closed, not_found, lookup_failed/*, "
            "path/conflict on finish (the session survives it)")


@step
def refresh_after_expiry():
    before = control("GET", "/stats")["tokens_issued"]
    control("POST", "/expire_tokens", {})
    md = C.dbx.files_get_metadata(C.small_md.path_display)
    check(md.id == C.small_md.id, "call after expiry")
    after = control("GET", "/stats")["tokens_issued"]
    check(after == before + 1, f"tokens_issued {before} -> {after}")
    return f"401 expired_access_token -> the SDK refreshed (tokens_issued {before} -> {after}) and retried"


@step
def rate_limit():
    endpoint = "/2/files/get_metadata"
    calls = lambda: control("GET", "/stats")["calls"].get(endpoint, 0)  # noqa: E731
    control("POST", "/fail", {"endpoint": endpoint, "count": 1, "status": 429,
                              "reason": "too_many_requests", "retry_after": 1})
    impatient = C.dbx.clone(max_retries_on_rate_limit=0)
    try:
        impatient.files_get_metadata(C.small_md.path_display)
        raise Failed("no RateLimitError")
    except dropbox.exceptions.RateLimitError as e:
        check(e.backoff == 1 and e.error.reason.is_too_many_requests(), repr(e))
    control("POST", "/fail", {"endpoint": endpoint, "count": 1, "status": 429,
                              "reason": "too_many_write_operations", "retry_after": 1})
    n, t = calls(), time.monotonic()
    md = C.dbx.files_get_metadata(C.small_md.path_display)
    waited = time.monotonic() - t
    check(md.id == C.small_md.id and waited >= 1.0, f"waited {waited:.2f} s")
    check(calls() == n + 2, f"calls {n} -> {calls()}")
    return (f"RateLimitError(backoff=1, too_many_requests); the default client waited {waited:.1f} s "
            "and retried")


@step
def server_error_retry():
    control("POST", "/fail", {"endpoint": "/2/files/list_folder", "count": 1, "status": 503})
    result = C.dbx.files_list_folder(C.base + "/Docs")
    check(len(result.entries) >= 2, repr(result))
    return "one 503 on list_folder; the SDK retried"


@step
def strict_schema():
    """Decodes raw answers strictly: no unknown fields or tags anywhere."""
    from stone.backends.python_rsrc import stone_serializers as ss
    f, u = dropbox.files, dropbox.users

    def raw(host, route, style, arg):
        return C.dbx.request_json_string_with_retry(host, route, style, json.dumps(arg), "user", None)

    def strict(validator, text):
        return ss.json_decode(validator, text, strict=True)

    checked = []
    for route, arg, validator in (
            ("files/get_metadata", {"path": C.small_md.path_display}, f.Metadata_validator),
            ("files/get_metadata", {"path": C.base + "/Docs"}, f.Metadata_validator),
            ("files/list_folder", {"path": C.base, "recursive": True}, f.ListFolderResult_validator),
            ("files/create_folder_v2", {"path": C.base + "/Strict"}, f.CreateFolderResult_validator),
            ("files/copy_v2", {"from_path": C.small_md.path_display, "to_path": C.base + "/Strict/c.txt"},
             f.RelocationResult_validator),
            ("files/delete_v2", {"path": C.base + "/Strict/c.txt"}, f.DeleteResult_validator)):
        res = raw("api", route, "rpc", arg)
        check(type(res).__name__ == "RouteResult", f"{route}: {res.obj_result}")
        strict(validator, res.obj_result)
        checked.append(route)
    strict(u.FullAccount_validator, C.dbx.request_json_string_with_retry(
        "api", "users/get_current_account", "rpc", "null", "user", None).obj_result)
    res = raw("content", "files/download", "download", {"path": C.small_md.path_display})
    res.http_resp.close()
    strict(f.FileMetadata_validator, res.obj_result)
    for route, arg, validator in (
            ("files/get_metadata", {"path": C.base + "/missing"}, f.GetMetadataError_validator),
            ("files/delete_v2", {"path": C.base + "/missing"}, f.DeleteError_validator),
            ("files/copy_v2", {"from_path": C.small_md.path_display, "to_path": C.small_md.path_display},
             f.RelocationError_validator),
            ("files/list_folder", {"path": C.small_md.path_display}, f.ListFolderError_validator)):
        res = raw("api", route, "rpc", arg)
        body = json.loads(res.obj_result)
        check(set(body) == {"error_summary", "error"}, f"{route} error body {body}")
        strict(validator, json.dumps(body["error"]))
        checked.append(route + " (error)")
    res = C.dbx.request_json_string_with_retry(
        "content", "files/upload", "upload", json.dumps({"path": C.small_md.path_display}), "user", b"zz")
    body = json.loads(res.obj_result)
    strict(f.UploadError_validator, json.dumps(body["error"]))
    check(body["error_summary"].startswith("path/conflict/file/"), body["error_summary"])
    return "strict decode of " + ", ".join(checked) + ", account, download result, upload error"


def main():
    global opts, dropbox
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--api", required=True, help="HOST:PORT of the fake's API host")
    p.add_argument("--content", required=True, help="HOST:PORT of the fake's content host")
    p.add_argument("--ca", required=True, help="the CA certificate the fake's certificate is signed with")
    p.add_argument("--app-key", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--refresh-token", required=True)
    p.add_argument("--control", required=True, help="http://127.0.0.1:PORT of the control port")
    p.add_argument("--scratch", required=True, help="a directory for local files")
    opts = p.parse_args()
    os.makedirs(opts.scratch, exist_ok=True)
    # The SDK reads its hosts when it is imported (dropbox/session.py); the
    # token refresh goes to DROPBOX_API_HOST too. requests lets
    # REQUESTS_CA_BUNDLE (set machine-wide here) override a session's CA, so
    # it is pointed at the test CA as well as passed as ca_certs.
    os.environ["DROPBOX_API_HOST"] = opts.api
    os.environ["DROPBOX_API_CONTENT_HOST"] = opts.content
    os.environ["DROPBOX_API_NOTIFY_HOST"] = opts.api
    os.environ["DROPBOX_WEB_HOST"] = opts.api
    os.environ["REQUESTS_CA_BUNDLE"] = opts.ca
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    import dropbox as sdk
    dropbox = sdk
    C.dbx = dropbox.Dropbox(oauth2_refresh_token=opts.refresh_token, app_key=opts.app_key,
                            app_secret=opts.app_secret, ca_certs=opts.ca)
    results = []
    for fn in STEPS:
        started = time.monotonic()
        try:
            detail, ok = fn(), True
        except Exception as e:  # the step fails and says why; later steps still run
            detail, ok = f"{type(e).__name__}: {e}", False
            if not isinstance(e, Failed):
                detail += " | " + " < ".join(
                    f"{fr.name}:{fr.lineno}" for fr in reversed(traceback.extract_tb(e.__traceback__)))
        results.append({"name": fn.__name__, "ok": ok, "detail": detail,
                        "seconds": round(time.monotonic() - started, 2)})
    ok = all(r["ok"] for r in results)
    report = {"sdk": dropbox.__version__, "steps": results, "ok": ok}
    print(json.dumps(report, indent=1, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
