# SPDX-License-Identifier: Apache-2.0
"""Run playbooks/pki.yml against a throw-away inventory, and read what it made."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

INVENTORY = """\
k8s_cluster:
  children:
    control_plane:
      hosts:
{control_plane}
    workers:
      hosts:
        w1: {{ansible_host: 192.0.2.21}}
"""


def write_inventory(directory: Path, addresses: dict[str, str], extra_vars: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    hosts = "\n".join(f"        {name}: {{ansible_host: {ip}}}" for name, ip in addresses.items())
    path = directory / "hosts.yml"
    path.write_text(INVENTORY.format(control_plane=hosts))
    group_vars = directory / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    (group_vars / "cluster.yml").write_text(json.dumps(extra_vars or {}))
    return path


def run_pki(
    inventory: Path, *args: str, faketime: str | None = None, playbook: str = "pki.yml"
) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
    )
    argv = ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / playbook), *args]
    if faketime:
        if not shutil.which("faketime"):
            raise AssertionError("faketime is missing: `python3 tools/slipway.py setup` installs it")
        argv = ["faketime", "-f", faketime, *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)


def recap(proc: subprocess.CompletedProcess) -> dict[str, int]:
    match = re.search(
        r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout
    )
    assert match, proc.stdout + proc.stderr
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


def changed_tasks(proc: subprocess.CompletedProcess) -> list[str]:
    """Names of the tasks that reported changed, in order (default callback output)."""
    tasks, current = [], None
    for line in proc.stdout.splitlines():
        if line.startswith("TASK ["):
            current = line[6 : line.rindex("]")]
        elif line.startswith("changed:") and current and (not tasks or tasks[-1] != current):
            tasks.append(current)
    return tasks


def snapshot(pki_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(pki_dir)): p.read_bytes() for p in sorted(pki_dir.rglob("*")) if p.is_file()}


def python() -> str:
    return sys.executable
