# SPDX-License-Identifier: Apache-2.0
"""playbooks/pki.yml for real: layout, modes, chains, idempotence, check mode, SAN changes,
renewal near expiry (clock shifted with faketime), corrupted keys, and kubectl reading the result."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from .pki_helpers import changed_tasks, recap, run_pki, snapshot, write_inventory

NODES = {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    inv_dir = tmp_path_factory.mktemp("inv")
    inventory = write_inventory(inv_dir, NODES)
    first = run_pki(inventory)
    assert first.returncode == 0, first.stdout + first.stderr
    return inventory, inv_dir / "artifacts" / "pki", first


def cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_layout_modes_and_first_run(cluster):
    _inventory, pki_dir, first = cluster
    assert recap(first)["changed"] >= 4
    assert stat.S_IMODE(pki_dir.stat().st_mode) == 0o700
    expected = ["ca", "front-proxy-ca", "etcd/ca"]
    for name in expected:
        assert stat.S_IMODE((pki_dir / f"{name}.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((pki_dir / f"{name}.crt").stat().st_mode) == 0o644
    assert stat.S_IMODE((pki_dir / "sa.pub").stat().st_mode) == 0o600
    per_node = [
        "apiserver",
        "apiserver-kubelet-client",
        "front-proxy-client",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
        "apiserver-etcd-client",
    ]
    for node in NODES:
        for name in per_node:
            base = pki_dir / "nodes" / node / "pki" / name
            assert stat.S_IMODE(base.with_suffix(".key").stat().st_mode) == 0o600
            assert stat.S_IMODE(base.with_suffix(".crt").stat().st_mode) == 0o644
        for conf in ("admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"):
            assert stat.S_IMODE((pki_dir / "nodes" / node / conf).stat().st_mode) == 0o600
    assert (pki_dir / "nodes/cp1/super-admin.conf").exists()
    assert not (pki_dir / "nodes/cp2/super-admin.conf").exists()
    # the phases callback points the user at the admin kubeconfig
    assert f"Admin kubeconfig: {pki_dir / 'admin.conf'}" in first.stdout


@pytest.mark.parametrize(
    ("ca", "leaf"),
    [
        ("ca", "nodes/cp2/pki/apiserver"),
        ("ca", "nodes/cp2/pki/apiserver-kubelet-client"),
        ("front-proxy-ca", "nodes/cp3/pki/front-proxy-client"),
        ("etcd/ca", "nodes/cp1/pki/etcd/server"),
        ("etcd/ca", "nodes/cp1/pki/etcd/peer"),
        ("etcd/ca", "nodes/cp1/pki/etcd/healthcheck-client"),
        ("etcd/ca", "nodes/cp3/pki/apiserver-etcd-client"),
    ],
)
def test_chains_verify_with_openssl(cluster, ca, leaf):
    _inventory, pki_dir, _ = cluster
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pki_dir / f"{ca}.crt"), str(pki_dir / f"{leaf}.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_apiserver_and_etcd_sans_follow_the_inventory(cluster):
    _inventory, pki_dir, _ = cluster
    api = cert(pki_dir / "nodes/cp2/pki/apiserver.crt")
    san = api.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == sorted(
        [
            "cp2",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
    )
    # service IP, this node, then the endpoint (the first control plane by default)
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == [
        "10.96.0.1",
        "192.0.2.12",
        "192.0.2.11",
    ]
    peer = cert(pki_dir / "nodes/cp3/pki/etcd/peer.crt")
    assert peer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cp3"
    psan = peer.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(i) for i in psan.get_values_for_type(x509.IPAddress)] == ["192.0.2.13", "127.0.0.1", "::1"]


@pytest.mark.parametrize(
    ("path", "user", "orgs", "server"),
    [
        ("admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"], "https://192.0.2.11:6443"),
        (
            "nodes/cp1/super-admin.conf",
            "kubernetes-super-admin",
            ["system:masters"],
            "https://192.0.2.11:6443",
        ),
        (
            "nodes/cp2/controller-manager.conf",
            "system:kube-controller-manager",
            [],
            "https://192.0.2.12:6443",
        ),
        ("nodes/cp3/scheduler.conf", "system:kube-scheduler", [], "https://192.0.2.13:6443"),
        ("nodes/cp2/kubelet.conf", "system:node:cp2", ["system:nodes"], "https://192.0.2.11:6443"),
    ],
)
def test_kubeconfigs_read_by_a_real_kubectl(cluster, path, user, orgs, server):
    _inventory, pki_dir, _ = cluster
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not installed: this machine kind ships one at /usr/bin/kubectl")
        pytest.skip("no kubectl on this machine")
    kubeconfig = pki_dir / path
    context = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "config", "current-context"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert context.returncode == 0, context.stderr
    assert context.stdout.strip() == f"{user}@kubernetes"
    view = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "config", "view", "--raw", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert view.returncode == 0, view.stderr
    doc = yaml.safe_load(view.stdout)
    assert doc["clusters"][0]["cluster"]["server"] == server
    assert doc["users"][0]["name"] == user
    client = x509.load_pem_x509_certificate(
        base64.b64decode(doc["users"][0]["user"]["client-certificate-data"])
    )
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
    assert [a.value for a in client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    ca = cert(pki_dir / "ca.crt")
    assert client.not_valid_before_utc == ca.not_valid_before_utc  # kubeadm: client certs start with the CA


def test_second_run_changes_nothing_and_check_mode_agrees(cluster):
    inventory, pki_dir, _ = cluster
    before = snapshot(pki_dir)
    check = run_pki(inventory, "--check")
    again = run_pki(inventory)
    assert recap(check)["changed"] == 0, check.stdout
    assert recap(again)["changed"] == 0, again.stdout
    assert snapshot(pki_dir) == before


def test_san_change_reissues_only_the_affected_leaves(tmp_path):
    inventory = write_inventory(tmp_path, NODES)
    assert run_pki(inventory).returncode == 0
    pki_dir = tmp_path / "artifacts" / "pki"
    before = snapshot(pki_dir)
    write_inventory(tmp_path, NODES, {"slipway_apiserver_cert_sans": ["api.example.org"]})
    predicted = run_pki(inventory, "--check", "--diff")
    assert predicted.returncode == 0, predicted.stdout
    assert snapshot(pki_dir) == before, "check mode wrote files"
    real = run_pki(inventory)
    assert real.returncode == 0, real.stdout
    assert changed_tasks(predicted) == changed_tasks(real) == ["PKI | Certificates of every CA (one call)"]
    after = snapshot(pki_dir)
    changed = {name for name in after if after[name] != before.get(name)}
    changed = {n for n in changed if not n.endswith(".bak")}
    assert changed == {f"nodes/{n}/pki/apiserver.crt" for n in NODES}
    backups = {n for n in after if n.endswith(".bak")}
    assert len(backups) == 3
    for node in NODES:
        old_key = before[f"nodes/{node}/pki/apiserver.key"]
        assert after[f"nodes/{node}/pki/apiserver.key"] == old_key  # same key, new certificate
        san = cert(pki_dir / f"nodes/{node}/pki/apiserver.crt").extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        assert "api.example.org" in san.value.get_values_for_type(x509.DNSName)


def test_near_expiry_leaves_are_renewed_ca_untouched(tmp_path):
    inventory = write_inventory(tmp_path, {"cp1": "192.0.2.11"})
    assert run_pki(inventory).returncode == 0
    pki_dir = tmp_path / "artifacts" / "pki"
    before = snapshot(pki_dir)
    # 340 days later every leaf has 25 days left, inside the 30-day renewal window
    later = run_pki(inventory, faketime="+340d")
    assert later.returncode == 0, later.stdout + later.stderr
    after = snapshot(pki_dir)
    for ca in ("ca.crt", "ca.key", "front-proxy-ca.crt", "etcd/ca.crt", "etcd/ca.key", "sa.key", "sa.pub"):
        assert after[ca] == before[ca], f"{ca} must not change"
    renewed = cert(pki_dir / "nodes/cp1/pki/apiserver.crt")
    old = x509.load_pem_x509_certificate(before["nodes/cp1/pki/apiserver.crt"])
    assert renewed.not_valid_after_utc > old.not_valid_after_utc
    assert any(n.startswith("nodes/cp1/pki/apiserver.crt.") and n.endswith(".bak") for n in after)
    assert any(n.startswith("nodes/cp1/admin.conf.") and n.endswith(".bak") for n in after)
    steady = run_pki(inventory, faketime="+340d")
    assert recap(steady)["changed"] == 0, steady.stdout


def test_corrupted_key_fails_clearly_and_loses_nothing(tmp_path):
    inventory = write_inventory(tmp_path, {"cp1": "192.0.2.11"})
    assert run_pki(inventory).returncode == 0
    pki_dir = tmp_path / "artifacts" / "pki"
    victim = pki_dir / "nodes/cp1/pki/etcd/peer.key"
    victim.write_bytes(b"-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END EC PRIVATE KEY-----\n")
    before = snapshot(pki_dir)
    proc = run_pki(inventory)
    assert proc.returncode != 0
    assert f"{victim} is not a readable unencrypted PEM private key" in proc.stdout
    assert snapshot(pki_dir) == before


def test_corrupted_ca_key_is_never_replaced(tmp_path):
    inventory = write_inventory(tmp_path, {"cp1": "192.0.2.11"})
    assert run_pki(inventory).returncode == 0
    pki_dir = tmp_path / "artifacts" / "pki"
    (pki_dir / "ca.key").write_bytes(b"garbage")
    before = snapshot(pki_dir)
    proc = run_pki(inventory)
    assert proc.returncode != 0
    assert "ca.key is not a readable unencrypted PEM private key" in proc.stdout
    assert snapshot(pki_dir) == before
