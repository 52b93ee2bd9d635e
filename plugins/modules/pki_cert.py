#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_cert
short_description: kubeadm-style leaf certificates and keys signed by one CA, many per call
description:
  - Issues, keeps or reissues every certificate in O(certificates) with kubeadm's leaf profile
    (C(digitalSignature, keyEncipherment), C(CA:FALSE), the requested extended key usages,
    authority key identifier, DNS SANs sorted, IP SANs in first-seen order, backdated five minutes).
  - The decision is made by parsing what is on disk. A missing certificate is created. A missing
    key, or one of another algorithm than O(key_algorithm), gets a new key. A certificate whose
    key, subject, SANs or extended key usages differ from the request, that the current CA did
    not sign, or with fewer than O(renewal_days) left is reissued with the same key.
  - A file that cannot be parsed stops the module with its name; nothing is overwritten.
    Replaced files are backed up first when O(backup=true).
  - Without a CA key (kubeadm's external CA mode) nothing is made; every certificate is checked
    and the module fails listing what is missing or wrong.
  - One CA's certificates with O(ca_cert_path), O(ca_key_path) and O(certificates), or several
    CAs' in one call with O(issuers) (one Python process for all of them). Every issuer is planned
    before anything is written; the other options apply to every issuer.
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
options:
  ca_cert_path:
    description:
      - The issuing CA's certificate.
      - Required, with O(certificates), unless O(issuers) is given; mutually exclusive with O(issuers).
    type: path
  ca_key_path:
    description:
      - The issuing CA's key. When it is not given or absent, certificates are only validated.
      - Mutually exclusive with O(issuers).
    type: path
  certificates:
    description:
      - The certificates to keep as requested.
      - Required with O(ca_cert_path); mutually exclusive with O(issuers).
    type: list
    elements: dict
    suboptions: &certificate_options
      cert_path:
        description: Certificate path (PEM, 0644).
        type: path
        required: true
      key_path:
        description: Key path (PEM, 0600).
        type: path
        required: true
      common_name:
        description: Subject CN.
        type: str
        required: true
      organizations:
        description: Subject O values.
        type: list
        elements: str
        default: []
      dns_names:
        description: DNS SANs.
        type: list
        elements: str
        default: []
      ip_addresses:
        description: IP SANs.
        type: list
        elements: str
        default: []
      extended_key_usages:
        description: Extended key usages.
        type: list
        elements: str
        default: []
        choices: [server_auth, client_auth]
      not_before:
        description:
          - V(backdate) starts the certificate O(backdate_minutes) before now (kubeadm's leaves).
          - V(ca) starts it at the CA's NotBefore, as kubeadm does for kubeconfig client certificates.
        type: str
        default: backdate
        choices: [backdate, ca]
  issuers:
    description:
      - Several CAs and their certificates in one call. Mutually exclusive with O(ca_cert_path),
        O(ca_key_path) and O(certificates).
    type: list
    elements: dict
    suboptions:
      ca_cert_path:
        description: The issuing CA's certificate.
        type: path
        required: true
      ca_key_path:
        description: The issuing CA's key. When it is not given or absent, its certificates are only checked.
        type: path
      certificates:
        description: The certificates this CA signs, as in O(certificates).
        type: list
        elements: dict
        required: true
        suboptions: *certificate_options
  key_algorithm:
    description: Algorithm of new keys; an existing key of another algorithm is replaced.
    type: str
    default: RSA-2048
    choices: [RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384]
  validity_days:
    description: Validity of newly issued certificates.
    type: int
    default: 365
  renewal_days:
    description: A certificate with fewer days left than this is reissued.
    type: int
    default: 30
  backdate_minutes:
    description: How far before now a new certificate starts.
    type: int
    default: 5
  backup:
    description: Copy a file to C(<file>.<timestamp>.bak), with the same mode, before replacing it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Per changed certificate, subject, SANs, validity, fingerprint; never key material.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Certificates signed by the cluster CA
  slipway.cluster.pki_cert:
    ca_cert_path: /srv/pki/ca.crt
    ca_key_path: /srv/pki/ca.key
    certificates:
      - cert_path: /srv/pki/nodes/cp1/pki/apiserver.crt
        key_path: /srv/pki/nodes/cp1/pki/apiserver.key
        common_name: kube-apiserver
        dns_names: [cp1, kubernetes, kubernetes.default]
        ip_addresses: [10.96.0.1, 192.0.2.11]
        extended_key_usages: [server_auth]

- name: Certificates of two CAs in one call
  slipway.cluster.pki_cert:
    issuers:
      - ca_cert_path: /srv/pki/ca.crt
        ca_key_path: /srv/pki/ca.key
        certificates:
          - cert_path: /srv/pki/nodes/cp1/pki/apiserver-kubelet-client.crt
            key_path: /srv/pki/nodes/cp1/pki/apiserver-kubelet-client.key
            common_name: kube-apiserver-kubelet-client
            organizations: ["kubeadm:cluster-admins"]
            extended_key_usages: [client_auth]
      - ca_cert_path: /srv/pki/front-proxy-ca.crt
        ca_key_path: /srv/pki/front-proxy-ca.key
        certificates:
          - cert_path: /srv/pki/nodes/cp1/pki/front-proxy-client.crt
            key_path: /srv/pki/nodes/cp1/pki/front-proxy-client.key
            common_name: front-proxy-client
            extended_key_usages: [client_auth]
"""

RETURN = r"""
results:
  description: One entry per requested certificate, in order (issuer by issuer with O(issuers)).
  type: list
  elements: dict
  returned: always
  contains:
    cert_path:
      description: The certificate path.
      type: str
    ca_cert_path:
      description: The certificate of the CA that signs it.
      type: str
    changed:
      description: Whether this certificate or its key was (or in check mode would be) written.
      type: bool
    action:
      description: created, reissued or unchanged.
      type: str
    reasons:
      description: Why it was created or reissued.
      type: list
      elements: str
    subject:
      description: CN and O.
      type: dict
    dns_names:
      description: DNS SANs.
      type: list
      elements: str
    ip_addresses:
      description: IP SANs.
      type: list
      elements: str
    not_after:
      description: End of validity.
      type: str
    fingerprint_sha256:
      description: SHA-256 fingerprint (of the planned certificate in check mode).
      type: str
backup_files:
  description: Backups made before replacing files (of every issuer with O(issuers)).
  type: list
  elements: str
  returned: always
issuers:
  description: With O(issuers), one entry per issuer, in order.
  type: list
  elements: dict
  returned: when O(issuers) is given
  contains:
    ca_cert_path:
      description: The issuing CA's certificate.
      type: str
    changed:
      description: Whether any certificate of this issuer was (or in check mode would be) written.
      type: bool
    certificates:
      description: How many certificates this issuer was asked for.
      type: int
    changed_certificates:
      description: The certificate paths written (or in check mode to be written) for this issuer.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def plan_one(item: dict, ca_cert, ca_key, params: dict):
    """Decide what one certificate needs; returns (result, key, cert, key_is_new) or raises PKIError."""
    cert_data = pki.read_or_none(item["cert_path"])
    key_data = pki.read_or_none(item["key_path"])
    key = pki.load_key(key_data, item["key_path"]) if key_data is not None else None
    cert = pki.load_cert(cert_data, item["cert_path"]) if cert_data is not None else None
    reasons: list[str] = []
    new_key = False
    if key is None:
        reasons.append("key missing")
        new_key = True
    elif pki.algorithm_of(key) != params["key_algorithm"]:
        reasons.append(f"key is {pki.algorithm_of(key)}, {params['key_algorithm']} requested")
        new_key = True
    if cert is None:
        reasons.append("certificate missing")
    else:
        reasons.extend(
            pki.leaf_problems(cert, None if new_key else key, ca_cert, item, params["renewal_days"])
        )
    return cert, key, reasons, new_key


def plan_issuer(issuer: dict, params: dict) -> dict:
    """Everything one CA's certificates need, decided without writing anything."""
    ca_cert = pki.load_ca(issuer["ca_cert_path"])
    ca_key_path = issuer["ca_key_path"]
    ca_key_data = pki.read_or_none(ca_key_path) if ca_key_path else None
    ca_key = pki.load_key(ca_key_data, ca_key_path) if ca_key_data is not None else None
    if ca_key is not None and not pki.same_public_key(ca_cert.public_key(), ca_key):
        raise pki.PKIError(f"CA key {ca_key_path} does not match CA certificate {issuer['ca_cert_path']}")

    planned = {"results": [], "before": [], "after": [], "problems": [], "writes": []}
    for item in issuer["certificates"]:
        cert, key, reasons, new_key = plan_one(item, ca_cert, ca_key, params)
        entry = {"cert_path": item["cert_path"], "ca_cert_path": issuer["ca_cert_path"]}
        if not reasons:
            planned["results"].append(
                entry | {"changed": False, "action": "unchanged", "reasons": []} | _public(pki.summary(cert))
            )
            continue
        if ca_key is None:
            planned["problems"].append(f"{item['cert_path']}: {'; '.join(reasons)}")
            continue
        if new_key:
            key = pki.generate_key(params["key_algorithm"])
        new_cert = pki.make_leaf(
            ca_cert,
            ca_key,
            key,
            item,
            validity_days=params["validity_days"],
            backdate_minutes=params["backdate_minutes"],
            not_before_from_ca=item["not_before"] == "ca",
        )
        action = "created" if cert is None else "reissued"
        planned["results"].append(
            entry | {"changed": True, "action": action, "reasons": reasons} | _public(pki.summary(new_cert))
        )
        planned["before"].append({item["cert_path"]: pki.summary(cert) if cert is not None else None})
        planned["after"].append({item["cert_path"]: pki.summary(new_cert)})
        planned["writes"].append((item, key if new_key else None, new_cert))
    return planned


def run(module: AnsibleModule) -> dict:
    """Every issuer's certificates are planned (and every problem collected) before anything is written."""
    p = module.params
    issuers = p["issuers"] if p["issuers"] is not None else [p]
    plans = [plan_issuer(issuer, p) for issuer in issuers]
    problems = [problem for planned in plans for problem in planned["problems"]]
    if problems:
        raise pki.PKIError(
            "external CA mode (no CA key): these certificates must be provided or fixed by whoever holds "
            "the CA key:\n  " + "\n  ".join(problems)
        )
    backups: list[str] = []
    if not module.check_mode:
        for item, key, cert in (write for planned in plans for write in planned["writes"]):
            if key is not None:
                pki.backup(module, item["key_path"], p["backup"], backups)
                pki.write_atomic(module, item["key_path"], pki.key_to_pem(key), 0o600)
            pki.backup(module, item["cert_path"], p["backup"], backups)
            pki.write_atomic(module, item["cert_path"], pki.cert_to_pem(cert), 0o644)
    result = {
        "changed": any(planned["writes"] for planned in plans),
        "results": [entry for planned in plans for entry in planned["results"]],
        "backup_files": backups,
        "diff": {
            "before": [summary for planned in plans for summary in planned["before"]],
            "after": [summary for planned in plans for summary in planned["after"]],
        },
    }
    if p["issuers"] is not None:
        result["issuers"] = [
            {
                "ca_cert_path": issuer["ca_cert_path"],
                "changed": bool(planned["writes"]),
                "certificates": len(issuer["certificates"]),
                "changed_certificates": [item["cert_path"] for item, _key, _cert in planned["writes"]],
            }
            for issuer, planned in zip(issuers, plans, strict=True)
        ]
    return result


def _public(summary: dict) -> dict:
    return {
        k: summary[k] for k in ("subject", "dns_names", "ip_addresses", "not_after", "fingerprint_sha256")
    }


CERT_OPTIONS = {
    "cert_path": {"type": "path", "required": True},
    "key_path": {"type": "path", "required": True, "no_log": False},
    "common_name": {"type": "str", "required": True},
    "organizations": {"type": "list", "elements": "str", "default": []},
    "dns_names": {"type": "list", "elements": "str", "default": []},
    "ip_addresses": {"type": "list", "elements": "str", "default": []},
    "extended_key_usages": {
        "type": "list",
        "elements": "str",
        "default": [],
        "choices": ["server_auth", "client_auth"],
    },
    "not_before": {"type": "str", "default": "backdate", "choices": ["backdate", "ca"]},
}

ISSUER_OPTIONS = {
    "ca_cert_path": {"type": "path", "required": True},
    "ca_key_path": {"type": "path", "no_log": False},
    "certificates": {"type": "list", "elements": "dict", "required": True, "options": CERT_OPTIONS},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ca_cert_path": {"type": "path"},
            "ca_key_path": {"type": "path", "no_log": False},
            "certificates": {"type": "list", "elements": "dict", "options": CERT_OPTIONS},
            "issuers": {"type": "list", "elements": "dict", "options": ISSUER_OPTIONS},
            "key_algorithm": {"type": "str", "default": "RSA-2048", "choices": list(pki.ALGORITHMS)},
            "validity_days": {"type": "int", "default": 365},
            "renewal_days": {"type": "int", "default": 30},
            "backdate_minutes": {"type": "int", "default": 5},
            "backup": {"type": "bool", "default": True},
        },
        mutually_exclusive=[
            ("issuers", "ca_cert_path"),
            ("issuers", "ca_key_path"),
            ("issuers", "certificates"),
        ],
        required_one_of=[("issuers", "ca_cert_path")],
        required_together=[("ca_cert_path", "certificates")],
        supports_check_mode=True,
    )
    pki.run_module(module, run)


if __name__ == "__main__":
    main()
