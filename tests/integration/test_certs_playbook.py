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
