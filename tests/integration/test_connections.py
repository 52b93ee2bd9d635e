# SPDX-License-Identifier: Apache-2.0
"""A real play over the default ssh connection and over paramiko, against a lab host it creates.

ssh is the path Slipway is built and tuned for (pipelining on). paramiko is the option
for controllers without an OpenSSH client: ansible-core's own connection up to 2.20,
community.general.paramiko_ssh from 2.21 on. Host keys are checked in both cases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
LAB = Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway")) / "lab" / "ssh"

INVENTORY = """\
k8s_cluster:
  children:
    workers:
      hosts:
        conn-deb12:
          ansible_port: 22121
          slipway_node_ip: 10.77.0.121
          slipway_lab_image: debian12
  vars:
    ansible_host: 127.0.0.1
    ansible_user: root
    ansible_ssh_private_key_file: {key}
    ansible_ssh_common_args: -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes
"""

PLAY = """\
- name: A real play
  hosts: k8s_cluster
  gather_facts: false
  tasks:
    - name: Gather a fact subset
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Write a file with become
      become: true
      ansible.builtin.copy:
        content: "{{ ansible_connection | default('ssh') }} {{ ansible_distribution_release }}\\n"
        dest: /root/slipway-connection-test
        owner: root
        mode: "0600"
    - name: Read it back
      ansible.builtin.slurp:
        src: /root/slipway-connection-test
      register: connection_test_file
    - name: It is what was written
      ansible.builtin.assert:
        that: (connection_test_file.content | b64decode) is search('bookworm')
"""


def ansible_core_version() -> tuple[int, int]:
    import ansible.release  # noqa: PLC0415 - only needed here

    major, minor = ansible.release.__version__.split(".")[:2]
    return int(major), int(minor)


def paramiko_connection() -> str:
    """ansible-core's paramiko up to 2.20, the community.general one from 2.21 on."""
    return "paramiko" if ansible_core_version() < (2, 21) else "community.general.paramiko_ssh"


@pytest.fixture(scope="module")
def lab_host(tmp_path_factory):
    if not shutil.which("podman"):
        if os.environ.get("CI") == "true":
            pytest.fail("podman is missing: `python3 tools/slipway.py setup` installs the lab packages")
        pytest.skip("no podman on this machine")
    tmp = tmp_path_factory.mktemp("conn")
    inventory = tmp / "hosts.yml"
    inventory.write_text(INVENTORY.format(known_hosts=LAB / "known_hosts", key=LAB / "id_ed25519"))
    lab = [sys.executable, str(REPO / "tools" / "slipway.py"), "lab"]
    up = subprocess.run([*lab, "up", "-i", str(inventory)], capture_output=True, text=True, check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    (tmp / "play.yml").write_text(PLAY)
    yield tmp, inventory
    subprocess.run([*lab, "down", "-i", str(inventory)], capture_output=True, text=True, check=False)


def play(
    tmp: Path, inventory: Path, *args: str, env_extra: dict | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **(env_extra or {}))
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(tmp / "play.yml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_default_ssh_connection(lab_host):
    tmp, inventory = lab_host
    proc = play(tmp, inventory, "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ESTABLISH SSH CONNECTION" in proc.stdout
    assert "conn-deb12                 : ok=4" in proc.stdout


def test_paramiko_connection(lab_host, tmp_path):
    tmp, inventory = lab_host
    # paramiko reads ~/.ssh/known_hosts: give it a home whose known_hosts is the lab's,
    # so host keys are still checked.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(LAB / "known_hosts", home / ".ssh" / "known_hosts")
    (home / ".ansible").mkdir()
    proc = play(
        tmp,
        inventory,
        "-c",
        paramiko_connection(),
        "-e",
        f"ansible_ssh_private_key_file={LAB / 'id_ed25519'}",
        "-vvv",
        env_extra={
            "HOME": str(home),
            "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""),
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ESTABLISH PARAMIKO SSH CONNECTION" in proc.stdout
    assert "ESTABLISH SSH CONNECTION" not in proc.stdout
    assert "conn-deb12                 : ok=4" in proc.stdout
