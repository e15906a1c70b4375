"""A site that keeps user media through a storage named by the environment,
as the sites Wharf is for do:

    MEDIA_STORAGE=storages.backends.s3.S3Storage
    MEDIA_STORAGE_OPTIONS='{"access_key": …, "bucket_name": …, "endpoint_url": …}'

The tests run it once per backend with MEDIA_STORAGE=wharf.django.WharfStorage
and the same options, and once with django-storages' own S3Storage.
"""

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("SITE_WORK", BASE_DIR / "work"))

SECRET_KEY = "test-site-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost"]
USE_TZ = True
TIME_ZONE = "Europe/Paris"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "gallery",
]

# Backups with django-rclone, through the binary SITE_RCLONE_BINARY names
# (wharf-rclone, or rclone itself) on the remote SITE_BACKUP_REMOTE of the
# rclone.conf SITE_RCLONE_CONFIG: the tests' crypt over compress over S3.
if os.environ.get("SITE_BACKUP_REMOTE"):
    INSTALLED_APPS.append("django_rclone")
    DJANGO_RCLONE = {
        "REMOTE": os.environ["SITE_BACKUP_REMOTE"],
        "RCLONE_BINARY": os.environ["SITE_RCLONE_BINARY"],
        "RCLONE_CONFIG": os.environ["SITE_RCLONE_CONFIG"],
        "DB_CLEANUP_KEEP": 2,
    }
MIDDLEWARE = []
ROOT_URLCONF = "site_config.urls"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORK / "db.sqlite3")}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MEDIA_ROOT = str(WORK / "media")
MEDIA_URL = "/media/"
FILE_UPLOAD_TEMP_DIR = str(WORK / "uploads")
os.makedirs(FILE_UPLOAD_TEMP_DIR, exist_ok=True)

STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE", "wharf.django.WharfStorage"),
        "OPTIONS": json.loads(os.environ.get("MEDIA_STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
