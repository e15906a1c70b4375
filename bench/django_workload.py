"""One workload of the Django storage benchmark, in a process of its own
(so its peak RSS is its own): bench/django_bench.py runs it as

    python django_workload.py WORKLOAD SMALL_DIR BIG_FILE

with MEDIA_STORAGE and MEDIA_STORAGE_OPTIONS in the environment, as a site
sets them. Sequential, as one Django request handles its files."""

import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    USE_TZ=True,
    STORAGES={
        "default": {
            "BACKEND": os.environ["MEDIA_STORAGE"],
            "OPTIONS": json.loads(os.environ["MEDIA_STORAGE_OPTIONS"]),
        }
    },
)
django.setup()

from django.core.files.base import File  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402

workload, small_dir, big_file = sys.argv[1:4]
names = sorted(os.listdir(small_dir))

if workload == "save-small":
    for name in names:
        with open(os.path.join(small_dir, name), "rb") as f:
            default_storage.save(f"small/{name}", File(f))
elif workload == "save-big":
    with open(big_file, "rb") as f:
        default_storage.save("big.bin", File(f))
elif workload == "read-small":
    for name in names:
        with default_storage.open(f"small/{name}") as f:
            f.read()
elif workload == "read-big":
    # As a view streams protected media: reads of 64 KiB.
    with default_storage.open("big.bin") as f:
        while f.read(64 * 1024):
            pass
elif workload == "exists":
    for name in names:
        assert default_storage.exists(f"small/{name}")
elif workload == "url":
    for name in names:
        default_storage.url(f"small/{name}")
else:
    sys.exit(f"unknown workload {workload!r}")
