# SPDX-License-Identifier: Apache-2.0
"""pki_ca never overwrites a broken CA unless rotate=true, and then backs it up first."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from test_pki_modules import ca_args, run

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def corrupt_key(d):
    (d / "ca.key").write_bytes(
        b"-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n"
    )


def not_a_ca(d):
    ca_cert = pki.load_cert((d / "ca.crt").read_bytes(), "ca.crt")
    ca_key = pki.load_key((d / "ca.key").read_bytes(), "ca.key")
    key = pki.generate_key("ECDSA-P256")
    leaf = pki.make_leaf(ca_cert, ca_key, key, {"common_name": "kubernetes"}, validity_days=30)
    (d / "ca.crt").write_bytes(pki.cert_to_pem(leaf))
    (d / "ca.key").write_bytes(pki.key_to_pem(key))


def other_key(d):
    (d / "ca.key").write_bytes(pki.key_to_pem(pki.generate_key("RSA-2048")))


def lone_key(d):
    (d / "ca.crt").unlink()


def corrupt_cert(d):
    (d / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


BREAKAGES = {
    "corrupt key": (corrupt_key, "ca.key"),
    "not a CA": (not_a_ca, "ca.crt"),
    "key does not match": (other_key, "ca.key"),
    "key without certificate": (lone_key, "ca.key"),
    "corrupt certificate": (corrupt_cert, "ca.crt"),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_broken_ca_refused_then_rotated_with_backup(tmp_path, breakage):
    break_it, named = BREAKAGES[breakage]
    assert run("pki_ca", ca_args(tmp_path))["action"] == "created"
    break_it(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    for flags in ((), ("--check",)):
        refused = run("pki_ca", ca_args(tmp_path), *flags)
        assert refused["_rc"] != 0, refused
        assert str(tmp_path / named) in refused["msg"]
        assert "rotate=true" in refused["msg"]
        assert "PRIVATE KEY" not in refused["msg"]
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    predicted = run("pki_ca", ca_args(tmp_path, rotate=True), "--check")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    rotated = run("pki_ca", ca_args(tmp_path, rotate=True))
    assert (predicted["changed"], predicted["action"]) == (rotated["changed"], rotated["action"])
    assert rotated["changed"] is True
    assert sorted(before.values()) == sorted(Path(b).read_bytes() for b in rotated["backup_files"])
    for b in rotated["backup_files"]:
        original = re.fullmatch(r"(.+)\.\d{8}T\d{6}\.\d{6}Z(-\d+)?\.bak", os.path.basename(b)).group(1)
        assert stat.S_IMODE(os.stat(b).st_mode) == modes[original]
    ca = pki.load_ca(str(tmp_path / "ca.crt"))
    key = pki.load_key((tmp_path / "ca.key").read_bytes(), "ca.key")
    assert pki.same_public_key(ca.public_key(), key)
    assert run("pki_ca", ca_args(tmp_path))["action"] == "unchanged"


def authorities(tmp_path, *names: str) -> list[dict]:
    return [
        {
            "cert_path": str(tmp_path / f"{name}.crt"),
            "key_path": str(tmp_path / f"{name}.key"),
            "common_name": name,
        }
        for name in names
    ]


KUBEADM_CAS = ("kubernetes", "front-proxy-ca", "etcd-ca")


def test_authorities_three_cas_in_one_call_then_unchanged(tmp_path):
    cas = authorities(tmp_path, *KUBEADM_CAS)
    cas[2]["validity_days"] = 7300
    predicted = run("pki_ca", {"authorities": cas}, "--check")
    assert predicted["_rc"] == 0, predicted["_output"]
    assert [r["action"] for r in predicted["results"]] == ["created"] * 3
    assert list(tmp_path.iterdir()) == []
    made = run("pki_ca", {"authorities": cas, "validity_days": 1000})
    assert made["changed"] is True
    assert [(r["cert_path"], r["action"], r["changed"]) for r in made["results"]] == [
        (ca["cert_path"], "created", True) for ca in cas
    ]
    assert "BEGIN" not in json.dumps(made)  # never key material in results
    for ca, result in zip(cas, made["results"], strict=True):
        cert = pki.load_ca(ca["cert_path"])
        key = pki.load_key(Path(ca["key_path"]).read_bytes(), ca["key_path"])
        assert pki.same_public_key(cert.public_key(), key)
        assert pki.subject_of(cert)["common_name"] == ca["common_name"] == result["subject"]["common_name"]
        assert result["discovery_hash"] == pki.discovery_hash(cert)
        assert stat.S_IMODE(os.stat(ca["key_path"]).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(ca["cert_path"]).st_mode) == 0o644
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        assert days == ca.get("validity_days", 1000)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for flags in (("--check",), ()):
        again = run("pki_ca", {"authorities": cas}, *flags)
        assert again["changed"] is False
        assert [r["action"] for r in again["results"]] == ["unchanged"] * 3
        assert [r["fingerprint_sha256"] for r in again["results"]] == [
            r["fingerprint_sha256"] for r in made["results"]
        ]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_authorities_never_overwrite_an_existing_ca(tmp_path):
    cas = authorities(tmp_path, *KUBEADM_CAS)
    single = run("pki_ca", {k: cas[1][k] for k in ("cert_path", "key_path", "common_name")})
    assert single["action"] == "created"
    kept = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    made = run("pki_ca", {"authorities": cas, "key_algorithm": "ECDSA-P256"})
    assert [r["action"] for r in made["results"]] == ["created", "unchanged", "created"]
    assert made["results"][1]["fingerprint_sha256"] == single["fingerprint_sha256"]
    assert made["backup_files"] == []
    assert {n: (tmp_path / n).read_bytes() for n in kept} == kept


def test_authorities_refuse_everything_when_one_ca_is_broken(tmp_path):
    cas = authorities(tmp_path, *KUBEADM_CAS)
    run("pki_ca", {"authorities": cas[1:2]})
    (tmp_path / "front-proxy-ca.key").write_bytes(pki.key_to_pem(pki.generate_key("RSA-2048")))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for flags in (("--check",), ()):
        refused = run("pki_ca", {"authorities": cas}, *flags)
        assert refused["_rc"] != 0
        assert f"{tmp_path / 'front-proxy-ca.key'} does not match" in refused["msg"]
        assert "rotate=true" in refused["msg"]
        # nothing written, not even the CAs that were fine
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("single", ["cert_path", "key_path", "common_name"])
def test_authorities_and_single_ca_options_are_mutually_exclusive(tmp_path, single):
    args = {"authorities": authorities(tmp_path, "kubernetes"), single: ca_args(tmp_path)[single]}
    refused = run("pki_ca", args)
    assert refused["_rc"] != 0
    assert "mutually exclusive" in refused["msg"]
    assert f"authorities|{single}" in refused["msg"]
    assert list(tmp_path.iterdir()) == []


def test_neither_authorities_nor_cert_path_is_refused(tmp_path):
    refused = run("pki_ca", {"validity_days": 10})
    assert refused["_rc"] != 0
    assert "authorities" in refused["msg"]
    assert "cert_path" in refused["msg"]
