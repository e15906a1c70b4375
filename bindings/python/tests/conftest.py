"""Remotes for the package's tests: a local folder (the fs plugin), and an
S3 server on loopback that the driver (tests/python/tests/pytest.rs)
starts and names in WHARF_TEST_S3_ENDPOINT and WHARF_TEST_S3_BUCKET. A
missing server is a failure, not a skip."""

import os
import uuid

import pytest

import wharf


def s3_options():
    endpoint = os.environ.get("WHARF_TEST_S3_ENDPOINT")
    if not endpoint:
        raise RuntimeError(
            "WHARF_TEST_S3_ENDPOINT is not set: run these tests through "
            "`cargo test -p wharf-python-tests --test pytest`, which starts the S3 server"
        )
    return {
        "access_key": os.environ["WHARF_TEST_S3_ACCESS_KEY"],
        "secret_key": os.environ["WHARF_TEST_S3_SECRET_KEY"],
        "bucket_name": os.environ["WHARF_TEST_S3_BUCKET"],
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
    }


@pytest.fixture(params=["fs", "s3"])
def remote(request, tmp_path):
    """A remote with nothing in it: a folder of its own, or a prefix of
    its own in the test bucket."""
    if request.param == "fs":
        return wharf.Remote.from_options("fs", {"root": str(tmp_path / "store")}, name="local")
    options = s3_options()
    options["location"] = f"t-{uuid.uuid4().hex[:12]}"
    return wharf.Remote.from_options("s3", options, name="s3")


@pytest.fixture
def fs_remote(tmp_path):
    return wharf.Remote.from_options("fs", {"root": str(tmp_path / "store")}, name="local")
