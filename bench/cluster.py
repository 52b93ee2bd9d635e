#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: the main playbook (playbooks/cluster.yml) on 1, 3, 10 and 30 lab hosts.

    python3 tools/slipway.py exec -- python bench/cluster.py [--sizes 1,3,10,30] [--settings-at 10]
    python3 tools/slipway.py exec -- python bench/cluster.py --report bench/results/cluster-DATE.json

For each size N the script makes its own lab with ``tools/slipway.py lab up``
(podman systemd containers: perf01 is the control plane, perf02..N workers,
SSH on 127.0.0.1:23101+, lab addresses 10.77.0.165+, clear of the lab and the
Molecule scenarios), puts the offline sources on them
(``tools/lab/offline-sources.yml``: this machine reaches neither pkgs.k8s.io nor
GitHub), then runs ``playbooks/cluster.yml`` with ``tools/lab/offline-vars.yml``
and ``control_plane_bootstrap=false`` twice: the first run and the no-op run.
The bring-up itself (kubeadm init, kubelet, CNI) needs the real Kubernetes
binaries and is not measured.

Per run it records the wall time, the controller's CPU time, the tasks executed
and changed per host (from Ansible's own statistics), the time of every play
(phase) and of every task, through a small callback written into the scratch
directory. At one size (``--settings-at``, default 10) it also repeats the
no-op run with each tuned setting of ansible.cfg switched back to Ansible's
default (pipelining, ControlPersist, forks, fact cache, strategy), compares
fact gathering with the ``min`` subset against all facts, and adds one node
with ``--limit`` against a run over every host. Hosts are removed at the end
of each size unless ``--keep`` (which keeps those of the last size).

Prints figures and never fails on time. Results go to
bench/results/cluster-<date>.json (sizes measured earlier the same day are
kept, so 30 hosts can be run separately from 1, 3 and 10).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway"))
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_NEEDED = 1024  # the default of 128 fits ~17 systemd hosts on this kind of machine
PORT_BASE = 23100  # 127.0.0.1:23101 ...
ADDRESS_BASE = 164  # 10.77.0.165 ... 10.77.0.196: clear of the lab (.11-.22) and Molecule (.101-.162)
# What the bench runs: playbooks/cluster.yml up to and including the control
# plane's files (MEASURED_UNTIL). The plays after it (pod network, joins, smoke
# check) talk to a running API server, which needs the Kubernetes binaries this
# machine cannot have. bounded_main() writes that prefix of the real playbook.
MEASURED_UNTIL = "control-plane.yml"
PLAYBOOK = [
    "<scratch>/cluster-until-control-plane.yml",
    "-e",
    "@tools/lab/offline-vars.yml",
    "-e",
    "control_plane_bootstrap=false",
]
# Each tuned setting of ansible.cfg, put back to what Ansible does without it.
SETTINGS = {
    "pipelining off (Ansible's default)": {"ANSIBLE_PIPELINING": "False"},
    "no ControlPersist (every task opens SSH)": {
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ServerAliveInterval=15"
        " -o PreferredAuthentications=publickey"
    },
    "forks 5 (Ansible's default)": {"ANSIBLE_FORKS": "5"},
    "fact cache in memory (not kept between runs)": {"ANSIBLE_CACHE_PLUGIN": "memory"},
    "strategy free": {"ANSIBLE_STRATEGY": "free"},
}

# Lab hosts must reach nothing but this machine: apt reads only the offline
# sources, and python3-apt (which the apt module installs from Debian's archive
# when missing; the lab images lack it) comes from the controller's own copy.
PREPARE = """---
- name: Bench hosts use nothing but the offline sources
  hosts: k8s_cluster
  gather_facts: false
  tasks:
    - name: Bench | Set Debian's archive aside
      ansible.builtin.shell: |
        set -e
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/debian.sources; do
          if [ -e "$f" ]; then mv "$f" "$f.bench-off"; echo moved; fi
        done
      changed_when: "'moved' in __bench_moved.stdout"
      register: __bench_moved

    - name: Bench | python3-apt from the controller
      ansible.builtin.unarchive:
        src: "@BUNDLE@"
        dest: /
        creates: /usr/lib/python3/dist-packages/apt_pkg.cpython-311-x86_64-linux-gnu.so
"""

# An aggregate callback that writes what the benchmark needs as JSON: plays,
# tasks with their wall time, and Ansible's per-host statistics.
CALLBACK = r"""
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.plays, self.tasks = [], {}

    def _now(self):
        return time.monotonic()

    def v2_playbook_on_play_start(self, play):
        now = self._now()
        if self.plays:
            self.plays[-1]["end"] = now
        self.plays.append({"name": play.get_name().strip(), "start": now, "end": None, "hosts": 0})

    def _task(self, task):
        key = task._uuid
        if key not in self.tasks:
            now = self._now()
            role = task._role.get_name(include_role_fqcn=False) if task._role else ""
            self.tasks[key] = {"play": len(self.plays) - 1, "name": task.get_name().strip(), "role": role,
                               "action": task.action, "start": now, "end": now, "results": {}}
        return self.tasks[key]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def _result(self, result, status):
        entry = self._task(result._task)
        entry["end"] = self._now()
        if status == "ok" and result._result.get("changed", False):
            status = "changed"
        entry["results"][status] = entry["results"].get(status, 0) + 1

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        now = self._now()
        if self.plays:
            self.plays[-1]["end"] = now
        hosts = {h: stats.summarize(h) for h in sorted(stats.processed)}
        tasks = sorted(self.tasks.values(), key=lambda t: t["start"])
        for task in tasks:
            task["seconds"] = round(task.pop("end") - task["start"], 3)
        origin = self.plays[0]["start"] if self.plays else now
        for item in self.plays + tasks:
            item["start"] = round(item["start"] - origin, 3)
        for play in self.plays:
            play["seconds"] = round(play.pop("end") - origin - play["start"], 3)
        with open(os.environ["BENCH_TIMINGS_OUT"], "w", encoding="utf-8") as handle:
            json.dump({"plays": self.plays, "tasks": tasks, "hosts": hosts}, handle)
"""


def python_apt_bundle(work: Path) -> Path:
    """python3-apt as installed on this Debian 12 controller, packed for the Debian 12 lab hosts."""
    listing = subprocess.run(
        ["dpkg", "-L", "python3-apt", "python-apt-common", "distro-info-data"],
        capture_output=True,
        text=True,
        check=False,
    )
    if listing.returncode != 0:
        raise SystemExit("bench: python3-apt is not installed on this machine: apt-get install python3-apt")
    bundle = work / "python3-apt.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for name in listing.stdout.splitlines():
            path = Path(name)
            if name.startswith("/") and (path.is_file() or path.is_symlink()):
                tar.add(name, arcname=name.lstrip("/"), recursive=False)
    return bundle


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def host_entries(first: int, last: int) -> dict[str, dict]:
    return {
        f"perf{i:02d}": {
            "ansible_port": PORT_BASE + i,
            "slipway_node_ip": f"10.77.0.{ADDRESS_BASE + i}",
            "slipway_lab_image": "debian12",
        }
        for i in range(first, last + 1)
    }


def write_inventory(directory: Path, hosts: dict[str, dict]) -> Path:
    names = list(hosts)
    doc = {
        "k8s_cluster": {
            "children": {
                "control_plane": {"hosts": {names[0]: hosts[names[0]]}},
                "workers": {"hosts": {n: hosts[n] for n in names[1:]}},
            }
        }
    }
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    link = directory / "group_vars" / "all"
    if not link.exists():
        link.symlink_to(REPO / "inventory" / "lab" / "group_vars" / "all")
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.counter = 0
        plugins = work / "callback_plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        (plugins / "bench_timings.py").write_text(CALLBACK)
        self.offline = CACHE / "lab" / "offline"
        self.offline.mkdir(parents=True, exist_ok=True)
        self.prepare = work / "prepare.yml"
        self.main = bounded_main(work)
        self.prepare.write_text(PREPARE.replace("@BUNDLE@", str(python_apt_bundle(work))))

    def env(self, extra: dict | None = None) -> dict:
        return {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_CALLBACK_PLUGINS": str(self.work / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "slipway.cluster.phases,bench_timings",
            # Private to this run: the shared checkout's fact cache and SSH sockets stay untouched.
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.work / "facts"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work / "cp"),
            "ANSIBLE_NOCOLOR": "1",
            "SLIPWAY_OFFLINE_DIR": str(self.offline),
            **(extra or {}),
        }

    def command(self, label: str, argv: list[str], env: dict | None = None) -> dict:
        """Run argv from the repository; wall time, controller CPU, machine CPU use, the log's path."""
        self.counter += 1
        logfile = self.work / f"{self.counter:03d}-{label}.log"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0, total0 = cpu_busy()
        load = os.getloadavg()[0]
        started = time.monotonic()
        with logfile.open("w") as out:
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, check=False)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, total1 = cpu_busy()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {
            "ok": proc.returncode == 0,
            "wall_seconds": round(wall, 1),
            "controller_cpu_seconds": round(cpu, 1),
            "machine_cpu_busy_percent": round(100 * (busy1 - busy0) / max(total1 - total0, 1), 0),
            "load_before": round(load, 2),
            "log": str(logfile),
        }

    def lab(self, action: str, inv: Path) -> dict:
        argv = [sys.executable, str(REPO / "tools" / "slipway.py"), "lab", action, "-i", str(inv)]
        result = self.command(f"lab-{action}", argv)
        if not result["ok"]:
            raise SystemExit(f"lab {action} failed; see {result['log']}:\n{tail(result['log'])}")
        return result

    def sources(self, inv: Path, limit: str | None = None) -> dict:
        """The offline sources of `cluster --offline-lab`, then the bench's own preparation (PREPARE)."""
        result = {}
        for label, playbook in (("sources", "tools/lab/offline-sources.yml"), ("prepare", str(self.prepare))):
            argv = ["ansible-playbook", "-i", str(inv), playbook]
            if limit:
                argv += ["--limit", f"localhost,{limit}"]
            result = self.command(label, argv, self.env())
            if not result["ok"]:
                raise SystemExit(f"{label} failed; see {result['log']}:\n{tail(result['log'])}")
        return result

    def playbook(self, inv: Path, extra_env: dict | None = None, limit: str | None = None) -> dict:
        timings = self.work / f"timings-{self.counter + 1:03d}.json"
        argv = ["ansible-playbook", "-i", str(inv), str(self.main), *PLAYBOOK[1:]]
        if limit:
            argv += ["--limit", limit]
        env = self.env({"BENCH_TIMINGS_OUT": str(timings), **(extra_env or {})})
        result = self.command("cluster", argv, env)
        if timings.exists():
            result.update(summarize_run(json.loads(timings.read_text())))
        if not result["ok"]:
            result["error"] = tail(result["log"])
            log(f"playbook failed; see {result['log']}")
        return result

    def gather(self, inv: Path, subset: str) -> dict:
        # A fresh control path directory: the first connection is part of the cost as in a run.
        self.counter += 1
        env = self.env({"ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work / f"cp-gather-{self.counter}")})
        return self.command(
            f"gather-{subset}",
            ["ansible", "-i", str(inv), "k8s_cluster", "-m", "setup", "-a", f"gather_subset={subset}"],
            env,
        )


def bounded_main(work: Path) -> Path:
    """playbooks/cluster.yml's imports up to MEASURED_UNTIL, as a playbook in ``work``."""
    plays = yaml.safe_load((REPO / "playbooks" / "cluster.yml").read_text())
    kept = []
    for play in plays:
        target = play["ansible.builtin.import_playbook"]
        kept.append({**play, "ansible.builtin.import_playbook": str(REPO / "playbooks" / target)})
        if target == MEASURED_UNTIL:
            break
    else:
        raise SystemExit(f"playbooks/cluster.yml no longer imports {MEASURED_UNTIL}: update bench/cluster.py")
    path = work / "cluster-until-control-plane.yml"
    path.write_text(yaml.safe_dump(kept, sort_keys=False))
    return path


def tail(path: str, lines: int = 25) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def component(task: dict) -> str:
    """The role a task belongs to, or the part of its name before ' | '."""
    return task.get("role") or task["name"].split(" | ", maxsplit=1)[0]


def summarize_run(timings: dict) -> dict:
    """Per-host counts, phases, components (role prefixes of task names) and the slowest tasks."""
    hosts = timings["hosts"]
    nodes = {h: s for h, s in hosts.items() if h != "localhost"}
    per_host = {
        h: {
            "executed": s["ok"] + s["failures"] + s.get("ignored", 0),
            "changed": s["changed"],
            "skipped": s["skipped"],
            "failed": s["failures"] + s["unreachable"],
        }
        for h, s in nodes.items()
    }
    controller = hosts.get("localhost", {})
    phases = [
        {"phase": p["name"], "seconds": round(p["seconds"], 1), "tasks": 0, "changed": 0}
        for p in timings["plays"]
    ]
    components: dict[str, float] = {}
    for task in timings["tasks"]:
        phase = phases[task["play"]]
        phase["tasks"] += 1
        phase["changed"] += task["results"].get("changed", 0)
        key = f"{phase['phase']}: {component(task)}"
        components[key] = components.get(key, 0.0) + task["seconds"]
    slowest = sorted(timings["tasks"], key=lambda t: t["seconds"], reverse=True)[:12]
    cp = next(iter(per_host.values()), {})
    workers = list(per_host.values())[1:]
    return {
        "hosts_in_run": len(nodes),
        "controller_tasks": {"executed": controller.get("ok", 0), "changed": controller.get("changed", 0)},
        "tasks_per_host": {
            "control_plane": cp.get("executed", 0),
            "worker": workers[0]["executed"] if workers else None,
        },
        "changed_per_host": {
            "control_plane": cp.get("changed", 0),
            "worker": workers[0]["changed"] if workers else None,
        },
        "changed_total": sum(v["changed"] for v in per_host.values()),
        "failed_hosts": sorted(h for h, v in per_host.items() if v["failed"]),
        "per_host": per_host,
        "phases": phases,
        "components": {k: round(v, 1) for k, v in sorted(components.items(), key=lambda kv: -kv[1])},
        "slowest_tasks": [
            {"task": t["name"], "phase": phases[t["play"]]["phase"], "seconds": round(t["seconds"], 1)}
            for t in slowest
        ],
    }


def measure(bench: Bench, size: int, settings: bool, keep: bool, repeat: int) -> dict:
    directory = bench.work / f"n{size}"
    inv = write_inventory(directory, host_entries(1, size))
    out: dict = {"hosts": size, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    log(f"{size} host(s): lab up")
    out["lab_up"] = bench.lab("up", inv)
    try:
        log(f"{size} host(s): offline sources")
        out["offline_sources"] = bench.sources(inv)
        log(f"{size} host(s): first run")
        out["first_run"] = bench.playbook(inv)
        log(f"{size} host(s): first run {out['first_run']['wall_seconds']} s; no-op run")
        out["noop_run"] = bench.playbook(inv)
        log(f"{size} host(s): no-op run {out['noop_run']['wall_seconds']} s")
        if settings:
            out["settings"] = measure_settings(bench, inv, repeat)
            out["gather"] = {
                subset: [bench.gather(inv, subset)["wall_seconds"] for _ in range(repeat)]
                for subset in ("min", "all")
            }
            out["pki_install"] = measure_pki_install(bench, inv, directory)
            out["add_node"] = measure_add_node(bench, directory, size, keep)
    finally:
        if not keep:
            log(f"{size} host(s): lab down")
            bench.lab("down", inv)
    return out


def measure_settings(bench: Bench, inv: Path, repeat: int) -> dict:
    """No-op runs with each tuned setting reverted, interleaved with baseline runs (noise shows)."""
    figures: dict[str, list[float]] = {"as shipped (ansible.cfg)": []}
    for _ in range(repeat):
        for name, extra in {"as shipped (ansible.cfg)": {}, **SETTINGS}.items():
            result = bench.playbook(inv, extra)
            log(f"settings: {name}: {result['wall_seconds']} s")
            if result["ok"] and result["changed_total"] == 0:
                figures.setdefault(name, []).append(result["wall_seconds"])
            else:
                figures.setdefault(name, [])
                log(f"settings: {name}: not a clean no-op run; see {result['log']}")
    return figures


# Both plays take the pki role's own file list (roles/pki/vars/main.yml,
# __pki_install_files), with the destinations moved under /root/<root>.
PKI_PLAY_HEAD = """
- name: {title}
  hosts: k8s_cluster
  gather_facts: false
  vars_files: [{repo}/roles/pki/vars/main.yml]
  vars:
    pki_source_dir: {pki}
    pki_node_name: perf01
    pki_dest_dir: /root/{root}/pki
    pki_kubeconfig_dir: /root/{root}
  tasks:
    - name: How many files
      ansible.builtin.debug:
        msg: "bench-files={{{{ __pki_install_files | length }}}}"
      run_once: true
"""
PKI_COPY_TASKS = """
    - name: Directories
      ansible.builtin.file: {path: "{{ item }}", state: directory, owner: root, group: root, mode: "0755"}
      loop: "{{ __pki_install_files | map(attribute='dest') | map('dirname') | unique | sort }}"
    - name: Files
      ansible.builtin.copy:
        src: "{{ item.src }}"
        dest: "{{ item.dest }}"
        owner: root
        group: root
        mode: "{{ item.mode }}"
        backup: true
      loop: "{{ __pki_install_files }}"
      no_log: true
"""
PKI_INSTALL_TASKS = """
    - name: Files
      slipway.cluster.pki_install:
        files: "{{ __pki_install_files }}"
"""


def measure_pki_install(bench: Bench, inv: Path, directory: Path) -> dict:
    """The pki role's file set on every host: copy per file against one pki_install call."""
    pki = directory / "artifacts" / "pki"
    out: dict = {}
    for label, title, tasks, root in (
        (
            "copy per file",
            "A control plane's PKI with copy, one call per file (before pki_install)",
            PKI_COPY_TASKS,
            "bench-pki-copy",
        ),
        (
            "pki_install",
            "A control plane's PKI with one pki_install call per host (the pki role now)",
            PKI_INSTALL_TASKS,
            "bench-pki-install",
        ),
    ):
        playbook = bench.work / f"pki-{root}.yml"
        head = PKI_PLAY_HEAD.format(title=title, repo=REPO, pki=pki, root=root)
        playbook.write_text(head + tasks)
        argv = ["ansible-playbook", "-i", str(inv), str(playbook)]
        runs = [bench.command(f"pki-{root}", argv, bench.env()) for _ in ("first", "no-op")]
        found = re.search(r"bench-files=(\d+)", Path(runs[0]["log"]).read_text())
        out["files"] = int(found.group(1)) if found else None
        out[label] = {
            "first": runs[0]["wall_seconds"],
            "no-op": runs[1]["wall_seconds"],
            "ok": all(r["ok"] for r in runs),
        }
        log(f"pki files ({label}): first {runs[0]['wall_seconds']} s, no-op {runs[1]['wall_seconds']} s")
    return out


def measure_add_node(bench: Bench, directory: Path, size: int, keep: bool) -> dict:
    """One new worker: the run limited to it, then another new worker through a run over every host."""
    out = {}
    for label, extra_hosts, limit in (("limited to the new node", 1, True), ("over every host", 2, False)):
        inv = write_inventory(directory, host_entries(1, size + extra_hosts))
        new = f"perf{size + extra_hosts:02d}"
        bench.lab("up", inv)
        bench.sources(inv, limit=new)
        result = bench.playbook(inv, limit=new if limit else None)
        log(f"add node ({label}): {result['wall_seconds']} s")
        out[label] = {
            "wall_seconds": result["wall_seconds"],
            "ok": result["ok"],
            "hosts_in_run": result.get("hosts_in_run"),
            "changed_total": result.get("changed_total"),
            "phases": result.get("phases"),
        }
    if not keep:
        bench.lab("down", inv)
    return out


def fit(results: list[dict], key: str) -> dict | None:
    """Least-squares line wall = fixed + per_host * N over the sizes measured."""
    points = [(r["hosts"], r[key]["wall_seconds"]) for r in results if r.get(key, {}).get("ok")]
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    var = sum((p[0] - mean_x) ** 2 for p in points)
    if not var:
        return None
    slope = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / var
    return {"fixed_seconds": round(mean_y - slope * mean_x, 1), "seconds_per_host": round(slope, 2)}


def machine() -> dict:
    version = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=False).stdout
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.machine()
    )
    podman = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False).stdout
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible": version.splitlines()[0] if version else "unknown",
        "podman": podman.strip(),
    }


def seconds(run: dict | None) -> str:
    return f"{run['wall_seconds']:.1f} s" if run and "wall_seconds" in run else "-"


def size_table(results: list[dict], fits: dict) -> list[str]:
    lines = [
        "| hosts | first run | tasks/host (cp, worker) | changed | no-op run | no-op changed"
        " | no-op / first | controller CPU (first, no-op) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        first, noop = r.get("first_run", {}), r.get("noop_run", {})
        tph = first.get("tasks_per_host", {})
        ratio = "-"
        if first.get("wall_seconds") and noop.get("wall_seconds"):
            ratio = f"{100 * noop['wall_seconds'] / first['wall_seconds']:.0f} %"
        cpu = f"{first.get('controller_cpu_seconds', '-')} s, {noop.get('controller_cpu_seconds', '-')} s"
        tasks = f"{tph.get('control_plane', '-')}, {tph.get('worker') or '-'}"
        lines.append(
            f"| {r['hosts']} | {seconds(first)} | {tasks} "
            f"| {first.get('changed_total', '-')} | {seconds(noop)} | {noop.get('changed_total', '-')} "
            f"| {ratio} | {cpu} |"
        )
    for key, label in (("first_run", "first run"), ("noop_run", "no-op run")):
        line = fits.get(key)
        if line:
            lines += [
                "",
                f"{label}: {line['fixed_seconds']} s + {line['seconds_per_host']} s per host (least squares)",
            ]
    return lines


def phase_table(results: list[dict]) -> list[str]:
    names: list[str] = []
    for r in results:
        for p in r.get("first_run", {}).get("phases", []):
            if p["phase"] not in names:
                names.append(p["phase"])
    lines = ["", "Phases in seconds, first run / no-op run:", ""]
    lines.append("| phase | " + " | ".join(f"{r['hosts']} host(s)" for r in results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for name in names:
        cells = []
        for r in results:
            pair = []
            for key in ("first_run", "noop_run"):
                found = [p["seconds"] for p in r.get(key, {}).get("phases", []) if p["phase"] == name]
                pair.append(f"{found[0]:.1f}" if found else "-")
            cells.append(" / ".join(pair))
        lines.append(f"| {name[:60]} | " + " | ".join(cells) + " |")
    return lines


def component_table(r: dict) -> list[str]:
    first = r.get("first_run", {}).get("components", {})
    noop = r.get("noop_run", {}).get("components", {})
    lines = ["", f"Where the time goes at {r['hosts']} host(s), task wall time by phase and role:", ""]
    lines += ["| phase: role | first run | no-op run |", "|---|---:|---:|"]
    for name, value in list(first.items())[:14]:
        lines.append(f"| {name} | {value:.1f} s | {noop.get(name, 0):.1f} s |")
    return lines


def settings_table(r: dict) -> list[str]:
    lines = ["", f"Settings, no-op run at {r['hosts']} hosts:", ""]
    lines += ["| setting | runs | median | vs as shipped |", "|---|---|---:|---:|"]
    base = median(r["settings"].get("as shipped (ansible.cfg)", []))
    for name, values in r["settings"].items():
        value = median(values)
        delta = f"{100 * (value - base) / base:+.0f} %" if value and base else "-"
        shown = ", ".join(f"{v:.1f} s" for v in values) or "failed"
        lines.append(f"| {name} | {shown} | {value or 0:.1f} s | {delta} |")
    if "gather" in r:
        g = r["gather"]
        lines += [
            "",
            f"Fact gathering alone at {r['hosts']} hosts (ansible -m setup): gather_subset=min "
            f"{', '.join(f'{v:.1f} s' for v in g['min'])}; all {', '.join(f'{v:.1f} s' for v in g['all'])}",
        ]
    if "pki_install" in r:
        p = r["pki_install"]
        lines += ["", f"A control plane's {p['files']} PKI files on each of {r['hosts']} hosts:", ""]
        lines += ["| how | first | no-op |", "|---|---:|---:|"]
        for label in ("copy per file", "pki_install"):
            if label in p:
                lines.append(f"| {label} | {p[label]['first']:.1f} s | {p[label]['no-op']:.1f} s |")
    if "add_node" in r:
        lines += ["", f"Adding one worker to {r['hosts']} hosts:", ""]
        for label, a in r["add_node"].items():
            lines.append(f"- run {label}: {a['wall_seconds']} s over {a.get('hosts_in_run')} host(s)")
    return lines


def report(summary: dict) -> str:
    results = sorted(summary["results"], key=lambda r: r["hosts"])
    lines = size_table(results, summary.get("fits", {})) + phase_table(results)
    if results and results[-1].get("first_run", {}).get("components"):
        lines += component_table(results[-1])
    for r in results:
        if "settings" in r:
            lines += settings_table(r)
    return "\n".join(lines)


def compare(before: dict, after: dict) -> str:
    """Two results files side by side: wall time per size, then the no-op run by phase and role."""
    old = {r["hosts"]: r for r in before["results"]}
    lines = ["| hosts | first run before, after | no-op run before, after | tasks/host (cp) before, after |"]
    lines.append("|---:|---:|---:|---:|")
    common = [r for r in sorted(after["results"], key=lambda r: r["hosts"]) if r["hosts"] in old]
    for r in common:
        b = old[r["hosts"]]
        tasks = [x.get("first_run", {}).get("tasks_per_host", {}).get("control_plane", "-") for x in (b, r)]
        lines.append(
            f"| {r['hosts']} | {seconds(b.get('first_run'))}, {seconds(r.get('first_run'))} "
            f"| {seconds(b.get('noop_run'))}, {seconds(r.get('noop_run'))} | {tasks[0]}, {tasks[1]} |"
        )
    for r in common:
        b = old[r["hosts"]].get("noop_run", {}).get("components", {})
        a = r.get("noop_run", {}).get("components", {})
        names = sorted(set(b) | set(a), key=lambda n: -max(b.get(n, 0), a.get(n, 0)))[:14]
        lines += ["", f"No-op run at {r['hosts']} host(s), task wall time by phase and role:", ""]
        lines += ["| phase: role | before | after |", "|---|---:|---:|"]
        lines += [f"| {n} | {b.get(n, 0):.1f} s | {a.get(n, 0):.1f} s |" for n in names]
    return "\n".join(lines)


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else round((ordered[middle - 1] + ordered[middle]) / 2, 1)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,3,10,30", help="host counts, comma-separated")
    parser.add_argument(
        "--settings-at", type=int, default=10, help="size at which settings are compared (0: not at all)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the last size's hosts and the scratch dir")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/cluster-<date>.json)")
    parser.add_argument("--fresh", action="store_true", help="do not keep sizes measured earlier in --output")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print the tables of a results file")
    parser.add_argument(
        "--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"), help="only compare two results files"
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return 0
    if args.compare:
        print(compare(*(json.loads(path.read_text()) for path in args.compare)))
        return 0
    for tool in ("ansible-playbook", "podman"):
        if not shutil.which(tool):
            raise SystemExit(
                f"{tool} is missing: run `python3 tools/slipway.py exec -- python bench/cluster.py`"
            )
    sizes = [int(s) for s in args.sizes.split(",")]
    output = args.output or REPO / "bench" / "results" / f"cluster-{time.strftime('%Y-%m-%d')}.json"
    previous = json.loads(output.read_text()) if output.exists() and not args.fresh else {"results": []}
    work = Path(tempfile.mkdtemp(prefix="slipway-bench-"))
    bench = Bench(work)
    log(f"scratch directory {work}")
    raised_from = None
    results = []
    try:
        current = int(INOTIFY.read_text()) if INOTIFY.exists() else None
        if current is not None and max(sizes) > 15 and current < INOTIFY_NEEDED:
            log(f"fs.inotify.max_user_instances {current} -> {INOTIFY_NEEDED} for this run")
            INOTIFY.write_text(f"{INOTIFY_NEEDED}\n")
            raised_from = current
        for index, size in enumerate(sizes):
            keep = args.keep and index == len(sizes) - 1
            results.append(measure(bench, size, size == args.settings_at, keep, args.repeat))
    finally:
        if raised_from is not None:
            # Put back what was there, unless someone else changed it meanwhile.
            if int(INOTIFY.read_text()) == INOTIFY_NEEDED:
                INOTIFY.write_text(f"{raised_from}\n")
                log(f"fs.inotify.max_user_instances restored to {raised_from}")
            else:
                log("fs.inotify.max_user_instances changed by someone else meanwhile; left as it is")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    measured = {r["hosts"] for r in results}
    merged = [r for r in previous["results"] if r["hosts"] not in measured] + results
    merged.sort(key=lambda r: r["hosts"])
    summary = {
        "command": "python3 tools/slipway.py exec -- python bench/cluster.py " + " ".join(sys.argv[1:]),
        "commit": subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "machine": machine(),
        "playbook": " ".join(["ansible-playbook", "-i", "<bench inventory>", *PLAYBOOK]),
        "results": merged,
        "fits": {key: fit(merged, key) for key in ("first_run", "noop_run")},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=1) + "\n")
    print(report(summary))
    print(f"\nwritten to {output}")
    if args.keep:
        print(f"hosts kept; inventory under {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
