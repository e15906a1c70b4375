"""A Django storage on Wharf: ``wharf.django.WharfStorage``.

A site on django-storages switches by changing the class name alone: the
``OPTIONS`` its ``S3Storage`` or ``DropboxStorage`` takes today are taken
as they are (the S3 and Dropbox plugins declare django-storages' option
names), and the storage behaves as django-storages' does where sites rely
on it. Or name a remote of the Wharf config::

    STORAGES = {"default": {"BACKEND": "wharf.django.WharfStorage",
                            "OPTIONS": {"remote": "r2"}}}

Options of the storage itself (the rest go to the plugin):

``remote``
    A remote of the Wharf config file (``config``: its path).
``plugin``
    The plugin for the other options (``s3``, ``dropbox``, ``fs``…);
    without it, the one plugin that takes them all. With no options at all,
    the ``fs`` plugin on ``MEDIA_ROOT``.
``location``
    A prefix for every name.
``file_overwrite``
    Whether saving over an existing name replaces it (True, as
    django-storages' S3Storage) or finds a free name (as its
    DropboxStorage does with its default ``write_mode``).
``querystring_auth``, ``querystring_expire``, ``custom_domain``, ``url_protocol``
    How ``url()`` makes URLs, as django-storages does.
``object_parameters``
    ``ContentType`` and ``Metadata`` of new objects.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import threading
import warnings
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri
from django.utils.timezone import make_naive

import wharf
from wharf import _native
from wharf.errors import AlreadyExists, Unsupported, WharfWarning

# The storage's own options, with django-storages' defaults.
_STORAGE_DEFAULTS: dict[str, Any] = {
    "location": "",
    "querystring_auth": True,
    "querystring_expire": 3600,
    "custom_domain": None,
    "url_protocol": "https:",
    "object_parameters": None,
    "default_content_type": "application/octet-stream",
}

# django-storages settings that have no effect under Wharf, with the value
# at which that makes no difference (None: any value is fine).
_NO_DIFFERENCE: dict[str, tuple[Any, ...] | None] = {
    # S3Storage
    "signature_version": (None, "s3v4", "v4"),
    "addressing_style_auto": None,
    "file_name_charset": ("utf-8", "utf8"),
    "gzip": (False,),
    "gzip_content_types": None,
    "max_memory_size": None,  # Wharf streams every write; nothing spools.
    "use_threads": (True,),
    "use_ssl": (True,),
    "session_profile": (None, ""),
    "cloudfront_key_id": (None, ""),
    "cloudfront_key": (None, ""),
    "cloudfront_signer": (None,),
    "proxies": (None, {}),
    "transfer_config": (None,),
    "client_config": (None,),
    # DropboxStorage
    "timeout": None,  # each call is bounded by the host (call_timeout_secs)
}

# Why each has none, for the one warning.
_WHY = {
    "gzip": "objects are stored as given (compress with a compress remote instead)",
    "use_ssl": "the endpoint URL's scheme decides (http:// or https://)",
    "session_profile": "give access_key and secret_key",
    "cloudfront_key_id": "CloudFront signed URLs are not made",
    "cloudfront_key": "CloudFront signed URLs are not made",
    "proxies": "requests go straight to the endpoint",
}

# Names only django-storages' DropboxStorage takes: options with one of
# them came from a Dropbox site, whose default is not to overwrite.
_DROPBOX_ONLY = {"oauth2_access_token", "oauth2_refresh_token", "root_path", "app_key", "app_secret"}


def _clean(name: Any) -> str:
    """A name as django-storages cleans it: POSIX separators, ``..``
    resolved, a trailing slash kept, ``""`` for the root."""
    name = str(name).replace("\\", "/")
    cleaned = posixpath.normpath(name)
    if name.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return "" if cleaned == "." else cleaned


def _join(location: str, name: str) -> str:
    """``name`` under ``location``; a name that would leave it is refused."""
    base = location.strip("/")
    joined = posixpath.normpath(posixpath.join("/" + base, name))
    if name.endswith("/") and not joined.endswith("/"):
        joined += "/"
    inside = joined == "/" + base or joined.startswith(("/" + base + "/") if base else "/")
    if not inside or joined.startswith("//"):
        raise SuspiciousOperation(f"Attempted access to '{name}' denied: it is outside the storage's location")
    return joined.lstrip("/")


class WharfFile(File):
    """A stored file, open for reading: streamed and seekable."""

    def __init__(self, obj: wharf.ObjectFile, name: str, mode: str):
        super().__init__(obj, name)
        self.mode = mode

    @property
    def size(self) -> int:  # known at open, with no further call
        return self.file.size


@deconstructible(path="wharf.django.WharfStorage")
class WharfStorage(Storage):
    """Django's storage API on a Wharf remote."""

    def __init__(self, **options: Any):
        own = {name: options.pop(name, default) for name, default in _STORAGE_DEFAULTS.items()}
        self.location: str = own["location"] or ""
        if self.location.startswith("/"):
            raise ImproperlyConfigured(
                f"WharfStorage: location cannot begin with a slash; use {self.location.lstrip('/')!r}"
            )
        self.querystring_auth: bool = own["querystring_auth"]
        self.querystring_expire: int = int(own["querystring_expire"])
        self.custom_domain: str | None = own["custom_domain"]
        self.url_protocol: str = own["url_protocol"] or "https:"
        self.default_content_type: str = own["default_content_type"]
        parameters = dict(own["object_parameters"] or {})
        self._content_type = parameters.pop("ContentType", None)
        self._metadata = dict(parameters.pop("Metadata", {}) or {})

        self._remote_name: str | None = options.pop("remote", None)
        self._plugin: str | None = options.pop("plugin", None)
        self._config: str | None = options.pop("config", None)
        write_mode = options.pop("write_mode", None)
        file_overwrite = options.pop("file_overwrite", None)
        if file_overwrite is None:
            if write_mode is not None:
                file_overwrite = write_mode == "overwrite"
            else:
                # As the django-storages storage these options came from.
                file_overwrite = not (_DROPBOX_ONLY & set(options))
        self.file_overwrite: bool = bool(file_overwrite)

        unsupported = []
        if write_mode not in (None, "add", "overwrite"):
            unsupported.append(f"write_mode={write_mode!r} (saves either add or overwrite)")
        if parameters:
            unsupported.append(
                "object_parameters " + ", ".join(sorted(parameters)) + " (only ContentType and Metadata are stored)"
            )
        if options.get("addressing_style") == "auto":
            options.pop("addressing_style")
        for name, harmless in _NO_DIFFERENCE.items():
            if name not in options:
                continue
            value = options.pop(name)
            if harmless is None or value in harmless:
                continue
            why = _WHY.get(name, "Wharf does not support it")
            unsupported.append(f"{name}={value!r} ({why})")
        verify = options.pop("verify", None)
        if verify is False:
            options["tls_insecure_skip_verify"] = "true"
        elif isinstance(verify, str):
            options["tls_ca_file"] = verify
        if unsupported:
            warnings.warn(
                "WharfStorage leaves out django-storages settings it does not support: "
                + "; ".join(unsupported),
                WharfWarning,
                stacklevel=2,
            )
        self._options = {k: v for k, v in options.items() if v is not None}
        self._remote: wharf.Remote | None = None
        self._opened_in: int | None = None
        self._opening = threading.Lock()
        # Whether the backend refuses a write onto an existing name itself
        # (None: not known until the first save without file_overwrite).
        self._create_only: bool | None = None

    # -- the remote, opened on first use (after a pre-forking server forks)

    @property
    def remote(self) -> wharf.Remote:
        # A remote opened before a fork (a pre-forking server's master that
        # touched the storage) holds connections and threads of the parent:
        # a child opens its own.
        if self._remote is None or self._opened_in != os.getpid():
            with self._opening:
                if self._remote is None or self._opened_in != os.getpid():
                    self._remote = self._open_remote()
                    self._opened_in = os.getpid()
        return self._remote

    def _open_remote(self) -> wharf.Remote:
        if self._remote_name is not None:
            if self._options:
                raise ImproperlyConfigured(
                    f"WharfStorage: remote={self._remote_name!r} is configured in the Wharf config; "
                    f"move {', '.join(sorted(self._options))} there, or give plugin= instead of remote="
                )
            return wharf.Remote(self._remote_name, config=self._config)
        options = dict(self._options)
        plugin = self._plugin
        if plugin is None and not options:
            # As Django's FileSystemStorage: MEDIA_ROOT, published at MEDIA_URL.
            plugin, options = "fs", {"root": str(settings.MEDIA_ROOT)}
            if settings.MEDIA_URL:
                options["base_url"] = str(settings.MEDIA_URL)
        if plugin is None:
            candidates = _native.plugins_accepting(sorted(options), self._config)
            if len(candidates) != 1:
                which = ", ".join(candidates) if candidates else "no plugin"
                raise ImproperlyConfigured(
                    f"WharfStorage: {which} takes the options {', '.join(sorted(options))}; "
                    "say which backend with plugin='s3' (or 'dropbox', 'fs', a .wasm path), "
                    "or name a remote of the Wharf config with remote='NAME'"
                )
            plugin = candidates[0]
        return wharf.Remote.from_options(plugin, options, name="django", config=self._config)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_remote"] = None
        state.pop("_opening", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._opening = threading.Lock()

    # -- names

    def _key(self, name: Any) -> str:
        return _join(self.location, _clean(name))

    # -- Django's storage API

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(c in mode for c in "wa+"):
            raise ValueError(
                f"WharfStorage opens files for reading only (mode {mode!r}); save new content "
                "with storage.save(name, content)"
            )
        key = self._key(name)
        return WharfFile(self.remote.open(key), name, mode)

    def _save(self, name: str, content: Any) -> str:
        content_type = (
            self._content_type
            or getattr(content, "content_type", None)
            or mimetypes.guess_type(_clean(name))[0]
            or self.default_content_type
        )
        size = getattr(content, "size", None)
        # Without file_overwrite, the write only creates: a name taken
        # between get_available_name's exists() and here (another request
        # saving the same name) is found by the backend itself, and the
        # next free name tried, instead of one upload replacing the other.
        for _attempt in range(100):
            cleaned = _clean(name)
            try:
                self._put(cleaned, content, content_type, size, only_new=not self.file_overwrite)
                return cleaned
            except AlreadyExists:
                name = self.get_available_name(cleaned)
        raise FileExistsError(f"WharfStorage: no free name found near {name!r} after 100 tries")

    def _put(self, name: str, content: Any, content_type: str, size: int | None, only_new: bool) -> None:
        if only_new and self._create_only is not False:
            try:
                self._send(name, content, content_type, size, only_new=True)
                self._create_only = True
                return
            except Unsupported as why:
                # The backend cannot refuse an existing name itself (FTP, an
                # S3-compatible that ignores If-None-Match; it says so before
                # reading anything): say so once, and keep
                # get_available_name's check, as django-storages does.
                self._create_only = False
                warnings.warn(
                    f"WharfStorage: {why}; with file_overwrite off, two requests saving one name "
                    "at the same moment may now replace each other's file",
                    WharfWarning,
                    stacklevel=3,
                )
        self._send(name, content, content_type, size, only_new=False)

    def _send(self, name: str, content: Any, content_type: str, size: int | None, only_new: bool) -> None:
        if hasattr(content, "seekable") and content.seekable():
            content.seek(0)
        if hasattr(content, "chunks"):
            # Django's File reads 64 KiB at a time by default: a 1 GiB
            # upload would then cross into the library 16,384 times.
            try:
                chunks = content.chunks(chunk_size=wharf.CHUNK_SIZE)
            except TypeError:
                chunks = content.chunks()
        else:
            chunks = iter(lambda: content.read(wharf.CHUNK_SIZE), b"")
        self.remote.put(
            self._key(name),
            (c.encode() if isinstance(c, str) else c for c in chunks),
            content_type=content_type,
            metadata=self._metadata,
            size=size,
            only_new=only_new,
        )

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        key = self._key(name)
        if key.endswith("/") or not key:
            # A "directory": object stores have none to delete.
            return
        self.remote.delete(key)

    def exists(self, name: str) -> bool:
        key = self._key(name)
        if not key or key.endswith("/"):
            return False
        return self.remote.exists(key)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = self._key(path)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        directories: list[str] = []
        files: list[str] = []
        for page in self.remote.list(prefix, "/"):
            for entry in page:
                if isinstance(entry, wharf.Prefix):
                    directories.append(entry.prefix[len(prefix) :].rstrip("/"))
                elif entry.key != prefix:
                    files.append(entry.key[len(prefix) :])
        return directories, files

    def size(self, name: str) -> int:
        return self.remote.stat(self._key(name)).size

    def get_modified_time(self, name: str):
        modified = self.remote.stat(self._key(name)).last_modified
        if modified is None:
            raise NotImplementedError(
                f"the backend of remote '{self.remote.name}' does not record when objects change"
            )
        return modified if settings.USE_TZ else make_naive(modified)

    def url(self, name: str, parameters: dict | None = None, expire: int | None = None, http_method: str | None = None) -> str:
        key = self._key(name)
        if self.custom_domain:
            return f"{self.url_protocol}//{self.custom_domain}/{filepath_to_uri(key)}"
        try:
            url = self.remote.url(
                key,
                expires=self.querystring_expire if expire is None else expire,
                method=http_method or "GET",
            )
        except Unsupported as error:
            raise NotImplementedError(
                f"{error}. Serve the file through a view that streams storage.open(name), "
                "or set custom_domain to where the files are published"
            ) from error
        if not self.querystring_auth:
            # A public bucket's address: the signed URL without its
            # signature, which S3 carries in the query string alone.
            url = url.split("?", 1)[0]
        return url

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = _clean(name)
        if self.file_overwrite:
            return self._truncated(name, max_length)
        return super().get_available_name(name, max_length)

    def _truncated(self, name: str, max_length: int | None) -> str:
        from django.core.files.utils import validate_file_name

        validate_file_name(name, allow_relative_path=True)
        if max_length is None or len(name) <= max_length:
            return name
        directory, file_name = posixpath.split(name)
        root, ext = posixpath.splitext(file_name)
        cut = len(name) - max_length
        root = root[:-cut]
        if not root:
            raise SuspiciousOperation(
                f'Storage tried to truncate away entire filename "{name}". Please make sure that '
                "the corresponding file field allows sufficient \"max_length\"."
            )
        return posixpath.join(directory, root + ext)


__all__ = ["WharfFile", "WharfStorage"]
