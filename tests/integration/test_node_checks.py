# SPDX-License-Identifier: Apache-2.0
"""Bad node-preparation input stops playbooks/nodes.yml before any node is changed.

A real Debian 12 lab host; its containerd package (1.6.20) is older than upstream
lists for Kubernetes 1.35. Without containerd_allow_unsupported_version the play
must stop in the check play, naming the variable, with swap, fstab, packages,
sysctls and containerd untouched.
"""

from __future__ import annotations

import pytest

from tests.integration.lab_helpers import ansible, lab, require_podman, shell, write_inventory

pytestmark = pytest.mark.lab

HOST = "nc-deb12"
STATE = (
    "cat /proc/swaps; cat /etc/fstab; ls /etc/sysctl.d /etc/apt/sources.list.d /etc/containerd 2>&1;"
    " dpkg-query -W containerd kubeadm 2>&1; systemctl is-enabled swap.target 2>&1"
)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_podman()
    tmp = tmp_path_factory.mktemp("nodecheck")
    inventory = write_inventory(
        tmp / "hosts.yml",
        {
            "control_plane": {
                HOST: {
                    "ansible_port": 22141,
                    "slipway_node_ip": "10.77.0.141",
                    "slipway_lab_image": "debian12",
                }
            }
        },
        {"preflight_check_package_source": False, "slipway_kubernetes_version": "1.35.2"},
    )
    up = lab("up", inventory)
    assert up.returncode == 0, up.stdout + up.stderr
    yield inventory
    lab("down", inventory)


def test_containerd_too_old_stops_before_any_change(node):
    before = shell(node, HOST, STATE)
    proc = ansible(
        "ansible-playbook", "-i", str(node), "playbooks/nodes.yml", "-e", "containerd_install_method=distro"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "containerd 1.6.20" in out
    assert "containerd_allow_unsupported_version: true" in out
    assert "slipway_kubernetes_version" in out
    assert "Nothing was installed or configured" in out
    # Stopped in the check play: the prepare play never started.
    assert "Swap | Turn swap off" not in out
    assert shell(node, HOST, STATE) == before


def test_archive_version_too_old_stops_before_any_change(node):
    before = shell(node, HOST, STATE)
    proc = ansible(
        "ansible-playbook",
        "-i",
        str(node),
        "playbooks/nodes.yml",
        "-e",
        "containerd_install_method=archive",
        "-e",
        "containerd_version=1.7.20",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    # Refused by the controller's validation or by the node check, whichever
    # runs first; either way the variable and the value are named.
    assert "containerd_version" in out
    assert "1.7.20" in out
    assert "Swap | Turn swap off" not in out
    assert shell(node, HOST, STATE) == before


def test_reset_without_confirmation_changes_nothing(node):
    before = shell(node, HOST, STATE)
    proc = ansible("ansible-playbook", "-i", str(node), "playbooks/reset.yml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Reset not confirmed: nothing was changed" in out
    assert "reset_confirm=true" in out
    assert "Reset | Remove the cluster state" not in out
    assert shell(node, HOST, STATE) == before


def test_unknown_distribution_stops_before_any_change(node):
    # The host's real facts are overridden (extra vars win) with a release Slipway does not support.
    before = shell(node, HOST, STATE)
    fedora = (
        '{"ansible_facts": {"distribution": "Fedora", "distribution_major_version": "41",'
        ' "distribution_version": "41", "os_family": "RedHat", "architecture": "x86_64"}}'
    )
    proc = ansible("ansible-playbook", "-i", str(node), "playbooks/nodes.yml", "-e", fedora)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "this host runs Fedora 41" in out
    assert "slipway_allow_unsupported_distribution: true" in out
    assert "Swap | Turn swap off" not in out
    assert shell(node, HOST, STATE) == before


def test_unsupported_kubernetes_minor_stops_on_the_controller(node):
    before = shell(node, HOST, STATE)
    proc = ansible(
        "ansible-playbook", "-i", str(node), "playbooks/nodes.yml", "-e", "slipway_kubernetes_version=1.31.4"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "slipway_kubernetes_version" in out
    assert "1.31" in out
    # The controller's validation stopped it: the node check play never ran.
    assert "Check nodes | Platform" not in out
    assert shell(node, HOST, STATE) == before
