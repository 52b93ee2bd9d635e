# SPDX-License-Identifier: Apache-2.0
"""Role kubelet run for real (on the controller, into a scratch directory) for each supported minor.

Checks the KubeletConfiguration against kubeadm's values (facts section 4.1), the
version-specific files (instance-config.yaml from 1.34, no CRI flag from 1.34),
the swap settings, and that a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

PLAY = """
- name: Kubelet files
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: slipway.cluster.kubelet
"""


def converge(tmp: Path, **extra) -> subprocess.CompletedProcess:
    (tmp / "play.yml").write_text(PLAY)
    variables = {
        "kubelet_dir": str(tmp / "kubelet"),
        "slipway_node_ip": "10.77.0.11",
        "ansible_python_interpreter": sys.executable,
        **extra,
    }
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
    )
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", str(tmp / "play.yml"), "-e", json.dumps(variables)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def changed(proc) -> int:
    return int(proc.stdout.split("localhost", 2)[-1].split("changed=")[1].split()[0])


@pytest.mark.parametrize("version", ["1.34.2", "1.35.2", "1.36.4"])
def test_files_per_minor_and_idempotence(tmp_path, version):
    first = converge(tmp_path, slipway_kubernetes_version=version)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    kubelet = tmp_path / "kubelet"
    assert oct(kubelet.stat().st_mode & 0o777) == "0o700"
    config = yaml.safe_load((kubelet / "config.yaml").read_text())
    assert config["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert config["kind"] == "KubeletConfiguration"
    assert config["clusterDNS"] == ["10.96.0.10"]
    assert config["clusterDomain"] == "cluster.local"
    assert config["staticPodPath"] == "/etc/kubernetes/manifests"
    assert config["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt"
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["cgroupDriver"] == "systemd"
    assert config["rotateCertificates"] is True
    assert (config["healthzBindAddress"], config["healthzPort"], config["readOnlyPort"]) == (
        "127.0.0.1",
        10248,
        0,
    )
    assert "failSwapOn" not in config
    flags = (kubelet / "kubeadm-flags.env").read_text()
    minor = int(version.split(".")[1])
    assert flags.startswith('KUBELET_KUBEADM_ARGS="')
    assert "--node-ip=10.77.0.11" in flags
    assert ("--container-runtime-endpoint" in flags) is (minor < 34)
    assert "--pod-infra-container-image" not in flags
    instance = kubelet / "instance-config.yaml"
    assert instance.exists() is (minor >= 34)
    assert yaml.safe_load(instance.read_text()) == {
        "containerRuntimeEndpoint": "unix:///var/run/containerd/containerd.sock"
    }
    second = converge(tmp_path, slipway_kubernetes_version=version)
    assert second.returncode == 0
    assert changed(second) == 0


@pytest.mark.parametrize(
    ("extra", "swap"),
    [
        ({"slipway_swap_behavior": "LimitedSwap"}, "LimitedSwap"),
        ({"slipway_swap_behavior": "NoSwap"}, "NoSwap"),
        ({"swap_keep": ["/dev/vda3"]}, "NoSwap"),
    ],
)
def test_swap_support_reaches_the_kubelet(tmp_path, extra, swap):
    proc = converge(tmp_path, **extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    config = yaml.safe_load((tmp_path / "kubelet" / "config.yaml").read_text())
    assert config["failSwapOn"] is False
    assert config["memorySwap"] == {"swapBehavior": swap}


def test_user_fields_win(tmp_path):
    proc = converge(
        tmp_path,
        kubelet_config_extra={"maxPods": 200, "authentication": {"webhook": {"cacheTTL": "2m"}}},
        kubelet_extra_args={"v": 2},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    config = yaml.safe_load((tmp_path / "kubelet" / "config.yaml").read_text())
    assert config["maxPods"] == 200
    assert config["authentication"]["webhook"] == {"cacheTTL": "2m", "enabled": True}
    assert "--v=2" in (tmp_path / "kubelet" / "kubeadm-flags.env").read_text()
