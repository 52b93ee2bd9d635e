# SPDX-License-Identifier: Apache-2.0
"""Lab hosts for integration tests: an inventory, `lab up` before, `lab down` after."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def lab_up(
    path: Path,
    groups: dict[str, dict[str, dict]],
    group_vars: dict | None = None,
    *,
    packages: tuple[str, ...] = (),
    playbooks: tuple[str, ...] = (),
) -> Iterator[Path]:
    """The inventory at ``path`` (as `write_inventory` writes it) with its hosts up for the block.

    Skips without podman (see `require_podman`). After `lab up` (its output when it fails),
    apt installs ``packages`` on every host, then each of ``playbooks`` (names in playbooks/)
    runs; each must succeed. `lab down` follows in any case. In a module fixture:
    ``with lab_up(tmp / "hosts.yml", {"control_plane": {...}}) as inventory: yield inventory``.
    """
    require_podman()
    inventory = write_inventory(path, groups, group_vars)
    try:
        up = lab("up", inventory)
        assert up.returncode == 0, up.stdout + up.stderr
        if packages:
            apt = f"name={','.join(packages)} update_cache=true"
            proc = ansible(
                "ansible", "k8s_cluster", "-i", str(inventory), "-m", "ansible.builtin.apt", "-a", apt
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
        for name in playbooks:
            proc = ansible("ansible-playbook", "-i", str(inventory), f"playbooks/{name}")
            assert proc.returncode == 0, f"{name}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"
        yield inventory
    finally:
        lab("down", inventory)


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
