#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: kubeconfig
short_description: kubeadm-style kubeconfig files with embedded client certificates, many per call
description:
  - Writes kubeconfigs the way kubeadm does (admin.conf, super-admin.conf, controller-manager.conf,
    scheduler.conf, kubelet.conf), with one cluster with the CA embedded, one user whose client
    certificate (signed by the CA, clientAuth, starting at the CA's own start as kubeadm does) and
    key are embedded, one context C(<user>@<cluster>) set as current. Files are mode 0600.
  - Idempotent by parsing the existing file. Unchanged when the server, names, CA and the client
    certificate (subject, signer, key match, time left) all fit. A different O(kubeconfigs[].server)
    only rewrites the server and keeps the credential; anything else reissues the client
    certificate (the key is kept when it is still of O(key_algorithm)). Replaced files are backed up.
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
  - PyYAML
options:
  ca_cert_path:
    description: The CA certificate embedded and used to sign client certificates.
    type: path
    required: true
  ca_key_path:
    description: The CA key.
    type: path
    required: true
  kubeconfigs:
    description: The kubeconfig files.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: File path (0600).
        type: path
        required: true
      cluster_name:
        description: Cluster entry name (kubeadm's clusterName).
        type: str
        default: kubernetes
      server:
        description: API server URL.
        type: str
        required: true
      user:
        description: User name, also the client certificate's CN.
        type: str
        required: true
      organizations:
        description: The client certificate's O values (groups).
        type: list
        elements: str
        default: []
  key_algorithm:
    description: Algorithm of new client keys.
    type: str
    default: RSA-2048
    choices: [RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384]
  validity_days:
    description: Validity of new client certificates.
    type: int
    default: 365
  renewal_days:
    description: A client certificate with fewer days left is reissued.
    type: int
    default: 30
  backup:
    description: Copy a file aside before replacing it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Per changed file, server, client subject, validity, fingerprint; never key material.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Admin kubeconfig
  slipway.cluster.kubeconfig:
    ca_cert_path: /srv/pki/ca.crt
    ca_key_path: /srv/pki/ca.key
    kubeconfigs:
      - path: /srv/pki/admin.conf
        server: https://192.0.2.11:6443
        user: kubernetes-admin
        organizations: ["kubeadm:cluster-admins"]
"""

RETURN = r"""
results:
  description: One entry per kubeconfig, in order.
  type: list
  elements: dict
  returned: always
  contains:
    path:
      description: File path.
      type: str
    changed:
      description: Whether it was (or would be) written.
      type: bool
    action:
      description: created, reissued, server_updated or unchanged.
      type: str
    reasons:
      description: Why it changed.
      type: list
      elements: str
    server:
      description: API server URL.
      type: str
    subject:
      description: CN and O of the client certificate.
      type: dict
    not_after:
      description: End of validity of the client certificate.
      type: str
    fingerprint_sha256:
      description: Fingerprint of the client certificate.
      type: str
backup_files:
  description: Backups made.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import pki

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML on the controller
    yaml = None


def plan_one(item: dict, ca_cert, ca_pem: bytes, params: dict):
    """Return (action, reasons, cert, key) for one kubeconfig."""
    data = pki.read_or_none(item["path"])
    if data is None:
        return "created", ["file missing"], None, None
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise pki.PKIError(f"{item['path']} is not YAML ({exc}); it was left untouched") from None
    have = pki.parse_kubeconfig(doc, item["path"])
    key = pki.load_key(have["key_pem"], f"{item['path']} (client-key-data)")
    cert = pki.load_cert(have["cert_pem"], f"{item['path']} (client-certificate-data)")
    profile = {
        "common_name": item["user"],
        "organizations": item["organizations"],
        "extended_key_usages": ["client_auth"],
    }
    reasons = pki.leaf_problems(cert, key, ca_cert, profile, params["renewal_days"])
    if pki.algorithm_of(key) != params["key_algorithm"]:
        reasons.append(f"key is {pki.algorithm_of(key)}, {params['key_algorithm']} requested")
        key = None
    names = (have["cluster_name"], have["user"], have["context"])
    if names != (item["cluster_name"], item["user"], f"{item['user']}@{item['cluster_name']}"):
        reasons.append("cluster, user or context name differs")
    if have["ca_pem"] != ca_pem:
        reasons.append("embedded CA differs")
    if reasons:
        return "reissued", reasons, None, key
    if have["server"] != item["server"]:
        return "server_updated", [f"server was {have['server']}"], cert, key
    return "unchanged", [], cert, key


def run(module: AnsibleModule) -> dict:
    p = module.params
    ca_cert = pki.load_ca(p["ca_cert_path"])
    ca_pem = pki.cert_to_pem(ca_cert)
    ca_key = pki.load_key(pki.read_or_none(p["ca_key_path"]) or b"", p["ca_key_path"])
    results, backups, before, after, writes = [], [], [], [], []
    for item in p["kubeconfigs"]:
        action, reasons, cert, key = plan_one(item, ca_cert, ca_pem, p)
        if action in ("created", "reissued"):
            key = key or pki.generate_key(p["key_algorithm"])
            profile = {
                "common_name": item["user"],
                "organizations": item["organizations"],
                "extended_key_usages": ["client_auth"],
            }
            cert = pki.make_leaf(
                ca_cert, ca_key, key, profile, validity_days=p["validity_days"], not_before_from_ca=True
            )
        summary = pki.summary(cert)
        results.append(
            {
                "path": item["path"],
                "changed": action != "unchanged",
                "action": action,
                "reasons": reasons,
                "server": item["server"],
                "subject": summary["subject"],
                "not_after": summary["not_after"],
                "fingerprint_sha256": summary["fingerprint_sha256"],
            }
        )
        if action == "unchanged":
            continue
        before.append({item["path"]: None if action == "created" else reasons})
        after.append({item["path"]: {"server": item["server"], **summary}})
        doc = pki.kubeconfig_document(
            cluster_name=item["cluster_name"],
            server=item["server"],
            user=item["user"],
            ca_pem=ca_pem,
            cert_pem=pki.cert_to_pem(cert),
            key_pem=pki.key_to_pem(key),
        )
        writes.append((item["path"], yaml.safe_dump(doc, default_flow_style=False, sort_keys=False).encode()))
    if not module.check_mode:
        for path, data in writes:
            pki.backup(module, path, p["backup"], backups)
            pki.write_atomic(module, path, data, 0o600)
    return {
        "changed": bool(writes),
        "results": results,
        "backup_files": backups,
        "diff": {"before": before, "after": after},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ca_cert_path": {"type": "path", "required": True},
            "ca_key_path": {"type": "path", "required": True, "no_log": False},
            "kubeconfigs": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "cluster_name": {"type": "str", "default": "kubernetes"},
                    "server": {"type": "str", "required": True},
                    "user": {"type": "str", "required": True},
                    "organizations": {"type": "list", "elements": "str", "default": []},
                },
            },
            "key_algorithm": {"type": "str", "default": "RSA-2048", "choices": list(pki.ALGORITHMS)},
            "validity_days": {"type": "int", "default": 365},
            "renewal_days": {"type": "int", "default": 30},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    if yaml is None:
        module.fail_json(msg="the Python library PyYAML is required on the controller (pip install pyyaml)")
    pki.run_module(module, run)


if __name__ == "__main__":
    main()
