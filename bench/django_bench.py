#!/usr/bin/env python3
"""Side-by-side benchmark of the Django storages, in one run: Wharf's
wharf.django.WharfStorage against django-storages' S3Storage (boto3), both
given the same OPTIONS (django-storages' names) on one SeaweedFS on
loopback (SigV4 checked).

Workloads, each in a process of its own per run (default_storage, one
request's worth, sequential):
  - save of 1,000 files of 64 KiB, and of one 1 GiB file;
  - reading them back: open().read() of each small file, and the big one
    in reads of 64 KiB (as a view streams protected media);
  - exists() x 1,000; url() x 1,000 (a presigned URL each).
The two storages take turns within a row (a warm-up of each, then one
run of each, alternating which goes first). For each: the median wall
time and CPU seconds (user + system, from rusage) of --runs runs, the
highest peak RSS, and the ratios
Wharf/django-storages. Run from the repository root, after
`bash bindings/python/install-test-env.sh` (its CPython 3.12 environment
has both storages):

    python3 bench/django_bench.py [--runs 3] [--files 1000] [--size-mib 1024]

Not a test: nothing asserts. The goal (issue 18): faster on every row,
and lower peak memory.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, interleave, job, start_s3_server, write_random  # noqa: E402

WORKLOADS = ["save-small", "save-big", "read-small", "read-big", "exists", "url"]
STORAGES = {"wharf": "wharf.django.WharfStorage", "boto3": "storages.backends.s3.S3Storage"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"which rows, comma-separated (default: all of {','.join(WORKLOADS)})")
    parser.add_argument("--wharf-option", action="append", default=[], metavar="NAME=VALUE",
                        help="an option for Wharf's storage only (e.g. upload_concurrency=5), to try one")
    args = parser.parse_args()
    args.s3_server = "seaweedfs"
    python = os.path.join(ROOT, "target", "python", "venv-3.12", "bin", "python")
    if not os.path.exists(python):
        sys.exit(f"{python} is missing: run bash bindings/python/install-test-env.sh first")
    work = tempfile.mkdtemp(prefix="wharf-django-bench-", dir=os.environ.get("BENCH_DIR"))
    server = None
    try:
        server, endpoint = start_s3_server(args, work)
        small = os.path.join(work, "small")
        os.makedirs(small)
        for i in range(args.files):
            write_random(os.path.join(small, f"f{i:05}.jpg"), 64 << 10)
        big = os.path.join(work, "big.bin")
        write_random(big, args.size_mib << 20)
        env = dict(os.environ)
        env["WHARF_CONFIG"] = os.path.join(work, "wharf.toml")
        env["WHARF_CACHE_DIR"] = os.path.join(work, "cache")
        env.pop("AWS_CA_BUNDLE", None)
        options = {"access_key": "AKBENCH", "secret_key": "SKBENCH", "bucket_name": "bench",
                   "endpoint_url": endpoint, "region_name": "us-east-1"}
        script = os.path.join(ROOT, "bench", "django_workload.py")
        envs = {}
        for side, backend in STORAGES.items():
            side_env = dict(env)
            side_env["MEDIA_STORAGE"] = backend
            # Each side under a prefix of its own, so it reads what it saved.
            side_options = {**options, "location": side}
            if side == "wharf":
                side_options.update(option.split("=", 1) for option in args.wharf_option)
            side_env["MEDIA_STORAGE_OPTIONS"] = json.dumps(side_options)
            envs[side] = side_env
        # Warm Wharf's compile cache, as a site's first request would.
        subprocess.run([python, script, "exists", small, big], env=envs["wharf"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"SeaweedFS on loopback; {args.files} files of 64 KiB, one of {args.size_mib} MiB; "
              f"median of {args.runs}")
        rows = []
        for workload in args.workloads.split(","):
            print(f"\n{workload}")
            # The two storages take turns, so what the server carries over
            # from one run to the next (its volumes filling, compactions)
            # falls on both alike.
            cmd = [python, script, workload, small, big]
            results = interleave({side: job(side, cmd, work, envs[side], args.runs, lambda: None)
                                  for side in STORAGES})
            w, b = results["wharf"], results["boto3"]
            print(f"  => {workload}: Wharf/django-storages wall {w[0] / b[0]:.2f}x, CPU {w[2] / b[2]:.2f}x; "
                  f"peak RSS Wharf {w[1]:.0f} MiB, django-storages {b[1]:.0f} MiB")
            rows.append((workload, w, b))
        print("\n| workload | Wharf | django-storages | wall | CPU | peak RSS |")
        print("|---|---|---|---|---|---|")
        for workload, w, b in rows:
            print(f"| {workload} | {w[0]:.2f} s, {w[2]:.2f} s CPU | {b[0]:.2f} s, {b[2]:.2f} s CPU | "
                  f"{w[0] / b[0]:.2f}x | {w[2] / b[2]:.2f}x | {w[1]:.0f} / {b[1]:.0f} MiB |")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
