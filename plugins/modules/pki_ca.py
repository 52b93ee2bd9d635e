#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_ca
short_description: A kubeadm-style certificate authority (certificate and key)
description:
  - Creates a self-signed CA exactly as kubeadm does (subject CN only, random 63-bit serial,
    C(keyCertSign), C(CA:TRUE) without path length, subject key identifier, a DNS SAN equal to
    the CN, backdated five minutes), or reuses the one that is there.
  - An existing CA is never replaced unless O(rotate=true); it is backed up first. A CA whose
    key does not match, that is not a CA, or whose files cannot be parsed stops the module
    with a message naming the file; nothing is overwritten.
  - In O(mode=external) the user brings the CA; a certificate without its key is accepted
    (kubeadm's external CA mode) and reported with RV(has_key=false).
  - One CA per call with O(cert_path), O(key_path) and O(common_name), or several in one call
    with O(authorities) (one Python process for all of them). Every CA in O(authorities) is
    inspected before anything is written; when one is refused, the module fails naming each
    refused file and writes nothing. The other options apply to every CA of the list.
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
options:
  cert_path:
    description:
      - Path of the CA certificate (PEM, 0644).
      - Required, with O(common_name), unless O(authorities) is given; mutually exclusive with O(authorities).
    type: path
  key_path:
    description:
      - Path of the CA key (PEM, 0600). Required unless O(mode=external).
      - Mutually exclusive with O(authorities).
    type: path
  common_name:
    description:
      - CN of a new CA (kubeadm uses C(kubernetes), C(front-proxy-ca), C(etcd-ca)).
      - Required with O(cert_path); mutually exclusive with O(authorities).
    type: str
  authorities:
    description:
      - Several CAs in one call, each created when missing and reused when present, with the same
        rules as a single CA. Mutually exclusive with O(cert_path), O(key_path) and O(common_name).
    type: list
    elements: dict
    suboptions:
      cert_path:
        description: Path of the CA certificate (PEM, 0644).
        type: path
        required: true
      key_path:
        description: Path of the CA key (PEM, 0600). Required unless O(mode=external).
        type: path
      common_name:
        description: CN of a new CA.
        type: str
        required: true
      validity_days:
        description: Validity of this CA when it is created; O(validity_days) when not given.
        type: int
  key_algorithm:
    description: Algorithm of a new CA key.
    type: str
    default: RSA-2048
    choices: [RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384]
  validity_days:
    description: Validity of a new CA certificate.
    type: int
    default: 3650
  backdate_minutes:
    description: How far before now a new certificate starts.
    type: int
    default: 5
  mode:
    description:
      - V(generate) creates the CA when missing and reuses it when present.
      - V(external) never creates anything; the certificate must exist, the key may be absent.
    type: str
    default: generate
    choices: [generate, external]
  rotate:
    description:
      - Replace an existing CA with a new one (after a backup). Every leaf must then be reissued.
      - With O(authorities), every CA of the list is replaced.
    type: bool
    default: false
  backup:
    description: Copy a file to C(<file>.<timestamp>.bak), with the same mode, before replacing it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows a summary (subject, validity, fingerprint), never key material.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Cluster CA
  slipway.cluster.pki_ca:
    cert_path: "{{ slipway_pki_dir }}/ca.crt"
    key_path: "{{ slipway_pki_dir }}/ca.key"
    common_name: kubernetes
    key_algorithm: ECDSA-P256

- name: The three kubeadm CAs in one call
  slipway.cluster.pki_ca:
    authorities:
      - cert_path: "{{ slipway_pki_dir }}/ca.crt"
        key_path: "{{ slipway_pki_dir }}/ca.key"
        common_name: kubernetes
      - cert_path: "{{ slipway_pki_dir }}/front-proxy-ca.crt"
        key_path: "{{ slipway_pki_dir }}/front-proxy-ca.key"
        common_name: front-proxy-ca
      - cert_path: "{{ slipway_pki_dir }}/etcd/ca.crt"
        key_path: "{{ slipway_pki_dir }}/etcd/ca.key"
        common_name: etcd-ca
        validity_days: 7300
    validity_days: 3650
  register: cas

- name: Show what happened to each CA
  ansible.builtin.debug:
    msg: "{{ cas.results | map(attribute='action') }}"
"""

RETURN = r"""
action:
  description: What happened (created, unchanged or rotated).
  type: str
  returned: when O(cert_path) is given
  sample: created
has_key:
  description: Whether the CA key is present (false only in external mode without a key).
  type: bool
  returned: when O(cert_path) is given
subject:
  description: CN and O of the CA.
  type: dict
  returned: when O(cert_path) is given
not_before:
  description: Start of validity (ISO 8601).
  type: str
  returned: when O(cert_path) is given
not_after:
  description: End of validity (ISO 8601).
  type: str
  returned: when O(cert_path) is given
serial:
  description: Serial number, decimal.
  type: str
  returned: when O(cert_path) is given
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate.
  type: str
  returned: when O(cert_path) is given
discovery_hash:
  description: Value for kubeadm's --discovery-token-ca-cert-hash.
  type: str
  returned: when O(cert_path) is given
  sample: sha256:0123...
cert_path:
  description: The certificate path.
  type: str
  returned: when O(cert_path) is given
key_path:
  description: The key path.
  type: str
  returned: when O(cert_path) is given
backup_files:
  description: Backups made before replacing files (of every CA with O(authorities)).
  type: list
  elements: str
  returned: always
results:
  description: With O(authorities), one entry per CA, in order, with the keys a single CA returns.
  type: list
  elements: dict
  returned: when O(authorities) is given
  contains:
    cert_path:
      description: The certificate path.
      type: str
    key_path:
      description: The key path.
      type: str
    changed:
      description: Whether this CA was (or in check mode would be) written.
      type: bool
    action:
      description: created, unchanged or rotated.
      type: str
    has_key:
      description: Whether the CA key is present.
      type: bool
    subject:
      description: CN and O of the CA.
      type: dict
    not_before:
      description: Start of validity (ISO 8601).
      type: str
    not_after:
      description: End of validity (ISO 8601).
      type: str
    serial:
      description: Serial number, decimal.
      type: str
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate.
      type: str
    discovery_hash:
      description: Value for kubeadm's --discovery-token-ca-cert-hash.
      type: str
    backup_files:
      description: Backups made before replacing this CA's files.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def inspect(p: dict, ca: dict, cert_data: bytes | None, key_data: bytes | None):
    """The existing CA certificate (or None) and what is wrong with the pair on disk (or None)."""
    cert_path, key_path = ca["cert_path"], ca["key_path"]
    existing, problem = None, None
    if cert_data is not None:
        try:
            existing = pki.load_cert(cert_data, cert_path)
        except pki.PKIError as exc:
            problem = str(exc)
        if existing is not None and not pki.is_ca(existing):
            problem = f"{cert_path} is not a CA certificate (BasicConstraints CA:FALSE)"
        if problem is None and key_data is not None:
            try:
                key = pki.load_key(key_data, key_path)
            except pki.PKIError as exc:
                problem = str(exc)
            else:
                if not pki.same_public_key(existing.public_key(), key):
                    problem = f"{key_path} does not match {cert_path}"
        elif problem is None and p["mode"] == "generate":
            problem = (
                f"{cert_path} exists without its key {key_path}. Use mode=external for a CA whose key "
                "stays elsewhere, or restore the key"
            )
    elif key_data is not None and p["mode"] == "generate":
        problem = f"{key_path} exists without its certificate {cert_path}"

    return existing, problem


def plan(p: dict, ca: dict):
    """What one CA needs, decided without writing: (result, key, cert); key and cert are None
    when nothing is to be written. Raises PKIError naming the file when the CA is refused."""
    cert_path, key_path = ca["cert_path"], ca["key_path"]
    if p["mode"] == "generate" and not key_path:
        raise pki.PKIError(f"{cert_path}: key_path is required when mode=generate")
    cert_data = pki.read_or_none(cert_path)
    key_data = pki.read_or_none(key_path) if key_path else None
    paths = {"cert_path": cert_path, "key_path": key_path}

    existing, problem = inspect(p, ca, cert_data, key_data)

    if p["mode"] == "external":
        if cert_data is None:
            raise pki.PKIError(
                f"mode=external: the CA certificate {cert_path} does not exist; bring it first"
            )
        if problem is not None:
            raise pki.PKIError(f"mode=external: {problem}; nothing is ever written in this mode")
        unchanged = {"changed": False, "action": "unchanged", "has_key": key_data is not None}
        return unchanged | info(existing) | paths, None, None

    if problem is not None and not p["rotate"]:
        raise pki.PKIError(
            f"{problem}; the CA files were left untouched. Restore the matching pair, or set rotate=true "
            "to replace the CA after a backup (every certificate it signed is then reissued)"
        )
    if cert_data is not None and not p["rotate"]:
        return {"changed": False, "action": "unchanged", "has_key": True} | info(existing) | paths, None, None

    action = "rotated" if cert_data is not None else "created"
    validity_days = ca.get("validity_days") or p["validity_days"]
    key = pki.generate_key(p["key_algorithm"])
    cert = pki.make_ca(key, ca["common_name"], validity_days, p["backdate_minutes"])
    result = {"changed": True, "action": action, "has_key": True} | info(cert) | paths
    result["diff"] = {
        "before": pki.summary(existing) if existing is not None else {},
        "after": pki.summary(cert),
        "before_header": cert_path,
        "after_header": cert_path,
    }
    return result, key, cert


def run(module: AnsibleModule) -> dict:
    """Every requested CA is planned (and every refusal collected) before anything is written."""
    p = module.params
    cas = p["authorities"] if p["authorities"] is not None else [p]
    planned, problems = [], []
    for ca in cas:
        try:
            planned.append(plan(p, ca))
        except pki.PKIError as exc:
            problems.append(str(exc))
    if problems:
        raise pki.PKIError("\n".join(problems))
    backups: list[str] = []
    for result, key, cert in planned:
        if cert is not None and not module.check_mode:
            pki.backup(module, result["key_path"], p["backup"], result["backup_files"])
            pki.backup(module, result["cert_path"], p["backup"], result["backup_files"])
            pki.write_atomic(module, result["key_path"], pki.key_to_pem(key), 0o600)
            pki.write_atomic(module, result["cert_path"], pki.cert_to_pem(cert), 0o644)
        backups += result["backup_files"]
    results = [result for result, _key, _cert in planned]
    if p["authorities"] is None:
        return results[0]
    diffs = [result.pop("diff") for result in results if "diff" in result]
    return {
        "changed": any(result["changed"] for result in results),
        "results": results,
        "backup_files": backups,
        "diff": diffs,
    }


def info(cert) -> dict:
    s = pki.summary(cert)
    return {
        "subject": s["subject"],
        "not_before": s["not_before"],
        "not_after": s["not_after"],
        "serial": s["serial"],
        "fingerprint_sha256": s["fingerprint_sha256"],
        "discovery_hash": pki.discovery_hash(cert),
        "backup_files": [],
    }


CA_OPTIONS = {
    "cert_path": {"type": "path", "required": True},
    "key_path": {"type": "path", "no_log": False},
    "common_name": {"type": "str", "required": True},
    "validity_days": {"type": "int"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cert_path": {"type": "path"},
            "key_path": {"type": "path", "no_log": False},
            "common_name": {"type": "str"},
            "authorities": {"type": "list", "elements": "dict", "options": CA_OPTIONS},
            "key_algorithm": {"type": "str", "default": "RSA-2048", "choices": list(pki.ALGORITHMS)},
            "validity_days": {"type": "int", "default": 3650},
            "backdate_minutes": {"type": "int", "default": 5},
            "mode": {"type": "str", "default": "generate", "choices": ["generate", "external"]},
            "rotate": {"type": "bool", "default": False},
            "backup": {"type": "bool", "default": True},
        },
        mutually_exclusive=[
            ("authorities", "cert_path"),
            ("authorities", "key_path"),
            ("authorities", "common_name"),
        ],
        required_one_of=[("authorities", "cert_path")],
        required_together=[("cert_path", "common_name")],
        supports_check_mode=True,
    )
    pki.run_module(module, run)


if __name__ == "__main__":
    main()
