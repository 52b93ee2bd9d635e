# SPDX-License-Identifier: Apache-2.0
"""Membership playbooks on real lab hosts, as far as a machine without Kubernetes binaries allows.

Three lab hosts: cp1 (first control plane), w1 and w2 (workers). There is no API
server, kubeadm or kubectl here (the lab has no Kubernetes programs), so:

* "already joined" is a node with /etc/kubernetes/kubelet.conf (the file is
  written by the test): join.yml skips it with changed=0 and touches nothing;
* a new worker whose API endpoint does not answer stops before anything is
  written, naming the endpoint and the fix;
* with a plain TCP listener on cp1:6443 (only so the reachability check passes;
  it is not an API server), the JoinConfiguration is written on the worker
  (0600, CA hash equal to openssl's), the token creation on cp1 fails with its
  message, the file is kept without the token, and no token appears in -v output;
* remove-node.yml refuses bad input before any host is touched;
* add-nodes.yml --limit touches only the limited host.

kubeadm join itself, the token Secret, labels, taints, drain and delete need a
real cluster (docs/membership.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.integration.lab_helpers import REPO, lab_up

pytestmark = pytest.mark.lab

HOSTS = {
    "cp1": {"ansible_port": 22211, "slipway_node_ip": "10.77.0.211", "slipway_lab_image": "debian12"},
    "w1": {"ansible_port": 22212, "slipway_node_ip": "10.77.0.212", "slipway_lab_image": "debian12"},
    "w2": {"ansible_port": 22213, "slipway_node_ip": "10.77.0.213", "slipway_lab_image": "debian12"},
}
STATE = (
    "find /etc/kubernetes /var/lib/kubelet -printf '%p %m %s\\n' 2>/dev/null | sort;"
    " md5sum /etc/kubernetes/*.conf 2>&1"
)
TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")
FAKE_KUBELET_CONF = "mkdir -p /etc/kubernetes && echo 'slipway test: joined' > /etc/kubernetes/kubelet.conf"


def run(inventory, *argv, env_extra=None):
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
        **(env_extra or {}),
    )
    return subprocess.run(
        [argv[0], "-i", str(inventory), *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def sh(inventory, host, command):
    proc = run(inventory, "ansible", host, "-m", "ansible.builtin.shell", "-a", command)
    assert "UNREACHABLE" not in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout.split(">>", 1)[-1]


def recap(proc) -> dict[str, dict[str, int]]:
    hosts = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line)
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


@pytest.fixture(scope="module")
def lab_hosts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("join")
    groups = {
        "control_plane": {h: v for h, v in HOSTS.items() if h.startswith("cp")},
        "workers": {h: v for h, v in HOSTS.items() if not h.startswith("cp")},
    }
    with lab_up(
        tmp / "hosts.yml", groups, {"preflight_check_package_source": False}, playbooks=("pki.yml",)
    ) as inventory:
        for host in ("cp1", "w1"):
            sh(inventory, host, FAKE_KUBELET_CONF)
        yield inventory, tmp / "artifacts" / "pki"


def test_1_unreachable_endpoint_stops_before_any_change(lab_hosts):
    inventory, _ = lab_hosts
    before = {h: sh(inventory, h, STATE) for h in HOSTS}
    proc = run(inventory, "ansible-playbook", "playbooks/join.yml", "-e", "join_connect_timeout=3")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "w2 cannot reach the API server at 10.77.0.211:6443" in out
    assert "join_connect_timeout" in out
    assert "no token was made" in out
    assert "Create the token" not in out
    assert {h: sh(inventory, h, STATE) for h in HOSTS} == before
    assert all(r.get("changed", 0) == 0 for r in recap(proc).values()), recap(proc)


def test_2_config_rendered_token_failure_reported_and_never_shown(lab_hosts):
    inventory, pki_dir = lab_hosts
    # A bare TCP listener on cp1:6443 so the reachability check passes (it is not an API server).
    sh(
        inventory,
        "cp1",
        "systemd-run --unit slipway-test-listener python3 -m http.server --bind 10.77.0.211 6443",
    )
    try:
        proc = run(inventory, "ansible-playbook", "playbooks/join.yml", "-v")
    finally:
        sh(inventory, "cp1", "systemctl stop slipway-test-listener || true")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Creating the bootstrap token on cp1 failed" in out
    assert "Nothing was joined" in out
    assert not TOKEN.search(out), TOKEN.search(out).group(0)
    mode = sh(inventory, "w2", "stat -c '%a %U' /etc/kubernetes/kubeadm-join.yaml").split()[-2:]
    assert mode == ["600", "root"]
    text = sh(inventory, "w2", "cat /etc/kubernetes/kubeadm-join.yaml")
    assert not TOKEN.search(text)
    config = yaml.safe_load(text[text.index("# Record") :])
    assert config["kind"] == "JoinConfiguration"
    assert config["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    discovery = config["discovery"]["bootstrapToken"]
    assert "token" not in discovery
    assert discovery["apiServerEndpoint"] == "10.77.0.211:6443"
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(pki_dir / "ca.crt")],
        capture_output=True,
        check=True,
    )
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=pub.stdout, capture_output=True, check=True
    )
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex"], input=der.stdout, capture_output=True, check=True
    )
    assert discovery["caCertHashes"] == ["sha256:" + digest.stdout.decode().split()[-1]]
    registration = config["nodeRegistration"]
    assert registration["name"] == "w2"
    assert registration["taints"] == []
    assert {"name": "node-ip", "value": "10.77.0.213"} in registration["kubeletExtraArgs"]
    # cp1 and w1 (joined) were not changed
    assert recap(proc)["w1"]["changed"] == 0
    assert recap(proc)["cp1"]["changed"] == 0


def test_3_joined_nodes_are_skipped_and_untouched(lab_hosts):
    inventory, _ = lab_hosts
    sh(inventory, "w2", FAKE_KUBELET_CONF)
    before = {h: sh(inventory, h, STATE) for h in HOSTS}
    proc = run(inventory, "ansible-playbook", "playbooks/join.yml", "-v")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert set(recap(proc)) == set(HOSTS)
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(proc).values()), recap(proc)
    assert "kubeadm join --config" not in out.replace("skipping: [", "")
    assert (
        "labels and taints (slipway_node_labels, slipway_node_taints) are set once the API server answers"
        in out
    )
    check = run(inventory, "ansible-playbook", "playbooks/join.yml", "--check", "--diff")
    assert check.returncode == 0, (check.stdout + check.stderr)[-3000:]
    assert all(r["changed"] == 0 for r in recap(check).values()), recap(check)
    assert {h: sh(inventory, h, STATE) for h in HOSTS} == before


def test_4_add_nodes_limit_touches_only_the_limited_host(lab_hosts, tmp_path_factory):
    inventory, _ = lab_hosts
    # w1 is in the cluster: nothing to do, nothing touched.
    before = {h: sh(inventory, h, STATE) for h in HOSTS}
    proc = run(inventory, "ansible-playbook", "playbooks/add-nodes.yml", "--limit", "w1")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert set(recap(proc)) == {"w1"}, recap(proc)
    assert recap(proc)["w1"]["changed"] == 0
    assert "New nodes: none, nothing to do" in out
    assert {h: sh(inventory, h, STATE) for h in HOSTS} == before

    # w2 becomes new again: prepared for real from the offline sources of
    # `cluster --offline-lab`, then the join stops at the endpoint check (no API server here).
    sh(inventory, "w2", "rm -f /etc/kubernetes/kubelet.conf /etc/kubernetes/kubeadm-join.yaml")
    offline = tmp_path_factory.mktemp("offline")
    env = {"SLIPWAY_OFFLINE_DIR": str(offline)}
    sources = run(
        inventory,
        "ansible-playbook",
        "tools/lab/offline-sources.yml",
        "--limit",
        "w2:localhost",
        env_extra=env,
    )
    assert sources.returncode == 0, sources.stdout[-3000:] + sources.stderr[-3000:]
    others = {h: sh(inventory, h, STATE) for h in ("cp1", "w1")}
    proc = run(
        inventory,
        "ansible-playbook",
        "playbooks/add-nodes.yml",
        "--limit",
        "w2",
        "-e",
        "@tools/lab/offline-vars.yml",
        "-e",
        "join_connect_timeout=3",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert set(recap(proc)) == {"w2"}, recap(proc)
    assert "New nodes: w2" in out
    assert recap(proc)["w2"]["changed"] > 0  # swap, kernel, containerd, packages, kubelet files
    assert "w2 cannot reach the API server at 10.77.0.211:6443" in out
    assert "PLAY [Add nodes | Prepare the new nodes]" in out
    assert "/var/lib/kubelet/config.yaml" in sh(inventory, "w2", "ls /var/lib/kubelet/config.yaml")
    assert {h: sh(inventory, h, STATE) for h in ("cp1", "w1")} == others


def test_5_remove_node_stops_when_the_api_server_does_not_answer(lab_hosts):
    inventory, _ = lab_hosts
    before = {h: sh(inventory, h, STATE) for h in HOSTS}
    proc = run(
        inventory,
        "ansible-playbook",
        "playbooks/remove-node.yml",
        "-e",
        "remove_node=w2",
        "-e",
        "remove_node_confirm=true",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "kubectl on cp1 could not read node w2" in out
    assert "Nothing was drained, deleted or reset" in out
    assert "PLAY [Remove node | Reset the host]" not in out
    assert {h: sh(inventory, h, STATE) for h in HOSTS} == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "Name the node to remove: -e remove_node=NAME"),
        (["-e", "remove_node=nope"], "remove_node=nope is not a host of k8s_cluster"),
        (["-e", "remove_node=cp1"], "remove_node=cp1 is the first control plane"),
        (["-e", "remove_node=cp2"], "remove_node=cp2 is a control plane"),
        (["-e", "remove_node=w9"], "Removal not confirmed: nothing was changed"),
    ],
)
def test_remove_node_refuses_bad_input_before_any_host(tmp_path, extra, message):
    """Hosts at unreachable documentation addresses: any contact would show as UNREACHABLE."""
    hosts = {
        "cp1": {"ansible_host": "192.0.2.1"},
        "cp2": {"ansible_host": "192.0.2.2"},
        "cp3": {"ansible_host": "192.0.2.3"},
        "w9": {"ansible_host": "192.0.2.9"},
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "preflight_check_package_source": False,
                        "ansible_ssh_common_args": "-o ConnectTimeout=2",
                    },
                    "children": {
                        "k8s_cluster": {
                            "children": {
                                "control_plane": {"hosts": {h: hosts[h] for h in ("cp1", "cp2", "cp3")}},
                                "workers": {"hosts": {"w9": hosts["w9"]}},
                            }
                        }
                    },
                }
            }
        )
    )
    proc = run(inventory, "ansible-playbook", "playbooks/remove-node.yml", *extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert message in out, out[-3000:]
    assert "UNREACHABLE" not in out
    assert "PLAY [Remove node | Drain" not in out
    assert set(recap(proc)) <= {"localhost", *hosts}
    assert all(r.get("changed", 0) == 0 for r in recap(proc).values())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
