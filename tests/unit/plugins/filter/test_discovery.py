# SPDX-License-Identifier: Apache-2.0
"""discovery_hash equals kubeadm's recipe (openssl) and rejects bad input."""

from __future__ import annotations

import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter.discovery import FilterModule, discovery_hash
from ansible_collections.slipway.cluster.plugins.module_utils import pki


@pytest.mark.parametrize("alg", pki.ALGORITHMS)
def test_matches_openssl_recipe(tmp_path, alg):
    key = pki.generate_key(alg)
    pem = pki.cert_to_pem(pki.make_ca(key, "kubernetes", 1))
    (tmp_path / "ca.crt").write_bytes(pem)
    tool = "rsa" if alg.startswith("RSA") else "pkey"
    # kubeadm's documented recipe, one pipe stage at a time
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(tmp_path / "ca.crt")],
        capture_output=True,
        check=True,
    ).stdout
    der = subprocess.run(
        ["openssl", tool, "-pubin", "-outform", "der"], input=pub, capture_output=True, check=True
    ).stdout
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex"], input=der, capture_output=True, text=False, check=True
    ).stdout.decode()
    expected = "sha256:" + out.strip().split()[-1]
    assert discovery_hash(pem.decode()) == expected
    assert FilterModule().filters()["discovery_hash"](pem.decode()) == expected


@pytest.mark.parametrize("bad", ["", "not a certificate", None, 42, "-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_bad_input_raises(bad):
    with pytest.raises(AnsibleFilterError):
        discovery_hash(bad)
