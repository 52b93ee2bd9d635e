# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.kubeconfig and pki_cert run for real: check mode predicts the real run,
idempotence, SAN change and renewal reissue with the same key and a backup, corrupted keys refused."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
import yaml
from cryptography import x509
from test_pki_modules import run

from ansible_collections.slipway.cluster.plugins.module_utils import pki


@pytest.fixture
def ca(tmp_path):
    result = run(
        "pki_ca",
        {
            "cert_path": str(tmp_path / "ca.crt"),
            "key_path": str(tmp_path / "ca.key"),
            "common_name": "kubernetes",
        },
    )
    assert result["action"] == "created"
    return tmp_path


def kc_args(d, **extra):
    return {
        "ca_cert_path": str(d / "ca.crt"),
        "ca_key_path": str(d / "ca.key"),
        "kubeconfigs": [
            {
                "path": str(d / "conf" / "admin.conf"),
                "cluster_name": "kubernetes",
                "server": "https://10.0.0.10:6443",
                "user": "kubernetes-admin",
                "organizations": ["kubeadm:cluster-admins"],
            },
            {
                "path": str(d / "conf" / "scheduler.conf"),
                "cluster_name": "kubernetes",
                "server": "https://10.0.0.11:6443",
                "user": "system:kube-scheduler",
                "organizations": [],
            },
        ],
    } | extra


def actions(result):
    return [r["action"] for r in result["results"]]


@pytest.mark.parametrize("alg", ["RSA-2048", "ECDSA-P256"])
def test_kubeconfig_layout_check_then_apply_then_idempotent(ca, alg):
    args = kc_args(ca, key_algorithm=alg)
    check = run("kubeconfig", args, "--check", "--diff")
    assert not (ca / "conf").exists()
    real = run("kubeconfig", args)
    assert (check["changed"], actions(check)) == (real["changed"], actions(real)) == (True, ["created"] * 2)
    assert "PRIVATE" not in str(check) + str(real)
    path = ca / "conf" / "admin.conf"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ca / "conf").st_mode) == 0o700
    doc = yaml.safe_load(path.read_bytes())
    assert doc["apiVersion"] == "v1"
    assert doc["kind"] == "Config"
    assert doc["preferences"] == {}
    assert doc["current-context"] == "kubernetes-admin@kubernetes"
    assert [c["name"] for c in doc["clusters"]] == ["kubernetes"]
    assert [u["name"] for u in doc["users"]] == ["kubernetes-admin"]
    have = pki.parse_kubeconfig(doc, str(path))
    cert = x509.load_pem_x509_certificate(have["cert_pem"])
    ca_cert = x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes())
    assert cert.not_valid_before_utc == ca_cert.not_valid_before_utc
    assert pki.subject_of(cert) == {
        "common_name": "kubernetes-admin",
        "organizations": ["kubeadm:cluster-admins"],
    }
    assert pki.ekus_of(cert) == ["client_auth"]
    assert pki.algorithm_of(pki.load_key(have["key_pem"], "x")) == alg
    again_check = run("kubeconfig", args, "--check")
    again = run("kubeconfig", args)
    assert (again_check["changed"], again["changed"]) == (False, False)
    assert actions(again) == ["unchanged"] * 2


def test_kubeconfig_renewal_reissues_with_backup(ca):
    run("kubeconfig", kc_args(ca, validity_days=10))
    before = (ca / "conf" / "admin.conf").read_bytes()
    ca_before = (ca / "ca.crt").read_bytes(), (ca / "ca.key").read_bytes()
    check = run("kubeconfig", kc_args(ca), "--check")
    real = run("kubeconfig", kc_args(ca))
    assert actions(check) == actions(real) == ["reissued"] * 2
    assert any("renewal window" in r for r in real["results"][0]["reasons"])
    assert len(real["backup_files"]) == 2
    backup = next(b for b in real["backup_files"] if "admin.conf" in b)
    assert backup.endswith(".bak")
    with open(backup, "rb") as handle:
        assert handle.read() == before
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert ((ca / "ca.crt").read_bytes(), (ca / "ca.key").read_bytes()) == ca_before


def leaf_args(d, **extra):
    return {
        "ca_cert_path": str(d / "ca.crt"),
        "ca_key_path": str(d / "ca.key"),
        "certificates": [
            {
                "cert_path": str(d / "apiserver.crt"),
                "key_path": str(d / "apiserver.key"),
                "common_name": "kube-apiserver",
                "dns_names": ["kubernetes", "cp1", "kubernetes", "kubernetes.default"],
                "ip_addresses": ["10.96.0.1", "10.0.0.10", "10.96.0.1"],
                "extended_key_usages": ["server_auth"],
            },
            {
                "cert_path": str(d / "apiserver-kubelet-client.crt"),
                "key_path": str(d / "apiserver-kubelet-client.key"),
                "common_name": "kube-apiserver-kubelet-client",
                "organizations": ["kubeadm:cluster-admins"],
                "extended_key_usages": ["client_auth"],
            },
        ],
    } | extra


def test_leaves_check_predicts_sans_sorted_and_verified(ca):
    args = leaf_args(ca)
    check = run("pki_cert", args, "--check", "--diff")
    real = run("pki_cert", args)
    assert (check["changed"], actions(check)) == (real["changed"], actions(real)) == (True, ["created"] * 2)
    assert real["results"][0]["dns_names"] == ["cp1", "kubernetes", "kubernetes.default"]
    assert real["results"][0]["ip_addresses"] == ["10.96.0.1", "10.0.0.10"]
    for name in ("apiserver", "apiserver-kubelet-client"):
        assert stat.S_IMODE(os.stat(ca / f"{name}.key").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(ca / f"{name}.crt").st_mode) == 0o644
        subprocess.run(
            ["openssl", "verify", "-CAfile", str(ca / "ca.crt"), str(ca / f"{name}.crt")], check=True
        )
    assert actions(run("pki_cert", args)) == ["unchanged"] * 2


def test_san_change_reissues_only_that_item_with_the_same_key(ca):
    run("pki_cert", leaf_args(ca))
    key = (ca / "apiserver.key").read_bytes()
    other = (ca / "apiserver-kubelet-client.crt").read_bytes()
    args = leaf_args(ca)
    args["certificates"][0]["dns_names"].append("api.example.org")
    check = run("pki_cert", args, "--check")
    real = run("pki_cert", args)
    assert actions(check) == actions(real) == ["reissued", "unchanged"]
    assert real["results"][0]["reasons"] == ["SANs differ"]
    assert (ca / "apiserver.key").read_bytes() == key
    assert (ca / "apiserver-kubelet-client.crt").read_bytes() == other
    assert [b.endswith(".bak") for b in real["backup_files"]] == [True]


def test_renewal_window_reissues_with_backup_and_keeps_the_ca(ca):
    run("pki_cert", leaf_args(ca, validity_days=5))
    ca_bytes = (ca / "ca.crt").read_bytes(), (ca / "ca.key").read_bytes()
    key = (ca / "apiserver.key").read_bytes()
    real = run("pki_cert", leaf_args(ca))
    assert actions(real) == ["reissued"] * 2
    assert (ca / "apiserver.key").read_bytes() == key
    assert len(real["backup_files"]) == 2
    assert ((ca / "ca.crt").read_bytes(), (ca / "ca.key").read_bytes()) == ca_bytes


def test_corrupted_key_fails_clearly_and_nothing_changes(ca):
    run("pki_cert", leaf_args(ca))
    (ca / "apiserver.key").write_bytes(
        b"-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n"
    )
    snapshot = {p.name: p.read_bytes() for p in ca.iterdir() if p.is_file()}
    args = leaf_args(ca)
    args["certificates"][0]["dns_names"].append("changed.example.org")
    result = run("pki_cert", args)
    assert result["_rc"] != 0
    assert str(ca / "apiserver.key") in result["msg"]
    assert "garbage" not in result["msg"]
    assert {p.name: p.read_bytes() for p in ca.iterdir() if p.is_file()} == snapshot


def test_algorithm_change_makes_a_new_key(ca):
    run("pki_cert", leaf_args(ca))
    real = run("pki_cert", leaf_args(ca, key_algorithm="ECDSA-P256"))
    assert actions(real) == ["reissued"] * 2
    assert b"EC PRIVATE KEY" in (ca / "apiserver.key").read_bytes()
    assert len(real["backup_files"]) == 4  # key and certificate of each item


def test_not_before_ca_mode(ca):
    args = leaf_args(ca)
    args["certificates"][1]["not_before"] = "ca"
    run("pki_cert", args)
    leaf = x509.load_pem_x509_certificate((ca / "apiserver-kubelet-client.crt").read_bytes())
    ca_cert = x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes())
    assert leaf.not_valid_before_utc == ca_cert.not_valid_before_utc
