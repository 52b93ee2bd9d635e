# SPDX-License-Identifier: Apache-2.0
"""Lab hosts for integration tests: an inventory, `lab up` before, `lab down` after."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LAB_SSH = Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway")) / "lab" / "ssh"


def require_podman() -> None:
    if shutil.which("podman"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("podman is missing: `python3 tools/slipway.py setup` installs the lab packages")
    pytest.skip("no podman on this machine")


def write_inventory(path: Path, groups: dict[str, dict[str, dict]], group_vars: dict | None = None) -> Path:
    """``groups``: group name -> {host: hostvars}; connection settings of the lab are added."""
    inventory = {
        "k8s_cluster": {
            "children": {name: {"hosts": hosts} for name, hosts in groups.items()},
            "vars": {
                "ansible_host": "127.0.0.1",
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(LAB_SSH / "id_ed25519"),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={LAB_SSH / 'known_hosts'} -o StrictHostKeyChecking=yes"
                ),
                **(group_vars or {}),
            },
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def lab(action: str, inventory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "slipway.py"), "lab", action, "-i", str(inventory)],
        capture_output=True,
        text=True,
        check=False,
    )


def ansible(*argv: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """``ansible-playbook`` or ``ansible`` with the repository's configuration, from its root."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **(env_extra or {}))
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd=REPO, check=False)


def shell(inventory: Path, host: str, command: str) -> str:
    """Run a read-only shell command on a lab host; its stdout."""
    proc = ansible("ansible", host, "-i", str(inventory), "-m", "ansible.builtin.shell", "-a", command, "-o")
    assert "UNREACHABLE" not in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def podman(*args: str) -> subprocess.CompletedProcess:
    """podman with the lab's containers.conf (the one `slipway lab` writes)."""
    env = dict(os.environ, CONTAINERS_CONF=str(LAB_SSH.parents[1] / "podman" / "containers.conf"))
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, check=False)
