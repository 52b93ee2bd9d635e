# SPDX-License-Identifier: Apache-2.0
"""playbooks/certs.yml on the controller: the expiry report, and renewal of what is due.

The clock is moved with faketime: at +340 days every leaf has fewer than 30 days
left, the report lists them soonest first, and certs_renew=true reissues them
(CAs kept), after which the report shows a fresh year.
"""

from __future__ import annotations

import re

import pytest

from .pki_helpers import recap, run_pki, snapshot, write_inventory

NODES = {"cp1": "192.0.2.11"}
LINE = re.compile(r'"\s*(EXPIRED|\d+ days)\s+(\d{4}-\d\d-\d\d)\s+(\S+)\s+(.*)",?$')


def report(proc) -> dict[str, int]:
    """path -> days left, from the controller report lines."""
    found = {}
    for line in proc.stdout.splitlines():
        match = LINE.search(line.strip())
        if match:
            days = match.group(1)
            found[match.group(3)] = -1 if days == "EXPIRED" else int(days.split()[0])
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    inv_dir = tmp_path_factory.mktemp("certs")
    inventory = write_inventory(inv_dir, NODES)
    first = run_pki(inventory)
    assert first.returncode == 0, first.stdout + first.stderr
    return inventory, inv_dir / "artifacts" / "pki"


def test_report_lists_every_certificate_and_changes_nothing(cluster):
    inventory, pki_dir = cluster
    before = snapshot(pki_dir)
    proc = run_pki(inventory, "-e", "certs_nodes=false", playbook="certs.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert recap(proc)["changed"] == 0
    days = report(proc)
    # 3 CAs + 7 per-node leaves + 4 kubeconfigs of cp1 + super-admin at least.
    assert {"ca.crt", "front-proxy-ca.crt", "etcd/ca.crt", "nodes/cp1/pki/apiserver.crt"} <= set(days)
    assert "nodes/cp1/admin.conf" in days
    assert all(d >= 360 for d in days.values()), days
    assert snapshot(pki_dir) == before


def test_renewal_reissues_what_is_due_and_keeps_the_cas(cluster):
    inventory, pki_dir = cluster
    ca_before = (pki_dir / "ca.crt").read_bytes()
    due = run_pki(inventory, "-e", "certs_nodes=false", playbook="certs.yml", faketime="+340d")
    assert due.returncode == 0, due.stdout[-3000:]
    days_due = report(due)
    assert days_due["nodes/cp1/pki/apiserver.crt"] < 30
    renewed = run_pki(
        inventory, "-e", "certs_nodes=false", "-e", "certs_renew=true", playbook="certs.yml", faketime="+340d"
    )
    assert renewed.returncode == 0, renewed.stdout[-3000:] + renewed.stderr[-3000:]
    after = run_pki(inventory, "-e", "certs_nodes=false", playbook="certs.yml", faketime="+340d")
    days_after = report(after)
    assert days_after["nodes/cp1/pki/apiserver.crt"] >= 360
    assert days_after["nodes/cp1/admin.conf"] >= 360
    assert (pki_dir / "ca.crt").read_bytes() == ca_before


# --- Renewal on a real control plane (lab host): copies and restarts -------------------------------

LAB_CP = "ct-cp"
STOPS = re.compile(r"TASK \[[^]]*Manifest out of the kubelet's directory, to stop (\S+)\]")


def stopped(proc) -> list[str]:
    """Components whose manifest was moved out (the task reported changed), in order."""
    out, current = [], None
    for line in proc.stdout.splitlines():
        match = STOPS.search(line)
        if match:
            current = match.group(1)
        elif line.startswith("TASK ["):
            current = None
        elif current and line.startswith(f"changed: [{LAB_CP}]"):
            out.append(current)
    return out


@pytest.fixture(scope="module")
def lab_cp(tmp_path_factory):
    from .lab_helpers import lab_up  # noqa: PLC0415  (lab tests only)

    host = {"ansible_port": 22243, "slipway_node_ip": "10.77.0.243", "slipway_lab_image": "debian13"}
    settings = {
        "preflight_check_package_source": False,
        "control_plane_bootstrap": False,
        # No kubelet on the lab host: the manifests move out and back, nothing is awaited.
        "certs_restart_wait": False,
        "kubelet_restart_on_change": False,
    }
    with lab_up(
        tmp_path_factory.mktemp("certslab") / "hosts.yml",
        {"control_plane": {LAB_CP: host}, "workers": {}},
        settings,
        # pki_info (the node report) needs PyYAML and cryptography on the node; the lab image has neither.
        packages=("python3-yaml", "python3-cryptography"),
        playbooks=("pki.yml", "control-plane.yml"),
    ) as inventory:
        yield inventory


def node_state(inventory) -> tuple[str, int]:
    """(manifest checksums and the number of parked manifests, number of backups in pki/)."""
    from .lab_helpers import shell  # noqa: PLC0415

    manifests = shell(
        inventory,
        LAB_CP,
        "sha256sum /etc/kubernetes/manifests/*.yaml; ls -A /etc/kubernetes/tmp/slipway-restart | wc -l",
    )
    backups = shell(inventory, LAB_CP, "find /etc/kubernetes/pki -name '*~' | wc -l")
    return manifests, int(backups.split()[-1])


@pytest.mark.lab
def test_only_the_component_that_reads_a_changed_file_restarts(lab_cp):
    # A new API server SAN reissues apiserver.crt only: kube-apiserver restarts, nothing else.
    proc = run_pki(
        lab_cp,
        "-e",
        "certs_renew=true",
        "-e",
        '{"slipway_apiserver_cert_sans": ["api.certs.test"]}',
        playbook="certs.yml",
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert stopped(proc) == ["kube-apiserver"]


@pytest.mark.lab
def test_a_manifest_left_out_by_an_interrupted_restart_is_put_back(lab_cp):
    from .lab_helpers import shell  # noqa: PLC0415

    shell(lab_cp, LAB_CP, "mv /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/tmp/slipway-restart/")
    proc = run_pki(lab_cp, "-e", "certs_renew=true", playbook="certs.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    listing = shell(
        lab_cp, LAB_CP, "ls /etc/kubernetes/manifests; ls -A /etc/kubernetes/tmp/slipway-restart; true"
    )
    assert "etcd.yaml" in listing
    assert listing.count("etcd.yaml") == 1


@pytest.mark.lab
def test_renewal_restarts_every_component_in_order_then_nothing(lab_cp):
    # Last: the leaves it issues start 340 days from now.
    before = node_state(lab_cp)
    renewed = run_pki(lab_cp, "-e", "certs_renew=true", playbook="certs.yml", faketime="+340d")
    assert renewed.returncode == 0, renewed.stdout[-5000:] + renewed.stderr[-2000:]
    # Every leaf was due: each static pod reads a renewed file, restarted in kubeadm's order.
    assert stopped(renewed) == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    after = node_state(lab_cp)
    # The manifests are back, byte for byte; nothing left parked; the replaced files backed up.
    assert after[0] == before[0]
    assert before[0].rstrip().endswith("\\n0")  # ansible -o keeps newlines escaped; 0 parked
    assert after[1] >= before[1] + 7
    again = run_pki(lab_cp, "-e", "certs_renew=true", playbook="certs.yml", faketime="+340d")
    assert again.returncode == 0, again.stdout[-3000:]
    assert stopped(again) == []
    assert f"{LAB_CP}" in again.stdout
    assert re.search(rf"{LAB_CP}\s+: ok=\d+\s+changed=0 ", again.stdout), again.stdout[-1500:]
    assert recap(again)["changed"] == 0
