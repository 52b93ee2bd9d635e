#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: the main playbook (playbooks/cluster.yml) on 1, 3, 10 and 30 lab hosts.

    python3 tools/slipway.py exec -- python bench/cluster.py [--sizes 1,3,10,30] [--settings]

For each size the script makes its own lab (one control plane and N-1 workers,
podman systemd containers from tools/slipway.py lab, ports 232xx, addresses
10.77.0.201+), puts the offline sources on them (tools/lab/offline-sources.yml:
this machine reaches neither pkgs.k8s.io nor GitHub), runs playbooks/cluster.yml
twice with tools/lab/offline-vars.yml and control_plane_bootstrap=false (the
bring-up needs the real kubelet), and prints per run the wall time, the tasks
executed per host, the changed count and the time of each phase; then the lab
is removed. ``--settings`` also measures the no-op run at 3 hosts with
pipelining off and with 5 forks, to show what those settings are worth.

It prints figures and never fails on time. Results are written to
bench/results/cluster-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway"))
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M
)
PHASE = re.compile(r"^(.{40}) +([\d.]+)s +(\d+) +(\d+)  (.*)$", re.M)


def inventory(directory: Path, size: int) -> Path:
    hosts = {}
    for i in range(1, size + 1):
        hosts[f"bench{i:02d}"] = {
            "ansible_port": 23200 + i,
            "slipway_node_ip": f"10.77.0.{200 + i}",
            "slipway_lab_image": "debian13" if i % 2 else "debian12",
        }
    names = list(hosts)
    doc = {
        "k8s_cluster": {
            "children": {
                "control_plane": {"hosts": {names[0]: hosts[names[0]]}},
                "workers": {"hosts": {n: hosts[n] for n in names[1:]}},
            }
        }
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "group_vars").mkdir(exist_ok=True)
    link = directory / "group_vars" / "all"
    if not link.exists():
        link.symlink_to(REPO / "inventory" / "lab" / "group_vars" / "all")
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run(argv: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env or os.environ, check=False)
    return proc, time.monotonic() - started


def lab(action: str, inv: Path) -> None:
    proc, _ = run([sys.executable, str(REPO / "tools" / "slipway.py"), "lab", action, "-i", str(inv)])
    if proc.returncode != 0:
        raise SystemExit(f"lab {action} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def figures(proc: subprocess.CompletedProcess, wall: float) -> dict:
    recap = {m[0]: list(map(int, m[1:])) for m in RECAP.findall(proc.stdout)}
    nodes = {h: v for h, v in recap.items() if h != "localhost"}
    phases = [
        {"phase": m[0].strip(), "seconds": float(m[1]), "tasks": int(m[2]), "changed": int(m[3])}
        for m in PHASE.findall(proc.stdout)
    ]
    return {
        "ok": proc.returncode == 0,
        "wall_seconds": round(wall, 1),
        "tasks_per_host": max((v[0] + v[1] + v[5] for v in nodes.values()), default=0),
        "changed_total": sum(v[1] for v in nodes.values()),
        "phases": phases,
    }


def playbook_env(extra: dict | None = None) -> dict:
    offline = CACHE / "lab" / "offline"
    offline.mkdir(parents=True, exist_ok=True)
    return dict(
        os.environ,
        SLIPWAY_OFFLINE_DIR=str(offline),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        **(extra or {}),
    )


def nodes_run(inv: Path, env: dict) -> dict:
    proc, wall = run(
        [
            "ansible-playbook",
            "-i",
            str(inv),
            "playbooks/cluster.yml",
            "-e",
            "@tools/lab/offline-vars.yml",
            "-e",
            "control_plane_bootstrap=false",
        ],
        env,
    )
    result = figures(proc, wall)
    if not result["ok"]:
        result["error"] = proc.stdout[-1500:]
    return result


def measure(size: int, work: Path, settings: bool) -> dict:
    inv = inventory(work / f"n{size}", size)
    started = time.monotonic()
    lab("up", inv)
    out: dict = {"hosts": size, "lab_up_seconds": round(time.monotonic() - started, 1)}
    try:
        proc, wall = run(
            ["ansible-playbook", "-i", str(inv), "tools/lab/offline-sources.yml"], playbook_env()
        )
        out["offline_sources_seconds"] = round(wall, 1)
        if proc.returncode != 0:
            out["error"] = proc.stdout[-1500:]
            return out
        out["first_run"] = nodes_run(inv, playbook_env())
        out["noop_run"] = nodes_run(inv, playbook_env())
        if settings:
            out["noop_pipelining_off"] = nodes_run(inv, playbook_env({"ANSIBLE_PIPELINING": "False"}))
            out["noop_forks_5"] = nodes_run(inv, playbook_env({"ANSIBLE_FORKS": "5"}))
    finally:
        lab("down", inv)
    return out


def table(results: list[dict]) -> str:
    lines = [
        "| hosts | first run | tasks/host | changed | no-op run | no-op changed |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        first, noop = r.get("first_run", {}), r.get("noop_run", {})
        cells = [
            r["hosts"],
            f"{first.get('wall_seconds', '-')} s",
            first.get("tasks_per_host", "-"),
            first.get("changed_total", "-"),
            f"{noop.get('wall_seconds', '-')} s",
            noop.get("changed_total", "-"),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def per_host_cost(results: list[dict], key: str) -> float | None:
    points = [(r["hosts"], r[key]["wall_seconds"]) for r in results if key in r and r[key].get("ok")]
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    var = sum((p[0] - mean_x) ** 2 for p in points)
    return round(sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / var, 2) if var else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,3,10,30")
    parser.add_argument(
        "--settings", action="store_true", help="also no-op runs at 3 hosts with other settings"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    old_inotify = INOTIFY.read_text().strip() if INOTIFY.exists() else None
    results = []
    try:
        if old_inotify is not None and max(sizes) > 15:
            INOTIFY.write_text("1024\n")  # ~17 systemd hosts fit in the default of 128
        with tempfile.TemporaryDirectory(prefix="slipway-bench-") as tmp:
            for size in sizes:
                result = measure(size, Path(tmp), args.settings and size == 3)
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        if old_inotify is not None:
            INOTIFY.write_text(old_inotify + "\n")
    summary = {
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "results": results,
        "first_run_seconds_per_extra_host": per_host_cost(results, "first_run"),
        "noop_run_seconds_per_extra_host": per_host_cost(results, "noop_run"),
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"cluster-{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(results))
    print(
        f"per extra host: first run {summary['first_run_seconds_per_extra_host']} s,"
        f" no-op run {summary['noop_run_seconds_per_extra_host']} s"
    )
    print(f"written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
