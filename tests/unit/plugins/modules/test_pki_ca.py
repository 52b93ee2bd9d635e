# SPDX-License-Identifier: Apache-2.0
"""pki_ca never overwrites a broken CA unless rotate=true, and then backs it up first."""

from __future__ import annotations

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
