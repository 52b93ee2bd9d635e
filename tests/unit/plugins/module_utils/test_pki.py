# SPDX-License-Identifier: Apache-2.0
"""kubeadm profiles checked field by field (facts §1.2), chains with openssl, the reissue rules."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.slipway.cluster.plugins.module_utils import pki

ALGORITHMS = list(pki.ALGORITHMS)


@pytest.fixture(scope="module")
def keys():
    """One key per algorithm, made once: RSA-4096 generation is slow on two cores."""
    return {alg: pki.generate_key(alg) for alg in ALGORITHMS}


@pytest.fixture(scope="module")
def cas(keys):
    return {alg: pki.make_ca(keys[alg], "kubernetes", 3650) for alg in ALGORITHMS}


def ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_ca_profile(keys, cas, alg):
    ca, key = cas[alg], keys[alg]
    assert ca.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    assert ca.issuer == ca.subject
    assert 1 <= ca.serial_number < 2**63 - 1
    ku = ext(ca, x509.KeyUsage)
    assert ku.critical
    assert (ku.value.digital_signature, ku.value.key_encipherment, ku.value.key_cert_sign) == (
        True,
        True,
        True,
    )
    assert not (ku.value.crl_sign)
    assert not (ku.value.content_commitment)
    assert not (ku.value.data_encipherment)
    bc = ext(ca, x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca is True
    assert bc.value.path_length is None
    assert ext(ca, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(
        key.public_key()
    )
    with pytest.raises(x509.ExtensionNotFound):
        ext(ca, x509.AuthorityKeyIdentifier)
    with pytest.raises(x509.ExtensionNotFound):
        ext(ca, x509.ExtendedKeyUsage)
    assert ext(ca, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["kubernetes"]
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime == datetime.timedelta(days=3650, minutes=5)
    expected_hash = hashes.SHA384 if alg == "ECDSA-P384" else hashes.SHA256
    assert isinstance(ca.signature_hash_algorithm, expected_hash)
    assert pki.algorithm_of(key) == alg


SERVER = {
    "common_name": "kube-apiserver",
    "dns_names": ["kubernetes.default", "cp1", "kubernetes", "cp1"],
    "ip_addresses": ["10.96.0.1", "192.0.2.11", "10.96.0.1", "2001:db8::1"],
    "extended_key_usages": ["server_auth"],
}
CLIENT = {
    "common_name": "kube-apiserver-kubelet-client",
    "organizations": ["kubeadm:cluster-admins"],
    "extended_key_usages": ["client_auth"],
}
PEER = {
    "common_name": "cp1",
    "dns_names": ["cp1", "localhost"],
    "ip_addresses": ["192.0.2.11", "127.0.0.1", "::1"],
    "extended_key_usages": ["server_auth", "client_auth"],
}


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("profile", [SERVER, CLIENT, PEER], ids=["server", "client", "server+client"])
def test_leaf_profile(keys, cas, alg, profile):
    ca, ca_key = cas[alg], keys[alg]
    leaf_key = keys["ECDSA-P256"]
    cert = pki.make_leaf(ca, ca_key, leaf_key, profile, validity_days=365)
    subject = pki.subject_of(cert)
    assert subject == {
        "common_name": profile["common_name"],
        "organizations": profile.get("organizations", []),
    }
    assert [a.oid for a in cert.subject] == [NameOID.ORGANIZATION_NAME] * len(
        profile.get("organizations", [])
    ) + [NameOID.COMMON_NAME]
    assert cert.issuer == ca.subject
    assert 1 <= cert.serial_number < 2**63 - 1
    ku = ext(cert, x509.KeyUsage)
    assert ku.critical
    assert (ku.value.digital_signature, ku.value.key_encipherment, ku.value.key_cert_sign) == (
        True,
        True,
        False,
    )
    bc = ext(cert, x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca is False
    want_eku = {
        "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
        "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    }
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [
        want_eku[e] for e in profile["extended_key_usages"]
    ]
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.SubjectKeyIdentifier)
    if profile is CLIENT:
        with pytest.raises(x509.ExtensionNotFound):
            ext(cert, x509.SubjectAlternativeName)
    else:
        san = ext(cert, x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == sorted(set(profile["dns_names"]))
        first_seen = list(dict.fromkeys(ipaddress.ip_address(i) for i in profile["ip_addresses"]))
        assert san.get_values_for_type(x509.IPAddress) == first_seen
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=365, minutes=5)
    assert pki.signed_by(cert, ca)


SIGNATURE = {
    "RSA-2048": "sha256WithRSAEncryption",
    "RSA-3072": "sha256WithRSAEncryption",
    "RSA-4096": "sha256WithRSAEncryption",
    "ECDSA-P256": "ecdsa-with-SHA256",
    "ECDSA-P384": "ecdsa-with-SHA384",
}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_kubeconfig_client_cert_profile(keys, cas, alg):
    """kubeconfig client certificates: a clientAuth leaf whose NotBefore is the CA's (facts §1.2)."""
    ca = cas[alg]
    profile = {
        "common_name": "kubernetes-admin",
        "organizations": ["kubeadm:cluster-admins"],
        "extended_key_usages": ["client_auth"],
    }
    cert = pki.make_leaf(ca, keys[alg], keys[alg], profile, validity_days=365, not_before_from_ca=True)
    assert cert.not_valid_before_utc == ca.not_valid_before_utc
    assert abs(cert.not_valid_after_utc - (pki.now() + datetime.timedelta(days=365))) < datetime.timedelta(
        minutes=1
    )
    assert cert.subject.rfc4514_string() == "CN=kubernetes-admin,O=kubeadm:cluster-admins"
    assert cert.signature_algorithm_oid._name == SIGNATURE[alg]
    assert pki.algorithm_of(cert.public_key()) == alg
    ku = ext(cert, x509.KeyUsage)
    assert ku.critical
    assert (ku.value.digital_signature, ku.value.key_encipherment, ku.value.key_cert_sign) == (
        True,
        True,
        False,
    )
    assert ext(cert, x509.BasicConstraints).critical
    assert ext(cert, x509.BasicConstraints).value.ca is False
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.SubjectKeyIdentifier)
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.SubjectAlternativeName)
    assert pki.signed_by(cert, ca)


def test_pem_types(keys):
    assert pki.key_to_pem(keys["RSA-2048"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert pki.key_to_pem(keys["ECDSA-P256"]).startswith(b"-----BEGIN EC PRIVATE KEY-----")
    assert pki.public_to_pem(keys["RSA-2048"]).startswith(b"-----BEGIN PUBLIC KEY-----")
    pkcs8 = keys["ECDSA-P384"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert pki.same_public_key(pki.load_key(pkcs8, "k.pem"), keys["ECDSA-P384"])


def test_corrupt_key_error_names_the_file():
    with pytest.raises(pki.PKIError, match=r"/etc/x/ca.key is not a readable.*left untouched"):
        pki.load_key(
            b"-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n", "/etc/x/ca.key"
        )


@pytest.mark.parametrize("alg", ["RSA-2048", "ECDSA-P256", "ECDSA-P384"])
def test_chain_verifies_with_openssl(tmp_path, keys, cas, alg):
    ca = cas[alg]
    leaf = pki.make_leaf(ca, keys[alg], keys["RSA-2048"], PEER, validity_days=365)
    (tmp_path / "ca.crt").write_bytes(pki.cert_to_pem(ca))
    (tmp_path / "leaf.crt").write_bytes(pki.cert_to_pem(leaf))
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "leaf.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(": OK")


@pytest.mark.parametrize("alg", ["RSA-2048", "ECDSA-P256", "ECDSA-P384"])
def test_discovery_hash_matches_the_openssl_recipe(tmp_path, cas, alg):
    path = tmp_path / "ca.crt"
    path.write_bytes(pki.cert_to_pem(cas[alg]))
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(path)], capture_output=True, check=True
    )
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=pub.stdout, capture_output=True, check=True
    )
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex"], input=der.stdout, capture_output=True, check=True
    )
    assert pki.discovery_hash(cas[alg]) == "sha256:" + digest.stdout.decode().split()[-1]


def test_leaf_problems_name_each_reason(keys, cas, monkeypatch):
    ca = cas["RSA-2048"]
    other_ca = pki.make_ca(keys["ECDSA-P256"], "kubernetes", 3650)
    cert = pki.make_leaf(ca, keys["RSA-2048"], keys["ECDSA-P256"], SERVER, validity_days=365)
    assert pki.leaf_problems(cert, keys["ECDSA-P256"], ca, SERVER, 30) == []
    assert pki.leaf_problems(cert, keys["ECDSA-P384"], ca, SERVER, 30) == [
        "certificate does not match its key"
    ]
    changed = dict(SERVER, dns_names=[*SERVER["dns_names"], "api.example.org"])
    assert pki.leaf_problems(cert, None, ca, changed, 30) == ["SANs differ"]
    assert pki.leaf_problems(cert, None, ca, dict(SERVER, common_name="x"), 30)[0].startswith(
        "subject differs"
    )
    assert pki.leaf_problems(cert, None, ca, dict(SERVER, extended_key_usages=["client_auth"]), 30) == [
        "extended key usages differ"
    ]
    assert pki.leaf_problems(cert, None, other_ca, SERVER, 30) == ["not signed by the current CA"]
    later = pki.now() + datetime.timedelta(days=340)
    monkeypatch.setattr(pki, "now", lambda: later)
    assert "renewal window" in pki.leaf_problems(cert, None, ca, SERVER, 30)[0]


def test_ecdsa_and_rsa_key_types(keys):
    assert isinstance(keys["RSA-3072"], rsa.RSAPrivateKey)
    assert keys["RSA-4096"].key_size == 4096
    assert isinstance(keys["ECDSA-P384"], ec.EllipticCurvePrivateKey)
    assert keys["ECDSA-P384"].curve.name == "secp384r1"
    with pytest.raises(pki.PKIError, match="key_algorithm 'DSA-1024'"):
        pki.generate_key("DSA-1024")
