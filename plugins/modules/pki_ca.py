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
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
options:
  cert_path:
    description: Path of the CA certificate (PEM, 0644).
    type: path
    required: true
  key_path:
    description: Path of the CA key (PEM, 0600). Required unless O(mode=external).
    type: path
  common_name:
    description: CN of a new CA (kubeadm uses C(kubernetes), C(front-proxy-ca), C(etcd-ca)).
    type: str
    required: true
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
    description: Replace an existing CA with a new one (after a backup). Every leaf must then be reissued.
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
"""

RETURN = r"""
action:
  description: What happened.
  type: str
  returned: always
  sample: created
has_key:
  description: Whether the CA key is present (false only in external mode without a key).
  type: bool
  returned: always
subject:
  description: CN and O of the CA.
  type: dict
  returned: always
not_before:
  description: Start of validity (ISO 8601).
  type: str
  returned: always
not_after:
  description: End of validity (ISO 8601).
  type: str
  returned: always
serial:
  description: Serial number, decimal.
  type: str
  returned: always
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate.
  type: str
  returned: always
discovery_hash:
  description: Value for kubeadm's --discovery-token-ca-cert-hash.
  type: str
  returned: always
  sample: sha256:0123...
cert_path:
  description: The certificate path.
  type: str
  returned: always
key_path:
  description: The key path.
  type: str
  returned: always
backup_files:
  description: Backups made before replacing files.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def inspect(p: dict, cert_data: bytes | None, key_data: bytes | None):
    """The existing CA certificate (or None) and what is wrong with the pair on disk (or None)."""
    cert_path, key_path = p["cert_path"], p["key_path"]
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


def run(module: AnsibleModule) -> dict:
    p = module.params
    cert_path, key_path = p["cert_path"], p["key_path"]
    if p["mode"] == "generate" and not key_path:
        raise pki.PKIError("key_path is required when mode=generate")
    cert_data = pki.read_or_none(cert_path)
    key_data = pki.read_or_none(key_path) if key_path else None
    backups: list[str] = []

    existing, problem = inspect(p, cert_data, key_data)

    if p["mode"] == "external":
        if cert_data is None:
            raise pki.PKIError(
                f"mode=external: the CA certificate {cert_path} does not exist; bring it first"
            )
        if problem is not None:
            raise pki.PKIError(f"mode=external: {problem}; nothing is ever written in this mode")
        return {"changed": False, "action": "unchanged", "has_key": key_data is not None, **info(existing)}

    if problem is not None and not p["rotate"]:
        raise pki.PKIError(
            f"{problem}; the CA files were left untouched. Restore the matching pair, or set rotate=true "
            "to replace the CA after a backup (every certificate it signed is then reissued)"
        )
    if cert_data is not None and not p["rotate"]:
        return {"changed": False, "action": "unchanged", "has_key": True, **info(existing)}

    action = "rotated" if cert_data is not None else "created"
    key = pki.generate_key(p["key_algorithm"])
    cert = pki.make_ca(key, p["common_name"], p["validity_days"], p["backdate_minutes"])
    result = {"changed": True, "action": action, "has_key": True, **info(cert)}
    result["diff"] = {
        "before": pki.summary(existing) if existing is not None else {},
        "after": pki.summary(cert),
        "before_header": cert_path,
        "after_header": cert_path,
    }
    if not module.check_mode:
        pki.backup(module, key_path, p["backup"], backups)
        pki.backup(module, cert_path, p["backup"], backups)
        pki.write_atomic(module, key_path, pki.key_to_pem(key), 0o600)
        pki.write_atomic(module, cert_path, pki.cert_to_pem(cert), 0o644)
    result["backup_files"] = backups
    return result


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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cert_path": {"type": "path", "required": True},
            "key_path": {"type": "path", "no_log": False},
            "common_name": {"type": "str", "required": True},
            "key_algorithm": {"type": "str", "default": "RSA-2048", "choices": list(pki.ALGORITHMS)},
            "validity_days": {"type": "int", "default": 3650},
            "backdate_minutes": {"type": "int", "default": 5},
            "mode": {"type": "str", "default": "generate", "choices": ["generate", "external"]},
            "rotate": {"type": "bool", "default": False},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=f"{pki.MISSING_LIBRARY}: {pki.CRYPTOGRAPHY_IMPORT_ERROR}")
    try:
        result = run(module)
    except pki.PKIError as exc:
        module.fail_json(msg=str(exc))
    result.update(cert_path=module.params["cert_path"], key_path=module.params["key_path"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
