#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: the full PKI of a 3-control-plane cluster, three ways, in one run.

    python3 tools/slipway.py exec -- python bench/pki.py [--nodes 3] [--algorithm RSA-2048]

1. Slipway: ``playbooks/pki.yml`` (our modules: one call for the CAs, one for every certificate), and the same
   set made by calling our module_utils directly (the library cost alone);
2. the openssl command line (genpkey, req, x509 per certificate);
3. community.crypto modules (openssl_privatekey, openssl_csr_pipe,
   x509_certificate with the ownca provider) in a playbook on localhost.

Every method makes the same set: 3 CAs, the service-account pair, and per node
7 leaf certificates plus the client certificates of the kubeconfigs (admin,
controller-manager, scheduler, kubelet; super-admin on the first node; the
user's admin.conf). Prints wall times and ratios; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.slipway.cluster.plugins.filter.pki_plan import pki_plan  # noqa: E402
from ansible_collections.slipway.cluster.plugins.module_utils import pki  # noqa: E402


def plan(pki_dir: Path, nodes: int) -> dict:
    settings = {"pki_dir": str(pki_dir), "service_subnet": "10.96.0.0/12"}
    return pki_plan(settings, [{"name": f"cp{i + 1}", "address": f"192.0.2.{11 + i}"} for i in range(nodes)])


def jobs(layout: dict) -> list[tuple[str, dict, bool]]:
    """(ca name, profile with cert_path/key_path, kubeconfig-style) for every leaf and client cert."""
    out = [(ca, item, False) for ca, items in layout["certificates"].items() for item in items]
    for kc in layout["kubeconfigs"]:
        base = kc["path"].removesuffix(".conf")
        profile = {
            "cert_path": base + "-client.crt",
            "key_path": base + "-client.key",
            "common_name": kc["user"],
            "organizations": kc["organizations"],
            "extended_key_usages": ["client_auth"],
        }
        out.append(("ca", profile, True))
    return out


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def env() -> dict:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
    )


def slipway_playbook(work: Path, nodes: int, algorithm: str) -> None:
    inv = work / "inv"
    inv.mkdir()
    hosts = "\n".join(f"        cp{i + 1}: {{ansible_host: 192.0.2.{11 + i}}}" for i in range(nodes))
    (inv / "hosts.yml").write_text(f"k8s_cluster:\n  children:\n    control_plane:\n      hosts:\n{hosts}\n")
    subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inv / "hosts.yml"),
            str(REPO / "playbooks/pki.yml"),
            "-e",
            f"slipway_key_algorithm={algorithm}",
        ],
        check=True,
        capture_output=True,
        env=env(),
    )


def slipway_library(work: Path, nodes: int, algorithm: str) -> None:
    layout = plan(work, nodes)
    cas = {}
    for name, spec in layout["cas"].items():
        key = pki.generate_key(algorithm)
        cas[name] = (pki.make_ca(key, spec["common_name"], 3650), key)
    sa = pki.generate_key(algorithm)
    (work / "sa.key").write_bytes(pki.key_to_pem(sa))
    for ca_name, profile, from_ca in jobs(layout):
        ca_cert, ca_key = cas[ca_name]
        key = pki.generate_key(algorithm)
        cert = pki.make_leaf(ca_cert, ca_key, key, profile, validity_days=365, not_before_from_ca=from_ca)
        path = Path(profile["cert_path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pki.cert_to_pem(cert))
        Path(profile["key_path"]).write_bytes(pki.key_to_pem(key))


def _genkey(path: Path, algorithm: str) -> list[str]:
    if algorithm.startswith("RSA"):
        return [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            f"rsa_keygen_bits:{algorithm[4:]}",
            "-out",
            str(path),
        ]
    curve = "P-256" if algorithm == "ECDSA-P256" else "P-384"
    return [
        "openssl",
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        f"ec_paramgen_curve:{curve}",
        "-out",
        str(path),
    ]


def openssl_cli(work: Path, nodes: int, algorithm: str) -> None:
    layout = plan(work, nodes)
    run = lambda argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
    for spec in layout["cas"].values():
        Path(spec["key_path"]).parent.mkdir(parents=True, exist_ok=True)
        run(_genkey(Path(spec["key_path"]), algorithm))
        run(
            [
                "openssl",
                "req",
                "-x509",
                "-new",
                "-key",
                spec["key_path"],
                "-out",
                spec["cert_path"],
                "-days",
                "3650",
                "-subj",
                f"/CN={spec['common_name']}",
                "-addext",
                f"subjectAltName=DNS:{spec['common_name']}",
                "-addext",
                "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ]
        )
    run(_genkey(work / "sa.key", algorithm))
    run(["openssl", "pkey", "-in", str(work / "sa.key"), "-pubout", "-out", str(work / "sa.pub")])
    for ca_name, profile, _ in jobs(layout):
        ca = layout["cas"][ca_name]
        Path(profile["key_path"]).parent.mkdir(parents=True, exist_ok=True)
        run(_genkey(Path(profile["key_path"]), algorithm))
        subject = "".join(f"/O={o}" for o in profile["organizations"]) + f"/CN={profile['common_name']}"
        csr = profile["cert_path"] + ".csr"
        run(["openssl", "req", "-new", "-key", profile["key_path"], "-subj", subject, "-out", csr])
        ext = Path(profile["cert_path"] + ".ext")
        sans = [f"DNS:{d}" for d in profile.get("dns_names", [])] + [
            f"IP:{i}" for i in profile.get("ip_addresses", [])
        ]
        eku = ",".join(
            {"server_auth": "serverAuth", "client_auth": "clientAuth"}[e]
            for e in profile["extended_key_usages"]
        )
        lines = [
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "basicConstraints=critical,CA:FALSE",
            f"extendedKeyUsage={eku}",
        ]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                ca["cert_path"],
                "-CAkey",
                ca["key_path"],
                "-CAcreateserial",
                "-days",
                "365",
                "-extfile",
                str(ext),
                "-out",
                profile["cert_path"],
            ]
        )


KEY_FOR_ITEM = "{{ key_args | combine({'path': item.key_path}) }}"


def community_crypto(work: Path, nodes: int, algorithm: str) -> None:
    layout = plan(work, nodes)
    kind, size = algorithm.split("-")
    key_args = (
        {"type": "RSA", "size": int(size)}
        if kind == "RSA"
        else {"type": "ECC", "curve": "secp256r1" if size == "P256" else "secp384r1"}
    )
    leaves = []
    for ca_name, profile, _ in jobs(layout):
        ca = layout["cas"][ca_name]
        sans = [f"DNS:{d}" for d in profile.get("dns_names", [])] + [
            f"IP:{i}" for i in profile.get("ip_addresses", [])
        ]
        leaves.append(
            profile
            | {
                "ca_cert": ca["cert_path"],
                "ca_key": ca["key_path"],
                "sans": sans,
                "ekus": [
                    {"server_auth": "serverAuth", "client_auth": "clientAuth"}[e]
                    for e in profile["extended_key_usages"]
                ],
            }
        )
    playbook = [
        {
            "name": "PKI with community.crypto",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "cas": list(layout["cas"].values()),
                "leaves": leaves,
                "key_args": key_args,
            },
            "tasks": [
                {
                    "name": "Directories",
                    "ansible.builtin.file": {"path": "{{ item }}", "state": "directory", "mode": "0700"},
                    "loop": sorted({str(Path(p["key_path"]).parent) for p in leaves} | {str(work / "etcd")}),
                },
                {
                    "name": "CA keys",
                    "community.crypto.openssl_privatekey": KEY_FOR_ITEM,
                    "loop": "{{ cas }}",
                },
                {
                    "name": "CA CSRs",
                    "community.crypto.openssl_csr_pipe": {
                        "privatekey_path": "{{ item.key_path }}",
                        "common_name": "{{ item.common_name }}",
                        "basic_constraints": ["CA:TRUE"],
                        "basic_constraints_critical": True,
                        "key_usage": ["digitalSignature", "keyEncipherment", "keyCertSign"],
                        "key_usage_critical": True,
                        "subject_alt_name": ["DNS:{{ item.common_name }}"],
                        "use_common_name_for_san": False,
                    },
                    "loop": "{{ cas }}",
                    "register": "ca_csrs",
                },
                {
                    "name": "CA certificates",
                    "community.crypto.x509_certificate": {
                        "path": "{{ item.item.cert_path }}",
                        "csr_content": "{{ item.csr }}",
                        "privatekey_path": "{{ item.item.key_path }}",
                        "provider": "selfsigned",
                        "selfsigned_not_after": "+3650d",
                    },
                    "loop": "{{ ca_csrs.results }}",
                },
                {
                    "name": "SA key",
                    "community.crypto.openssl_privatekey": "{{ key_args | combine({'path': '"
                    + str(work / "sa.key")
                    + "'}) }}",
                },
                {
                    "name": "Leaf keys",
                    "community.crypto.openssl_privatekey": KEY_FOR_ITEM,
                    "loop": "{{ leaves }}",
                },
                {
                    "name": "Leaf CSRs",
                    "community.crypto.openssl_csr_pipe": {
                        "privatekey_path": "{{ item.key_path }}",
                        "common_name": "{{ item.common_name }}",
                        "organization_name": "{{ item.organizations | first | default(omit) }}",
                        "subject_alt_name": "{{ item.sans if item.sans else omit }}",
                        "use_common_name_for_san": False,
                        "key_usage": ["digitalSignature", "keyEncipherment"],
                        "key_usage_critical": True,
                        "extended_key_usage": "{{ item.ekus }}",
                    },
                    "loop": "{{ leaves }}",
                    "register": "leaf_csrs",
                },
                {
                    "name": "Leaf certificates",
                    "community.crypto.x509_certificate": {
                        "path": "{{ item.item.cert_path }}",
                        "csr_content": "{{ item.csr }}",
                        "provider": "ownca",
                        "ownca_path": "{{ item.item.ca_cert }}",
                        "ownca_privatekey_path": "{{ item.item.ca_key }}",
                        "ownca_not_after": "+365d",
                    },
                    "loop": "{{ leaf_csrs.results }}",
                },
            ],
        }
    ]
    path = work / "cc.yml"
    path.write_text(json.dumps(playbook))
    subprocess.run(
        ["ansible-playbook", "-i", "localhost,", str(path)], check=True, capture_output=True, env=env()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--algorithm", default="RSA-2048", choices=list(pki.ALGORITHMS))
    args = parser.parse_args()
    methods = {
        "slipway playbooks/pki.yml": slipway_playbook,
        "slipway module_utils (library only)": slipway_library,
        "openssl command line": openssl_cli,
        "community.crypto modules": community_crypto,
    }
    layout = plan(Path("/x"), args.nodes)
    print(
        f"PKI of a {args.nodes}-control-plane cluster, {args.algorithm}: 3 CAs, sa pair, "
        f"{len(jobs(layout))} leaf and client certificates"
    )
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    results = {}
    for name, fn in methods.items():
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = timed(lambda fn=fn, tmp=tmp: fn(Path(tmp), args.nodes, args.algorithm))
        print(f"  {name:<38} {results[name]:7.2f} s", flush=True)
    base = results["slipway playbooks/pki.yml"]
    print("ratios (time / slipway playbook):")
    for name, seconds in results.items():
        print(f"  {name:<38} {seconds / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
