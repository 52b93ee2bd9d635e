# SPDX-License-Identifier: Apache-2.0
"""The PKI modules run for real through ansible: check mode predicts, CAs are never overwritten
unless rotated, external CA mode validates only, docs match argument specs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
MODULES = ["pki_ca", "pki_cert", "pki_sa_keypair", "kubeconfig", "validate_cluster"]


def run(module: str, args: dict, *flags: str) -> dict:
    """One module call on localhost; returns the JSON result."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.oneline",
    )
    proc = subprocess.run(
        [
            "ansible",
            "localhost",
            "-m",
            f"slipway.cluster.{module}",
            "-a",
            json.dumps(args),
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *flags,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    line = next(line for line in proc.stdout.splitlines() if line.startswith("localhost | "))
    payload = line.split(" => ", 1)[1] if " => " in line else line.split("| ", 2)[-1]
    result = json.loads(payload)
    result["_rc"] = proc.returncode
    result["_output"] = proc.stdout + proc.stderr
    return result


def ca_args(tmp_path, **extra):
    return {
        "cert_path": str(tmp_path / "ca.crt"),
        "key_path": str(tmp_path / "ca.key"),
        "common_name": "kubernetes",
    } | extra


def test_ca_check_mode_predicts_then_creates_then_keeps(tmp_path):
    check = run("pki_ca", ca_args(tmp_path), "--check")
    assert check["changed"] is True
    assert check["action"] == "created"
    assert not (tmp_path / "ca.crt").exists()
    real = run("pki_ca", ca_args(tmp_path))
    assert (real["changed"], real["action"]) == (True, "created")
    assert real["discovery_hash"].startswith("sha256:")
    again = run("pki_ca", ca_args(tmp_path, key_algorithm="ECDSA-P256"))
    assert (again["changed"], again["action"]) == (False, "unchanged")
    assert again["fingerprint_sha256"] == real["fingerprint_sha256"]
    assert "BEGIN" not in json.dumps(real)  # never key material in results


def test_ca_rotation_backs_up_first(tmp_path):
    first = run("pki_ca", ca_args(tmp_path))
    old = (tmp_path / "ca.crt").read_bytes()
    rotated = run("pki_ca", ca_args(tmp_path, rotate=True))
    assert rotated["action"] == "rotated"
    assert rotated["fingerprint_sha256"] != first["fingerprint_sha256"]
    backups = [Path(p) for p in rotated["backup_files"]]
    assert len(backups) == 2
    assert any(b.read_bytes() == old for b in backups)
    assert oct((tmp_path / "ca.key").stat().st_mode & 0o777) == "0o600"


def test_mismatched_ca_key_is_refused_and_kept(tmp_path):
    run("pki_ca", ca_args(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    run("pki_ca", ca_args(other))
    (tmp_path / "ca.key").write_bytes((other / "ca.key").read_bytes())
    before = (tmp_path / "ca.crt").read_bytes()
    result = run("pki_ca", ca_args(tmp_path))
    assert result["_rc"] != 0
    assert "does not match" in result["msg"]
    assert "rotate=true" in result["msg"]
    assert (tmp_path / "ca.crt").read_bytes() == before


def test_external_ca_without_key_validates_leaves_only(tmp_path):
    run("pki_ca", ca_args(tmp_path))
    leaf = {
        "cert_path": str(tmp_path / "front-proxy-client.crt"),
        "key_path": str(tmp_path / "front-proxy-client.key"),
        "common_name": "front-proxy-client",
        "extended_key_usages": ["client_auth"],
    }
    made = run(
        "pki_cert",
        {
            "ca_cert_path": str(tmp_path / "ca.crt"),
            "ca_key_path": str(tmp_path / "ca.key"),
            "certificates": [leaf],
        },
    )
    assert made["results"][0]["action"] == "created"
    (tmp_path / "ca.key").rename(tmp_path / "ca.key.offline")
    external = run("pki_ca", ca_args(tmp_path, mode="external"))
    assert (external["changed"], external["has_key"]) == (False, False)
    ok = run("pki_cert", {"ca_cert_path": str(tmp_path / "ca.crt"), "certificates": [leaf]})
    assert ok["changed"] is False
    missing = dict(leaf, cert_path=str(tmp_path / "missing.crt"), key_path=str(tmp_path / "missing.key"))
    refused = run("pki_cert", {"ca_cert_path": str(tmp_path / "ca.crt"), "certificates": [missing]})
    assert refused["_rc"] != 0
    assert "external CA mode" in refused["msg"]
    assert not (tmp_path / "missing.crt").exists()


def test_sa_keypair_keeps_the_key_and_repairs_the_public_half(tmp_path):
    args = {"key_path": str(tmp_path / "sa.key"), "pub_path": str(tmp_path / "sa.pub")}
    assert run("pki_sa_keypair", args)["action"] == "created"
    key = (tmp_path / "sa.key").read_bytes()
    (tmp_path / "sa.pub").write_text("stale")
    assert run("pki_sa_keypair", args, "--check")["action"] == "public_key_rewritten"
    assert (tmp_path / "sa.pub").read_text() == "stale"
    assert run("pki_sa_keypair", args)["action"] == "public_key_rewritten"
    assert (tmp_path / "sa.key").read_bytes() == key
    assert (tmp_path / "sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert oct((tmp_path / "sa.pub").stat().st_mode & 0o777) == "0o600"
    assert run("pki_sa_keypair", args)["changed"] is False


def test_kubeconfig_server_change_keeps_the_credential(tmp_path):
    run("pki_ca", ca_args(tmp_path))
    item = {
        "path": str(tmp_path / "admin.conf"),
        "server": "https://192.0.2.11:6443",
        "user": "kubernetes-admin",
    }
    base = {"ca_cert_path": str(tmp_path / "ca.crt"), "ca_key_path": str(tmp_path / "ca.key")}
    first = run("kubeconfig", base | {"kubeconfigs": [item]})
    assert first["results"][0]["action"] == "created"
    moved = run("kubeconfig", base | {"kubeconfigs": [dict(item, server="https://k8s.example.org:6443")]})
    assert moved["results"][0]["action"] == "server_updated"
    assert moved["results"][0]["fingerprint_sha256"] == first["results"][0]["fingerprint_sha256"]
    doc = yaml.safe_load((tmp_path / "admin.conf").read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://k8s.example.org:6443"


def _literal(path: Path, name: str) -> str:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return node.value.value
    raise AssertionError(f"{path} has no {name}")


@pytest.mark.parametrize("module", MODULES)
def test_documentation_parses_and_names_every_option(module):
    path = REPO / "plugins" / "modules" / f"{module}.py"
    doc = yaml.safe_load(_literal(path, "DOCUMENTATION"))
    yaml.safe_load(_literal(path, "EXAMPLES"))
    yaml.safe_load(_literal(path, "RETURN"))
    assert doc["module"] == module
    assert {"check_mode", "diff_mode", "platform"} <= set(doc["attributes"])
    source = (
        path.read_text()
        if module != "validate_cluster"
        else (REPO / "plugins/action/validate_cluster.py").read_text()
    )
    for option in doc.get("options", {}):
        assert f'"{option}"' in source, f"{module}: documented option {option} is not in the code"


def leaf(directory: Path, name: str, eku: str = "client_auth", **extra) -> dict:
    return {
        "cert_path": str(directory / f"{name}.crt"),
        "key_path": str(directory / f"{name}.key"),
        "common_name": name,
        "extended_key_usages": [eku],
    } | extra


def test_issuers_sign_each_list_with_its_own_ca_in_one_call(tmp_path):
    from cryptography import x509  # noqa: PLC0415 (the module tests need it on the controller anyway)

    cas = {
        name: {
            "cert_path": str(tmp_path / f"{name}.crt"),
            "key_path": str(tmp_path / f"{name}.key"),
            "common_name": name,
        }
        for name in ("kubernetes", "front-proxy-ca", "etcd-ca")
    }
    assert run("pki_ca", {"authorities": list(cas.values())})["changed"] is True
    leaves = tmp_path / "leaves"
    wanted = {
        "kubernetes": [
            leaf(leaves, "apiserver", "server_auth", dns_names=["kubernetes"], ip_addresses=["10.96.0.1"]),
            leaf(leaves, "apiserver-kubelet-client", organizations=["kubeadm:cluster-admins"]),
        ],
        "front-proxy-ca": [leaf(leaves, "front-proxy-client")],
        "etcd-ca": [leaf(leaves, "etcd-healthcheck-client")],
    }
    issuers = [
        {"ca_cert_path": cas[name]["cert_path"], "ca_key_path": cas[name]["key_path"], "certificates": certs}
        for name, certs in wanted.items()
    ]
    predicted = run("pki_cert", {"issuers": issuers}, "--check")
    assert predicted["_rc"] == 0, predicted["_output"]
    assert not leaves.exists()
    made = run("pki_cert", {"issuers": issuers})
    assert made["changed"] is True
    assert [(r["cert_path"], r["action"]) for r in made["results"]] == [
        (r["cert_path"], r["action"]) for r in predicted["results"]
    ]
    assert [r["action"] for r in made["results"]] == ["created"] * 4
    assert [(i["ca_cert_path"], i["changed"], i["certificates"]) for i in made["issuers"]] == [
        (cas[name]["cert_path"], True, len(certs)) for name, certs in wanted.items()
    ]
    assert "BEGIN" not in json.dumps(made)
    for name, certs in wanted.items():
        ca = x509.load_pem_x509_certificate(Path(cas[name]["cert_path"]).read_bytes())
        for item in certs:
            cert = x509.load_pem_x509_certificate(Path(item["cert_path"]).read_bytes())
            assert cert.issuer == ca.subject
            cert.verify_directly_issued_by(ca)  # raises unless the CA's key signed it
            assert oct(Path(item["key_path"]).stat().st_mode & 0o777) == "0o600"
    by_path = {r["cert_path"]: r for r in made["results"]}
    for name, certs in wanted.items():
        assert {by_path[item["cert_path"]]["ca_cert_path"] for item in certs} == {cas[name]["cert_path"]}
    before = {p: p.read_bytes() for p in sorted(leaves.iterdir())}
    again = run("pki_cert", {"issuers": issuers})
    assert again["changed"] is False
    assert [r["action"] for r in again["results"]] == ["unchanged"] * 4
    assert [i["changed_certificates"] for i in again["issuers"]] == [[], [], []]
    assert {p: p.read_bytes() for p in sorted(leaves.iterdir())} == before


def test_issuers_without_a_ca_key_validate_only_and_write_nothing(tmp_path):
    run("pki_ca", ca_args(tmp_path))
    issuer = {"ca_cert_path": str(tmp_path / "ca.crt"), "certificates": [leaf(tmp_path, "missing")]}
    refused = run("pki_cert", {"issuers": [issuer]})
    assert refused["_rc"] != 0
    assert "external CA mode" in refused["msg"]
    assert not (tmp_path / "missing.crt").exists()


@pytest.mark.parametrize("single", ["ca_cert_path", "ca_key_path", "certificates"])
def test_issuers_and_single_issuer_options_are_mutually_exclusive(tmp_path, single):
    issuer = {
        "ca_cert_path": str(tmp_path / "ca.crt"),
        "ca_key_path": str(tmp_path / "ca.key"),
        "certificates": [leaf(tmp_path, "front-proxy-client")],
    }
    refused = run("pki_cert", {"issuers": [issuer], single: issuer[single]})
    assert refused["_rc"] != 0
    assert "mutually exclusive" in refused["msg"]
    assert f"issuers|{single}" in refused["msg"]
