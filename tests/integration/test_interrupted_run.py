# SPDX-License-Identifier: Apache-2.0
"""A run killed partway and run again loses nothing (a real control plane on a lab host).

The control plane's files are made once (playbooks/pki.yml, playbooks/control-plane.yml,
no bring-up: the lab has no kubelet). Then every leaf is renewed through
playbooks/certs.yml (-e certs_renew=true, under faketime +340 days) and the run is
killed with SIGKILL twice: first on the controller while it reissues certificates,
then on the node right after role pki installed them, before the restarts. A third run completes. Afterwards:

- the CAs, their keys, the service-account keys and the encryption key are the same
  bytes as before, on the controller and on the node; no private key was regenerated;
- every certificate on the node is the controller's renewed one, and each replaced
  file has a backup next to it;
- manifests, kubeadm-config.yaml and the encryption configuration are unchanged and
  no manifest is left out of the kubelet's directory;
- a further certs.yml renewal run and a control-plane.yml run report changed=0.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.lab_helpers import REPO, ansible, lab_up

pytestmark = pytest.mark.lab

HOST = "ir-cp"
RENEW = ("-e", "certs_renew=true")
# At +340 days every leaf (365 days) is within the 30-day renewal window; CAs (3650) are not.
LATER = "+340d"
NODE_FILES = (
    "cd /etc/kubernetes && find . -type f -not -path './tmp/*' -not -name '*~' | sort | xargs sha256sum;"
    " echo BACKUPS $(find pki -name '*~' | wc -l);"
    " echo PARKED $(ls -A tmp/slipway-restart 2>/dev/null | wc -l)"
)
KEEP = ("ca", "front-proxy-ca", "etcd/ca")


def env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
    )


def command(inventory: Path, playbook: str, args: tuple[str, ...], faketime: str | None) -> list[str]:
    argv = ["ansible-playbook", "-i", str(inventory), f"playbooks/{playbook}", *args]
    return ["faketime", "-f", faketime, *argv] if faketime else argv


def run(
    inventory: Path, playbook: str, *args: str, faketime: str | None = None
) -> subprocess.CompletedProcess:
    argv = command(inventory, playbook, args, faketime)
    return subprocess.run(argv, capture_output=True, text=True, env=env(), cwd=REPO, check=False)


def run_killed(inventory: Path, playbook: str, task: str, *args: str, faketime: str | None = None) -> str:
    """Start the playbook and SIGKILL it (its whole process group) at the first change in ``task``."""
    argv = command(inventory, playbook, args, faketime)
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
        cwd=REPO,
        start_new_session=True,
    )
    seen, in_task = [], False
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("TASK ["):
            in_task = task in line
        elif in_task and line.startswith("changed:"):
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    out = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, f"never reached a change in {task!r}:\n{out[-3000:]}"
    return out


def node_files(inventory: Path) -> dict[str, str]:
    proc = ansible("ansible", HOST, "-i", str(inventory), "-m", "ansible.builtin.shell", "-a", NODE_FILES)
    assert " rc=0 " in proc.stdout, proc.stdout + proc.stderr
    files = {}
    for line in proc.stdout.split(">>", 1)[1].strip().splitlines():
        first, rest = line.split(maxsplit=1)
        if first in ("BACKUPS", "PARKED"):
            files[first] = rest
        else:
            files[rest.removeprefix("./")] = first
    return files


def controller_files(pki_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(pki_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(pki_dir.rglob("*"))
        if p.is_file() and not p.name.endswith("~") and ".bak" not in p.name
    }


def changed(proc: subprocess.CompletedProcess) -> dict[str, int]:
    return {
        line.split()[0]: int(line.split("changed=")[1].split()[0])
        for line in proc.stdout.splitlines()
        if " : ok=" in line
    }


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupted")
    settings = {
        "preflight_check_package_source": False,
        "control_plane_bootstrap": False,
        "certs_restart_wait": False,
        "kubelet_restart_on_change": False,
    }
    host = {"ansible_port": 22244, "slipway_node_ip": "10.77.0.244", "slipway_lab_image": "debian13"}
    with lab_up(
        root / "hosts.yml",
        {"control_plane": {HOST: host}, "workers": {}},
        settings,
        # pki_info (the node report) needs PyYAML and cryptography on the node; the lab image has neither.
        packages=("python3-yaml", "python3-cryptography"),
        playbooks=("pki.yml", "control-plane.yml"),
    ) as inventory:
        yield inventory, root / "artifacts" / "pki"


def test_killed_twice_then_completed_loses_nothing(control_plane):
    inventory, pki_dir = control_plane
    ctl_before, node_before = controller_files(pki_dir), node_files(inventory)
    assert node_before["PARKED"] == "0"

    # Killed on the controller while it reissues the leaves, then on the node right after
    # role pki installed them (one pki_install call), before the restarts.
    run_killed(inventory, "certs.yml", "PKI | Certificates of every CA (one call)", *RENEW, faketime=LATER)
    run_killed(inventory, "certs.yml", "PKI | Install the CAs", *RENEW, faketime=LATER)
    done = run(inventory, "certs.yml", *RENEW, faketime=LATER)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]

    ctl_after, node_after = controller_files(pki_dir), node_files(inventory)
    # Keys: the same bytes everywhere (renewal reissues certificates with the same key).
    keys = [name for name in ctl_before if name.endswith(".key")]
    assert len(keys) >= 10
    assert {k: ctl_after[k] for k in keys} == {k: ctl_before[k] for k in keys}
    node_keys = [name for name in node_before if name.endswith(".key")]
    assert {k: node_after[k] for k in node_keys} == {k: node_before[k] for k in node_keys}
    # CA certificates, service-account public key and encryption key unchanged.
    for name in [f"{ca}.crt" for ca in KEEP] + ["sa.pub", "encryption-config.yaml"]:
        assert ctl_after[name] == ctl_before[name], name
    for name in [f"pki/{ca}.crt" for ca in KEEP] + ["pki/sa.pub", "encryption/config.yaml"]:
        assert node_after[name] == node_before[name], name
    # Every leaf renewed, and the node holds the controller's renewed copy.
    node_name = HOST
    leaves = [n for n in node_before if n.startswith("pki/") and n.endswith(".crt") and n[4:-4] not in KEEP]
    assert len(leaves) == 7, leaves
    for leaf in leaves:
        assert node_after[leaf] != node_before[leaf], leaf
        assert node_after[leaf] == ctl_after[f"nodes/{node_name}/{leaf}"], leaf
    assert int(node_after["BACKUPS"]) >= 7
    # Configurations intact, no manifest left out.
    configs = [n for n in node_before if n.startswith("manifests/") or n in ("kubeadm-config.yaml",)]
    assert len(configs) >= 5
    assert {n: node_after[n] for n in configs} == {n: node_before[n] for n in configs}
    assert node_after["PARKED"] == "0"

    # Nothing left to do.
    for playbook, args in (("certs.yml", RENEW), ("control-plane.yml", ())):
        again = run(inventory, playbook, *args, faketime=LATER)
        assert again.returncode == 0, again.stdout[-3000:]
        assert changed(again) == {"localhost": 0, HOST: 0} or changed(again) == {HOST: 0}, (
            playbook,
            changed(again),
        )
