"""wharf.django.WharfStorage's handling of a django-storages OPTIONS dict,
without a site: which backend it picks, and the one warning for settings
Wharf does not support."""

import warnings

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(USE_TZ=True, MEDIA_ROOT="/tmp/wharf-test-media", MEDIA_URL="/media/")
    django.setup()

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from wharf import WharfWarning  # noqa: E402
from wharf.django import WharfStorage  # noqa: E402

S3_SITE = {
    "access_key": "AK",
    "secret_key": "SK",
    "bucket_name": "media",
    "endpoint_url": "http://127.0.0.1:9",
}


def made(**options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        storage = WharfStorage(**options)
        storage.remote  # opens the remote, as the first request would
    return storage, [w for w in caught if issubclass(w.category, WharfWarning)]


def test_django_storages_s3_options_pick_the_s3_plugin_without_a_word():
    storage, warned = made(**S3_SITE, signature_version="s3v4", addressing_style="auto", location="site")
    assert storage.remote.plugin == "s3"
    assert storage.location == "site" and storage.file_overwrite is True
    assert warned == []


def test_dropbox_options_pick_dropbox_and_keep_both_files_by_default():
    storage, _ = made(app_key="k", app_secret="s", oauth2_refresh_token="r", root_path="/site")
    assert storage.remote.plugin == "dropbox"
    assert storage.file_overwrite is False
    storage, _ = made(app_key="k", app_secret="s", oauth2_refresh_token="r", write_mode="overwrite")
    assert storage.file_overwrite is True


def test_settings_wharf_does_not_support_are_named_in_one_warning():
    _, warned = made(
        **S3_SITE,
        gzip=True,
        session_profile="dev",
        object_parameters={"CacheControl": "max-age=60", "ContentType": "image/jpeg"},
    )
    assert len(warned) == 1, [str(w.message) for w in warned]
    message = str(warned[0].message)
    for name in ("gzip=True", "session_profile", "object_parameters CacheControl ("):
        assert name in message, message


def test_options_no_plugin_takes_say_what_to_do():
    with pytest.raises(ImproperlyConfigured, match="plugin="):
        made(bucket_name="media", root_path="/x")


def test_no_options_is_media_root_published_at_media_url():
    storage, _ = made()
    assert storage.remote.plugin == "fs"


def test_it_deconstructs_to_what_it_was_given():
    path, args, kwargs = WharfStorage(remote="r2", location="avatars").deconstruct()
    assert path == "wharf.django.WharfStorage"
    assert kwargs == {"remote": "r2", "location": "avatars"}


@pytest.mark.parametrize("backend", ["fs", "s3"])
def test_a_forked_child_uses_the_storage_its_parent_opened(backend, tmp_path):
    import os

    from conftest import s3_options
    from django.core.files.base import ContentFile

    options = {"plugin": "fs", "root": str(tmp_path / "media")} if backend == "fs" else s3_options()
    storage = WharfStorage(**options, location=f"fork-{os.getpid()}")
    # The parent uses it first, as a pre-forking server's master may.
    name = storage.save("parent.txt", ContentFile(b"from the parent"))
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            child = storage.save("child.txt", ContentFile(b"from the child"))
            ok = storage.open(name).read() == b"from the parent" and storage.exists(child)
            status = 0 if ok else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage.open("child.txt").read() == b"from the child"
