from django.db import models

from wharf.django import WharfStorage


class Photo(models.Model):
    """A user's upload, kept by the default storage (the site's MEDIA_STORAGE)."""

    file = models.FileField(upload_to="photos/")


class Avatar(models.Model):
    """A field with a storage of its own: its options go into the migration,
    which must not change from one run to the next."""

    image = models.FileField(
        upload_to="avatars/", storage=WharfStorage(location="profiles", file_overwrite=False)
    )
