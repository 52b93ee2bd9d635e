# SPDX-License-Identifier: Apache-2.0
"""Render the control plane of a throw-away inventory on the controller.

Each control-plane host of the inventory runs with ``ansible_connection: local``
and its own scratch directories, so playbooks/control-plane.yml writes every
node's manifests under one temporary directory, exactly as it would on nodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def write_inventory(root: Path, nodes: dict[str, str], **cluster_vars) -> Path:
    hosts = {}
    for name, address in nodes.items():
        base = root / "nodes" / name
        hosts[name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "slipway_node_ip": address,
            "pki_dest_dir": str(base / "pki"),
            "pki_kubeconfig_dir": str(base),
            "control_plane_manifest_dir": str(base / "manifests"),
            "control_plane_config_dir": str(base),
            "control_plane_audit_log_dir": str(base / "audit-log"),
            "kubelet_dir": str(base / "kubelet"),
        }
    # Cluster-wide settings in all.vars, as users keep them in group_vars/all:
    # the controller plays (pki.yml on localhost) read them too.
    settings = {"preflight_check_package_source": False, "control_plane_bootstrap": False, **cluster_vars}
    groups = {"control_plane": {"hosts": hosts}, "workers": {"hosts": {}}}
    inventory = {"all": {"vars": settings, "children": {"k8s_cluster": {"children": groups}}}}
    root.mkdir(parents=True, exist_ok=True)
    path = root / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def playbook(inventory: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
    )
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / name), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def changed_count(proc: subprocess.CompletedProcess) -> int:
    total = 0
    for line in proc.stdout.splitlines():
        if " : ok=" in line and "changed=" in line:
            total += int(line.split("changed=")[1].split()[0])
    return total


def manifests(root: Path, node: str) -> dict[str, dict]:
    directory = root / "nodes" / node / "manifests"
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))}
