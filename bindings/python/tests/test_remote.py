"""The package's API on real backends (fs, and S3 on loopback)."""

import hashlib
import io
import os
import resource
import threading
import time
import uuid
import warnings

import pytest

import wharf
from wharf import errors

MIB = 1 << 20


def pattern(size, seed=0):
    block = hashlib.sha256(str(seed).encode()).digest() * 32768  # 1 MiB
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


def test_put_takes_bytes_files_and_chunks(remote):
    assert remote.put("a/bytes.bin", b"hello").size == 5
    assert remote.put("a/file.bin", io.BytesIO(b"from a file")).size == 11
    assert remote.put("a/chunks.bin", (bytes([i]) * 1000 for i in range(10))).size == 10_000
    assert remote.put("a/view.bin", memoryview(bytearray(b"viewed"))).size == 6
    assert remote.open("a/chunks.bin").read()[995:1005] == b"\x00" * 5 + b"\x01" * 5
    with pytest.raises(TypeError, match="binary"):
        remote.put("a/text.bin", io.StringIO("text"))
    assert not remote.exists("a/text.bin")


def test_a_source_that_fails_leaves_nothing(remote):
    def failing():
        yield b"x" * MIB
        yield b"y" * MIB
        raise RuntimeError("the upload broke off")

    with pytest.raises(RuntimeError, match="broke off"):
        remote.put("half.bin", failing())
    assert not remote.exists("half.bin")
    assert [e for e in remote.walk("")] == []


def test_a_write_the_backend_refuses_midway_raises_and_leaves_nothing():
    # The chunks are written while Python reads the next ones: a refusal
    # of an earlier chunk comes out of a later write() or of finish(),
    # the write aborted. Here S3 refuses every part (a wrong secret key).
    from conftest import s3_options

    options = s3_options()
    options["location"] = f"t-{uuid.uuid4().hex[:12]}"
    good = wharf.Remote.from_options("s3", options, name="s3")
    bad = wharf.Remote.from_options("s3", dict(options, secret_key="not-the-secret"), name="s3")

    def chunks():
        for _ in range(12):
            yield b"z" * MIB

    with pytest.raises(errors.PermissionDenied):
        bad.put("refused.bin", chunks())
    assert not good.exists("refused.bin")
    assert list(good.walk("")) == []


def test_open_streams_and_seeks(remote):
    data = pattern(9 * MIB + 17, seed=1)
    remote.put("big.bin", data)
    with remote.open("big.bin") as f:
        assert f.size == len(data) and f.info.size == len(data)
        assert f.readable() and f.seekable()
        assert f.read(10) == data[:10]
        f.seek(5 * MIB + 3)
        assert f.tell() == 5 * MIB + 3
        assert f.read(64 * 1024) == data[5 * MIB + 3 : 5 * MIB + 3 + 64 * 1024]
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]
        assert f.read() == b""
        f.seek(100)
        buffer = bytearray(50)
        assert f.readinto(buffer) == 50 and bytes(buffer) == data[100:150]
    assert f.closed
    with pytest.raises(ValueError):
        f.read(1)
    # As a text file, through the standard library's layers.
    remote.put("lines.txt", b"one\ntwo\nthree\n")
    with io.TextIOWrapper(io.BufferedReader(remote.open("lines.txt"))) as text:
        assert text.readlines() == ["one\n", "two\n", "three\n"]


def test_errors_are_the_exceptions_python_code_expects(remote):
    with pytest.raises(FileNotFoundError) as missing:
        remote.stat("no/such.txt")
    error = missing.value
    assert isinstance(error, wharf.NotFound) and isinstance(error, wharf.Error)
    assert error.kind == "not-found"
    assert error.remote == remote.name
    assert error.key == "no/such.txt"
    assert error.operation == "stat"
    assert "no/such.txt" in str(error)
    with pytest.raises(FileNotFoundError):
        remote.open("no/such.txt")
    assert remote.exists("no/such.txt") is False

    with pytest.raises(ValueError) as bad_key:
        remote.put("../escape.txt", b"x")
    assert isinstance(bad_key.value, wharf.InvalidKey)
    assert bad_key.value.kind == "invalid-key"


def test_bad_configuration_is_a_value_error(tmp_path):
    with pytest.raises(ValueError) as bad:
        wharf.Remote.from_options("s3", {"endpoint_url": "http://127.0.0.1:1"})
    assert isinstance(bad.value, wharf.InvalidConfig)
    assert "missing required option" in str(bad.value)
    with pytest.raises(wharf.InvalidConfig, match="no remote named 'nowhere'"):
        wharf.Remote("nowhere", config=tmp_path / "config.toml")


def test_a_refusal_is_a_permission_error():
    from conftest import s3_options

    options = s3_options()
    options["secret_key"] = "not-the-secret"
    remote = wharf.Remote.from_options("s3", options, name="s3")
    with pytest.raises(PermissionError) as refused:
        remote.put("new.txt", b"x")
    assert isinstance(refused.value, wharf.PermissionDenied)
    assert refused.value.kind == "permission-denied"


def test_list_pages_and_one_level(remote):
    names = [f"many/{i:04}.txt" for i in range(2100)] + ["many/sub/x.txt", "top.txt"]
    with threading_pool(8) as run:
        run(lambda name: remote.put(name, b"."), names)
    pages = list(remote.list("many/"))
    assert len(pages) >= 3
    keys = [entry.key for page in pages for entry in page]
    assert keys == sorted(names[:-1])
    level = list(remote.walk("many/", delimiter="/"))
    assert wharf.Prefix("many/sub/") in level
    assert sum(isinstance(e, wharf.ObjectInfo) for e in level) == 2100
    assert remote.delete_many(names) == {}
    assert list(remote.walk("")) == []


def test_copy_inside_a_remote(remote):
    remote.put("src.txt", b"copied")
    info = remote.copy("src.txt", "dst/copy.txt")
    assert info.key == "dst/copy.txt" and info.size == 6
    assert remote.open("dst/copy.txt").read() == b"copied"
    with pytest.raises(FileNotFoundError):
        remote.copy("missing.txt", "dst/other.txt")


def test_transfers_between_remotes_and_folders_report_progress(remote, tmp_path):
    source = tmp_path / "uploads"
    (source / "2026").mkdir(parents=True)
    an_hour_ago = os.path.getmtime(source) - 3600
    for i in range(5):
        (source / "2026" / f"{i}.jpg").write_bytes(pattern(100_000 + i, seed=i))
        os.utime(source / "2026" / f"{i}.jpg", (an_hour_ago, an_hour_ago))
    events = []
    summary = wharf.copy(source, (remote, "uploads/"), progress=events.append)
    assert summary.copied == 5 and summary.ok
    assert sorted(e["rel"] for e in events if e["event"] == "copied") == [f"2026/{i}.jpg" for i in range(5)]
    assert wharf.check(source, (remote, "uploads/")).ok

    (source / "2026" / "0.jpg").write_bytes(b"changed")
    (source / "2026" / "new.jpg").write_bytes(b"new")
    summary = wharf.sync(source, (remote, "uploads/"))
    assert summary.copied == 2
    back = tmp_path / "back"
    assert wharf.copy((remote, "uploads/"), back).copied == 6
    assert (back / "2026" / "0.jpg").read_bytes() == b"changed"

    os.remove(back / "2026" / "1.jpg")
    result = wharf.check((remote, "uploads/"), back)
    assert not result.ok and result.missing == 1


def test_a_progress_callback_that_raises_stops_the_transfer(fs_remote, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for i in range(20):
        (source / f"{i}.bin").write_bytes(b"x" * 1000)

    def stop(event):
        if event["event"] == "copied":
            raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        wharf.copy(source, (fs_remote, "dst/"), progress=stop, transfers=1)
    copied = list(fs_remote.walk("dst/"))
    assert len(copied) < 20


def test_bwlimit_caps_what_a_transfer_moves(remote, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for i in range(2):
        (source / f"{i}.bin").write_bytes(pattern(512 * 1024, seed=i))
    # 1 MiB at 1 MiB/s, shared by both workers: a second at least.
    started = time.monotonic()
    summary = wharf.copy(source, (remote, "capped/"), bwlimit="1M", transfers=2)
    assert summary.copied == 2 and summary.ok
    assert time.monotonic() - started >= 0.9
    assert wharf.check(source, (remote, "capped/")).ok
    with pytest.raises(ValueError, match="--bwlimit"):
        wharf.copy(source, (remote, "capped/"), bwlimit="fast")


def test_threads_share_one_remote_and_the_gil_is_released(remote):
    data = pattern(2 * MIB, seed=3)
    failures = []
    ticks = []
    done = threading.Event()

    def work(n):
        for round in range(5):
            key = f"threads/{n}/{round}.bin"
            remote.put(key, data)
            if remote.open(key).read() != data:
                failures.append(key)
            remote.delete(key)

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    clock = threading.Thread(target=ticker)
    clock.start()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    clock.join()
    assert failures == []
    # Another Python thread kept running while the calls waited.
    assert len(ticks) > 20


def test_a_large_put_and_read_run_in_bounded_memory(fs_remote):
    size = 256 * MIB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    block = pattern(MIB, seed=4)
    fs_remote.put("huge.bin", (block for _ in range(size // MIB)))
    digest = hashlib.sha256()
    with fs_remote.open("huge.bin") as f:
        while chunk := f.read(64 * 1024):
            digest.update(chunk)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert digest.hexdigest() == hashlib.sha256(block * (size // MIB)).hexdigest()
    assert after - before < 48, f"peak RSS grew by {after - before:.0f} MiB"


def test_named_remotes_and_overlays_from_the_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[remotes.plain]\nplugin = "fs"\nroot = "{tmp_path / "plain"}"\n\n'
        f'[remotes.secret]\nplugin = "crypt"\nremote = "plain:vault"\n'
        f'password = "{obscure("correct horse")}"\n'
    )
    secret = wharf.Remote("secret", config=config)
    assert secret.plugin == "crypt"
    secret.put("diary.txt", b"dear diary")
    assert secret.open("diary.txt").read() == b"dear diary"
    stored = list(wharf.Remote("plain", config=config).walk("vault/"))
    assert len(stored) == 1 and "diary" not in stored[0].key
    assert stored[0].size == 10 + 32 + 16  # rclone's header and one sealed block
    # An overlay given inline sits on a remote of the config.
    inline = wharf.Remote.from_options(
        "crypt", {"remote": "plain:vault", "password": obscure("correct horse")}, config=config
    )
    assert inline.open("diary.txt").read() == b"dear diary"


def test_options_that_do_nothing_are_warned_about(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wharf.Remote.from_options(
            "s3",
            {
                "access_key": "a",
                "secret_key": "s",
                "bucket_name": "b",
                "endpoint_url": "http://127.0.0.1:9",
                "querystring_expire": 60,
            },
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, wharf.WharfWarning)]
    assert any("querystring_expire" in m for m in messages), messages


def obscure(password):
    """rclone's obscured form of `password` (what `wharf obscure` prints)."""
    import subprocess

    wharf_cli = os.environ["WHARF_TEST_CLI"]
    return subprocess.run([wharf_cli, "obscure", password], check=True, capture_output=True, text=True).stdout.strip()


class threading_pool:
    def __init__(self, n):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(n)

    def __enter__(self):
        return lambda f, items: list(self.pool.map(f, items))

    def __exit__(self, *exc):
        self.pool.shutdown()


def test_a_create_only_write_refuses_a_taken_key(fs_remote):
    fs_remote.put("taken.txt", b"first")
    with pytest.raises(FileExistsError) as taken:
        fs_remote.put("taken.txt", b"second", only_new=True)
    assert isinstance(taken.value, wharf.AlreadyExists)
    assert fs_remote.open("taken.txt").read() == b"first"
    assert fs_remote.put("fresh.txt", b"new", only_new=True).size == 3


def test_of_racing_create_only_writes_exactly_one_wins(fs_remote):
    barrier = threading.Barrier(8)
    outcomes = []

    def write(n):
        barrier.wait()
        try:
            fs_remote.put("contested.txt", f"writer {n}".encode() * 10_000, only_new=True)
            outcomes.append(("won", n))
        except wharf.AlreadyExists:
            outcomes.append(("lost", n))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for outcome, n in outcomes if outcome == "won"]
    assert len(winners) == 1, outcomes
    assert fs_remote.open("contested.txt").read() == f"writer {winners[0]}".encode() * 10_000


def test_create_only_writes_on_every_backend(remote):
    remote.put("only-new.txt", b"first", only_new=True)
    with pytest.raises(wharf.AlreadyExists):
        remote.put("only-new.txt", b"second", only_new=True)
    assert remote.open("only-new.txt").read() == b"first"


def test_signed_urls_work_for_a_plain_client_until_they_expire(remote):
    import time
    import urllib.error
    import urllib.request

    if remote.plugin != "s3":
        remote.put("any.txt", b"x")
        with pytest.raises(wharf.Unsupported, match="makes no URLs"):
            remote.url("any.txt")
        return
    remote.put("dir/a file.txt", b"signed")
    with urllib.request.urlopen(remote.url("dir/a file.txt", expires=60)) as response:
        assert response.read() == b"signed"
    request = urllib.request.Request(remote.url("dir/put.txt", method="PUT"), data=b"put", method="PUT")
    urllib.request.urlopen(request).close()
    assert remote.open("dir/put.txt").read() == b"put"
    short = remote.url("dir/a file.txt", expires=1)
    time.sleep(2.5)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(short)
    assert expired.value.code in (400, 403)
    with pytest.warns(wharf.WharfWarning, match="longer than the backend allows"):
        remote.url("dir/a file.txt", expires=30 * 24 * 3600)


def test_an_fs_remote_with_a_base_url_gives_published_addresses(tmp_path):
    remote = wharf.Remote.from_options(
        "fs", {"root": str(tmp_path / "site"), "base_url": "https://media.example.com/files"}
    )
    remote.put("2026/a b.jpg", b"jpeg")
    assert remote.url("2026/a b.jpg") == "https://media.example.com/files/2026/a%20b.jpg"
    with pytest.raises(FileNotFoundError):
        remote.url("2026/missing.jpg")
    with pytest.raises(wharf.Unsupported):
        remote.url("2026/a b.jpg", method="PUT")
