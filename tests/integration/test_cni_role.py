# SPDX-License-Identifier: Apache-2.0
"""Role cni on a real lab host, as far as a machine without Kubernetes allows.

One Debian 12 lab host as the first control plane, Calico chosen, the upstream
files read from a directory on the controller (``cni_source``). The two upstream
files are stand-ins written by this test (GitHub is not reachable here); the
custom resources are Slipway's real rendering. The host gets the real ``kubectl``
of this machine, but there is no API server: the run must lay every file out
(modes, content, backups), then stop at the first ``kubectl diff`` with kubectl's
own error, and a second run must change nothing before that point.
"""

from __future__ import annotations

import base64
import re
import shutil

import pytest
import yaml

from ansible_collections.slipway.cluster.plugins.module_utils import cni
from tests.integration.lab_helpers import ansible, lab, require_podman, shell, write_inventory

pytestmark = pytest.mark.lab

HOST = "cni-deb12"
CNI_DIR = "/etc/kubernetes/slipway/cni"
STAND_IN = "# stand-in written by tests/integration/test_cni_role.py, not upstream's file\n"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_podman()
    if not shutil.which("kubectl"):
        pytest.skip("no kubectl on this machine to copy to the lab host")
    tmp = tmp_path_factory.mktemp("cni")
    source = tmp / "calico"
    source.mkdir()
    (source / "operator-crds.yaml").write_text(STAND_IN + "apiVersion: v1\nkind: List\nitems: []\n")
    (source / "tigera-operator.yaml").write_text(
        STAND_IN + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tigera-operator\n"
    )
    inventory = write_inventory(
        tmp / "hosts.yml",
        {
            "control_plane": {
                HOST: {
                    "ansible_port": 22201,
                    "slipway_node_ip": "10.77.0.201",
                    "slipway_lab_image": "debian12",
                }
            }
        },
        {
            "preflight_check_package_source": False,
            "slipway_cni": "calico",
            "cni_source": str(source),
            "cni_artifacts_dir": str(tmp / "artifacts"),
            "cni_calico_block_size": 24,
        },
    )
    try:
        up = lab("up", inventory)
        assert up.returncode == 0, up.stdout + up.stderr
        copied = ansible(
            "ansible",
            HOST,
            "-i",
            str(inventory),
            "-m",
            "ansible.builtin.copy",
            "-a",
            f"src={shutil.which('kubectl')} dest=/usr/local/bin/kubectl mode=0755",
        )
        assert copied.returncode == 0, copied.stdout + copied.stderr
        yield inventory
    finally:
        lab("down", inventory)


def run(inventory):
    proc = ansible("ansible-playbook", "-i", str(inventory), "playbooks/network.yml")
    return proc.returncode, proc.stdout + proc.stderr


def test_files_are_laid_out_then_the_apply_stops_at_kubectl(node):
    rc, out = run(node)
    assert rc != 0, out[-3000:]
    # Stopped at the first diff (CRDs first), with kubectl's own error, before any apply.
    assert "What would change (kubectl diff, server-side) in 10-operator-crds.yaml" in out
    assert "Server-side apply of" not in out.split("fatal:")[0]
    assert re.search(r"admin\.conf|connection refused|localhost:8080", out), out[-3000:]
    listing = shell(node, HOST, f"stat -c '%a %U %n' {CNI_DIR} {CNI_DIR}/*.yaml")
    assert f"700 root {CNI_DIR}" in listing
    for name in ("10-operator-crds.yaml", "20-tigera-operator.yaml", "30-custom-resources.yaml"):
        assert f"600 root {CNI_DIR}/{name}" in listing
    encoded = shell(node, HOST, f"base64 -w0 {CNI_DIR}/30-custom-resources.yaml").split("(stdout)")[1].strip()
    documents = list(yaml.safe_load_all(base64.b64decode(encoded).decode()))
    expected = cni.calico_resources(
        {
            "cni": "calico",
            "pod_subnet": "10.244.0.0/16",
            "calico_block_size": 24,
            "first_node_ip": "10.77.0.201",
        }
    )
    assert documents == expected


def test_a_second_run_changes_nothing_before_the_apply(node):
    rc, out = run(node)
    assert rc != 0
    recap = re.search(rf"^{HOST}\s+: ok=\d+\s+changed=(\d+)", out, re.M)
    assert recap, out[-3000:]
    assert recap.group(1) == "0", out[-3000:]
