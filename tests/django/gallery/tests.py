"""What a site does with its media storage, run with Django's own test
runner against whatever STORAGES["default"] is (the driver runs it once
per backend with wharf.django.WharfStorage, and once with django-storages'
S3Storage on the same SeaweedFS, to show the two behave alike).

The driver says what to expect of the backend:
  SITE_URLS=signed       url() gives a signed URL a plain HTTP client can
                         fetch until it expires; =links: a link that works
                         for hours whatever is asked (Dropbox's temporary
                         links); =public: MEDIA_URL and the name; =none:
                         url() says to serve files through a view
  SITE_CREATE_ONLY=1     the backend refuses a save onto a taken name itself
  SITE_DEFAULT_OVERWRITE=1  saving over a name replaces it by default
  SITE_RSS_LIMIT_MIB=N   how much a 1 GiB-class save or read may add to the
                         process's peak RSS
"""

import hashlib
import os
import re
import resource
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.test import TestCase, override_settings
from django.utils import timezone
from django.utils.module_loading import import_string

CHUNK = 64 * 1024
MIB = 1 << 20


def expect(name, default="0"):
    return os.environ.get(name, default) == "1"


def another_storage(**changes):
    """A second instance of the site's storage class with the site's options
    and `changes`, as a site makes one for a model field."""
    backend = import_string(settings.STORAGES["default"]["BACKEND"])
    return backend(**{**settings.STORAGES["default"]["OPTIONS"], **changes})


def pattern_file(directory, size, seed):
    """A file of `size` bytes of a seeded pattern, and its SHA-256."""
    path = os.path.join(directory, f"pattern-{seed}.bin")
    digest = hashlib.sha256()
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    with open(path, "wb") as out:
        left = size
        while left:
            piece = block[: min(left, MIB)]
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return path, digest.hexdigest()


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MediaStorage(TestCase):
    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR)
        self.addCleanup(self.scratch.cleanup)

    def read_streamed(self, response):
        digest = hashlib.sha256()
        total = 0
        for chunk in response.streaming_content:
            self.assertLessEqual(len(chunk), CHUNK)
            digest.update(chunk)
            total += len(chunk)
        return total, digest.hexdigest()

    def test_an_upload_larger_than_memory_and_a_part_is_saved_and_streamed_back(self):
        size = 12 * MIB + 12345
        self.assertGreater(size, settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        self.assertGreater(size, 5 * MIB)  # S3's part size: a multipart upload
        path, digest = pattern_file(self.scratch.name, size, 1)
        with open(path, "rb") as upload:
            response = self.client.post("/upload", {"file": upload})
        self.assertEqual(response.status_code, 200, response.content)
        name = response.content.decode()
        self.assertTrue(name.startswith("photos/pattern-1"), name)
        self.assertEqual(default_storage.size(name), size)

        response = self.client.get(f"/media/{name}")
        self.assertEqual(int(response["Content-Length"]), size)
        self.assertEqual(self.read_streamed(response), (size, digest))

    def test_a_large_file_is_saved_and_read_in_bounded_memory(self):
        size = 160 * MIB
        limit = float(os.environ.get("SITE_RSS_LIMIT_MIB", "64"))
        path, digest = pattern_file(self.scratch.name, size, 2)
        before = peak_rss_mib()
        with open(path, "rb") as source:
            name = default_storage.save("big/pattern.bin", File(source))
        saved = peak_rss_mib()
        os.remove(path)
        stored = default_storage.open(name)
        read = hashlib.sha256()
        while chunk := stored.read(CHUNK):
            read.update(chunk)
        stored.close()
        after = peak_rss_mib()
        self.assertEqual(read.hexdigest(), digest)
        print(
            f"\n[rss] {settings.STORAGES['default']['BACKEND']}: peak {before:.0f} MiB before, "
            f"{saved:.0f} after saving {size // MIB} MiB, {after:.0f} after reading it",
            flush=True,
        )
        self.assertLess(saved - before, limit, "saving held the file in memory")
        self.assertLess(after - before, limit, "reading held the file in memory")
        default_storage.delete(name)

    def test_reads_seek(self):
        name = default_storage.save("seek/data.bin", ContentFile(bytes(range(256)) * 1024))
        with default_storage.open(name) as stored:
            self.assertEqual(stored.size, 256 * 1024)
            stored.seek(1000)
            self.assertEqual(stored.read(4), bytes([1000 % 256, 1001 % 256, 1002 % 256, 1003 % 256]))
            stored.seek(10)
            self.assertEqual(stored.read(2), bytes([10, 11]))
            self.assertEqual(len(stored.read()), 256 * 1024 - 12)

    def test_saving_over_a_name_follows_file_overwrite(self):
        first = default_storage.save("dup/a.txt", ContentFile(b"first"))
        second = default_storage.save("dup/a.txt", ContentFile(b"second"))
        self.assertEqual(first, "dup/a.txt")
        if expect("SITE_DEFAULT_OVERWRITE"):
            self.assertEqual(second, first)
            self.assertEqual(default_storage.open(first).read(), b"second")
        else:
            self.assertNotEqual(second, first)

        keeping = another_storage(file_overwrite=False)
        third = keeping.save("dup/a.txt", ContentFile(b"third"))
        self.assertRegex(third, r"^dup/a_\w{7}\.txt$")
        self.assertEqual(keeping.open(third).read(), b"third")
        self.assertEqual(keeping.open(first).read(), b"second" if expect("SITE_DEFAULT_OVERWRITE") else b"first")

    def test_eight_threads_share_one_storage(self):
        errors = []

        def work(worker):
            for round in range(8):
                body = f"worker {worker} round {round} ".encode() * (100 + worker)
                name = default_storage.save(f"threads/{worker}/{round}.txt", ContentFile(body))
                if not default_storage.exists(name):
                    errors.append(f"{name} does not exist after save")
                with default_storage.open(name) as stored:
                    if stored.read() != body:
                        errors.append(f"{name} read back differently")
                default_storage.delete(name)
                if default_storage.exists(name):
                    errors.append(f"{name} still exists after delete")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(work, range(8)))
        self.assertEqual(errors, [])

    def test_deleting_a_missing_name_or_a_directory_succeeds(self):
        default_storage.delete("missing/never-saved.txt")
        name = default_storage.save("folder/kept.txt", ContentFile(b"kept"))
        default_storage.delete("folder/")
        self.assertTrue(default_storage.exists(name))
        default_storage.delete(name)
        self.assertFalse(default_storage.exists(name))

    def test_exists_size_and_modified_time(self):
        self.assertFalse(default_storage.exists("stat/a.txt"))
        name = default_storage.save("stat/a.txt", ContentFile(b"12345"))
        self.assertTrue(default_storage.exists(name))
        self.assertEqual(default_storage.size(name), 5)
        modified = default_storage.get_modified_time(name)
        self.assertTrue(timezone.is_aware(modified))
        self.assertLess(abs((timezone.now() - modified).total_seconds()), 120)
        with override_settings(USE_TZ=False):
            self.assertTrue(timezone.is_naive(default_storage.get_modified_time(name)))

    def test_opening_a_missing_name_raises_file_not_found(self):
        with self.assertRaises(FileNotFoundError):
            default_storage.open("missing/photo.jpg").read()
        with self.assertRaises(FileNotFoundError):
            default_storage.size("missing/photo.jpg")

    def test_listdir_reads_every_page(self):
        # More names than one page of a listing (1,000), two "directories".
        count = 1003
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: default_storage.save(f"many/{i:04}.txt", ContentFile(b"x")), range(count)))
        default_storage.save("many/sub1/a.txt", ContentFile(b"a"))
        default_storage.save("many/sub2/b/c.txt", ContentFile(b"c"))
        directories, files = default_storage.listdir("many")
        self.assertEqual(sorted(directories), ["sub1", "sub2"])
        self.assertEqual(len(files), count)
        self.assertEqual(files[0], "0000.txt")
        self.assertEqual(default_storage.listdir("many/sub2"), (["b"], []))

    def test_location_puts_every_name_under_a_prefix(self):
        nested = another_storage(location="nested/deeper")
        name = nested.save("a.txt", ContentFile(b"nested"))
        self.assertEqual(name, "a.txt")
        self.assertTrue(default_storage.exists("nested/deeper/a.txt"))
        self.assertEqual(nested.listdir(""), ([], ["a.txt"]))

    def test_names_outside_the_location_are_refused(self):
        nested = another_storage(location="inside")
        with self.assertRaises(SuspiciousOperation):
            nested.exists("../outside.txt")

    def test_url(self):
        name = default_storage.save("urls/a b.txt", ContentFile(b"fetched by url"))
        kind = os.environ.get("SITE_URLS", "none")
        if kind == "none":
            with self.assertRaisesRegex(NotImplementedError, "view"):
                default_storage.url(name)
            return
        if kind == "public":
            self.assertEqual(default_storage.url(name), settings.MEDIA_URL + "urls/a%20b.txt")
            return
        url = default_storage.url(name)
        with urllib.request.urlopen(url) as response:
            self.assertEqual(response.read(), b"fetched by url")
        if kind == "links":
            # Made for four hours: one asked to last a second still works.
            with urllib.request.urlopen(default_storage.url(name, expire=1)) as response:
                self.assertEqual(response.read(), b"fetched by url")
            return
        public = another_storage(querystring_auth=False).url(name)
        self.assertNotIn("?", public)
        self.assertTrue(public.endswith("/urls/a%20b.txt"), public)
        short = default_storage.url(name, expire=1)
        time.sleep(2.5)
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(short)
        self.assertIn(refused.exception.code, (400, 401, 403))

    def test_a_custom_domain_makes_plain_urls(self):
        cdn = another_storage(custom_domain="cdn.example.com")
        self.assertEqual(cdn.url("photos/a b.jpg"), "https://cdn.example.com/photos/a%20b.jpg")

    def test_saves_racing_for_one_name_keep_every_file(self):
        if not expect("SITE_CREATE_ONLY"):
            return
        keeping = another_storage(file_overwrite=False)
        barrier = threading.Barrier(8)

        def save(worker):
            body = f"upload {worker}".encode() * 1000
            barrier.wait()
            return keeping.save("race/photo.jpg", ContentFile(body)), body

        with ThreadPoolExecutor(8) as pool:
            saved = list(pool.map(save, range(8)))
        names = [name for name, _ in saved]
        self.assertEqual(len(set(names)), 8, names)
        for name, body in saved:
            self.assertEqual(keeping.open(name).read(), body)
