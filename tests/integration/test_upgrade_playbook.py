# SPDX-License-Identifier: Apache-2.0
"""playbooks/upgrade.yml on real lab hosts, as far as this machine allows.

A control plane (Debian 13) and a worker (Debian 12) get the stand-in
Kubernetes 1.34.2 packages (real apt repository per minor, real pinning and
holds, no programs), the PKI and the control plane's files. Then:

- 1.34 -> 1.36 is refused in the check play, naming slipway_kubernetes_version,
  with nothing changed on either host;
- 1.34 -> 1.35 switches each node's repository to v1.35, upgrades and holds the
  packages, re-renders the static pods with the new image tags (the old
  manifests kept as backups), and a second run reports changed=0.

The steps that need a running API server (drain, kubeadm upgrade apply, waits,
kubelet restart, verification) are switched off with upgrade_cluster_api=false:
the stand-in packages have no kubelet or kubeadm.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.integration.lab_helpers import LAB_SSH, REPO, ansible, lab, require_podman, shell

pytestmark = pytest.mark.lab

CP, WORKER = "up-cp", "up-w1"
STATE = (
    "cat /etc/apt/sources.list.d/kubernetes.list; dpkg-query -W kubeadm kubelet kubectl cri-tools;"
    " apt-mark showhold; sha256sum /etc/kubernetes/manifests/*.yaml /etc/kubernetes/kubeadm-config.yaml 2>&1;"
    " ls /etc/kubernetes/tmp/slipway-manifests 2>&1; true"
)
SETUP = """
- name: Stand-in repository and the packages of the starting version
  hosts: k8s_cluster
  gather_facts: false
  tasks:
    - name: Directory
      ansible.builtin.file: {path: /srv/slipway-standin, state: directory, mode: "0755"}
    - name: Unpack
      ansible.builtin.unarchive: {src: "%(archive)s", dest: /srv/slipway-standin}
    - name: Packages
      ansible.builtin.include_role: {name: slipway.cluster.kube_packages}
    - name: Kubelet files
      ansible.builtin.include_role: {name: slipway.cluster.kubelet}
"""


def recap(proc: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    out = {}
    for line in proc.stdout.splitlines():
        if " : ok=" in line:
            host = line.split()[0]
            out[host] = {k: int(v) for k, v in (f.split("=") for f in line.split(":", 1)[1].split())}
    return out


def playbook(inventory, name, *extra):
    return ansible(
        "ansible-playbook", "-i", str(inventory), name, *extra,
        env_extra={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_podman()
    tmp = tmp_path_factory.mktemp("upgrade")
    hosts = {
        "control_plane": {
            CP: {"ansible_port": 22241, "slipway_node_ip": "10.77.0.241", "slipway_lab_image": "debian13"}
        },
        "workers": {
            WORKER: {"ansible_port": 22242, "slipway_node_ip": "10.77.0.242", "slipway_lab_image": "debian12"}
        },
    }
    settings = {
        "ansible_host": "127.0.0.1",
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(LAB_SSH / "id_ed25519"),
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={LAB_SSH / 'known_hosts'} -o StrictHostKeyChecking=yes"
        ),
        "preflight_check_package_source": False,
        "slipway_package_base_url": "file:///srv/slipway-standin/core:/stable:",
        "slipway_kubernetes_version": "1.34.2",
        "control_plane_bootstrap": False,
        "upgrade_cluster_api": False,
    }
    groups = {name: {"hosts": members} for name, members in hosts.items()}
    inventory = tmp / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {"all": {"vars": settings, "children": {"k8s_cluster": {"children": groups}}}}, sort_keys=False
        )
    )
    standin = tmp / "standin"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "slipway.py"), "standin-repo", str(standin)],
        check=True,
        capture_output=True,
    )
    archive = tmp / "standin.tar.gz"
    subprocess.run(["tar", "-C", str(standin), "-czf", str(archive), "."], check=True)
    (tmp / "setup.yml").write_text(SETUP % {"archive": archive})
    up = lab("up", inventory)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for step in (str(tmp / "setup.yml"), "playbooks/pki.yml", "playbooks/control-plane.yml"):
            proc = playbook(inventory, step)
            assert proc.returncode == 0, step + proc.stdout[-4000:] + proc.stderr[-2000:]
        yield inventory
    finally:
        lab("down", inventory)


def test_a_skipped_minor_is_refused_before_any_change(cluster):
    before = {host: shell(cluster, host, STATE) for host in (CP, WORKER)}
    proc = playbook(cluster, "playbooks/upgrade.yml", "-e", "slipway_kubernetes_version=1.36.4")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "slipway_kubernetes_version is 1.36.4 but this node runs kubelet 1.34.2" in out
    assert "one minor at a time" in out
    assert "set slipway_kubernetes_version to a 1.35 release" in out
    assert "Nothing was changed on any node" in out
    # Stopped in the check play: no control plane was touched.
    assert "Upgrade | kubeadm of the new minor" not in out
    assert all(r["changed"] == 0 for r in recap(proc).values()), recap(proc)
    assert {host: shell(cluster, host, STATE) for host in (CP, WORKER)} == before


def test_a_downgrade_is_refused(cluster):
    proc = playbook(cluster, "playbooks/upgrade.yml", "-e", "slipway_kubernetes_version=1.34.1")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "which is newer: downgrades are not supported" in out


def test_next_minor_upgrades_packages_and_static_pods_then_nothing(cluster):
    old = shell(cluster, CP, "grep 'image:' /etc/kubernetes/manifests/kube-apiserver.yaml")
    assert "kube-apiserver:v1.34.2" in old, old
    first = playbook(cluster, "playbooks/upgrade.yml", "-e", "slipway_kubernetes_version=1.35.2")
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    assert recap(first)[CP]["changed"] > 0
    assert recap(first)[WORKER]["changed"] > 0

    for host in (CP, WORKER):
        state = shell(
            cluster,
            host,
            "cat /etc/apt/sources.list.d/kubernetes.list;"
            " dpkg-query -W -f='${Package}=${Version} ' kubeadm kubelet kubectl cri-tools;"
            " echo held: $(apt-mark showhold)",
        )
        assert "/v1.35/deb/" in state
        assert "/v1.34/" not in state
        for pkg in ("kubeadm", "kubelet", "kubectl"):
            assert f"{pkg}=1.35.2-1.1" in state, state
        assert "cri-tools=1.35.0-1.1" in state, state
        assert "held: cri-tools kubeadm kubectl kubelet" in state, state
    manifests = shell(
        cluster,
        CP,
        "grep -h 'image:' /etc/kubernetes/manifests/*.yaml;"
        " grep -h kubernetesVersion /etc/kubernetes/kubeadm-config.yaml",
    )
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert f"{component}:v1.35.2" in manifests, manifests
    assert "v1.34.2" not in manifests
    assert "kubernetesVersion: v1.35.2" in manifests
    # The replaced manifests are kept as backups, outside the kubelet's directory.
    backups = shell(
        cluster,
        CP,
        "grep -l 'kube-apiserver:v1.34.2' /etc/kubernetes/tmp/slipway-manifests/kube-apiserver.yaml.*",
    )
    assert "kube-apiserver.yaml." in backups, backups
    assert "kube-apiserver.yaml." not in shell(cluster, CP, "ls /etc/kubernetes/manifests")

    again = playbook(cluster, "playbooks/upgrade.yml", "-e", "slipway_kubernetes_version=1.35.2")
    assert again.returncode == 0, again.stdout[-3000:]
    changes = {host: r["changed"] for host, r in recap(again).items()}
    assert {CP, WORKER} <= set(changes)
    assert set(changes.values()) == {0}, changes
