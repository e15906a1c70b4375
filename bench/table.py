#!/usr/bin/env python3
"""The README's benchmark table, from what `bench.py --json FILE` wrote:

    python3 bench/table.py bench.json

Prints Markdown: when, where and with what the run was made, then one line
per row with wall time, CPU seconds (user + system) and peak RSS of both
tools and the ratios wharf/rclone, and for rows against a server (S3,
FTP) the CPU seconds the server spent during each tool's run: where the
server spends several times what the client does, the server sets the
pace. A ratio above 1 (wharf slower, or heavier than half of rclone's
memory) is in bold, so the rows still to win stand out.
"""

import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/table.py FILE (written by python3 bench/bench.py --json FILE)")
    with open(sys.argv[1]) as f:
        report = json.load(f)
    parts = report.get("seconds_per_part", {})
    total = sum(parts.values())
    print(f"Run of {report['date']}: {report['machine']['system']}, {report['machine']['cpus']} cores; "
          f"wharf {report['wharf_commit']}, {report['rclone']}; median of {report['runs']} runs "
          + (f"after {report['warm_up_runs']} warm-up" if "warm_up_runs" in report
             else f"(warm-up: {report['warm_up']})")
          + ", the tools taking turns"
          + (f"; between runs: {report['between_runs']}" if "between_runs" in report else "")
          + (f"; the run took {total / 60:.0f} minutes." if total else "."))
    print()
    print("| workload | wall wharf / rclone | ratio | CPU s wharf / rclone | ratio | user s wharf / rclone "
          "| peak RSS MiB wharf / rclone | server CPU s wharf / rclone |")
    print("|---|---|---|---|---|---|---|---|")
    for row in report["rows"]:
        w, r, ratios = row["wharf"], row["rclone"], row["ratios"]
        wall = mark(ratios["wall"], 1.0)
        cpu = mark(ratios["cpu"], 1.0)
        rss = f"{w['peak_rss_mib']:.0f} / {r['peak_rss_mib']:.0f}"
        if ratios["peak_rss"] > 0.5:
            rss = f"**{rss}**"
        server = "—"
        if "server_cpu_s" in w and "server_cpu_s" in r:
            server = f"{w['server_cpu_s']:.2f} / {r['server_cpu_s']:.2f}"
        # User time apart (runs from 2026-12-04 on): the system time swings
        # with the VM's memory, the user time is the tools' own work.
        user = "—"
        if "user_s" in w and "user_s" in r:
            user = f"{w['user_s']:.2f} / {r['user_s']:.2f}"
        print(f"| {row['row']} | {w['wall_s']:.2f} / {r['wall_s']:.2f} s | {wall} "
              f"| {w['cpu_s']:.2f} / {r['cpu_s']:.2f} | {cpu} | {user} | {rss} | {server} |")


def mark(ratio, bound):
    text = f"{ratio:.2f}×"
    return f"**{text}**" if ratio > bound else text


if __name__ == "__main__":
    main()
