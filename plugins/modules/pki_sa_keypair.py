#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_sa_keypair
short_description: The service-account signing key pair (sa.key, sa.pub) as kubeadm makes it
description:
  - Creates the private key the API server signs service-account tokens with and its public key
    (PKIX C(PUBLIC KEY) PEM). Both files are mode 0600, as kubeadm writes them.
  - An existing key is always kept (replacing it would invalidate every issued token); the public
    file is rewritten only when it does not match the key. An unreadable key stops the module.
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
options:
  key_path:
    description: Private key path (C(sa.key)).
    type: path
    required: true
  pub_path:
    description: Public key path (C(sa.pub)).
    type: path
    required: true
  key_algorithm:
    description: Algorithm of a new key.
    type: str
    default: RSA-2048
    choices: [RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384]
  backup:
    description: Copy the public key file aside before rewriting it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Key algorithm and SHA-256 of the public key before and after; never key material.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Service-account key pair
  slipway.cluster.pki_sa_keypair:
    key_path: "{{ slipway_pki_dir }}/sa.key"
    pub_path: "{{ slipway_pki_dir }}/sa.pub"
"""

RETURN = r"""
action:
  description: created, public_key_rewritten or unchanged.
  type: str
  returned: always
public_key_sha256:
  description: SHA-256 of the DER public key.
  type: str
  returned: always
backup_files:
  description: Backups made.
  type: list
  elements: str
  returned: always
"""

import hashlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def run(module: AnsibleModule) -> dict:
    p = module.params
    key_data = pki.read_or_none(p["key_path"])
    pub_data = pki.read_or_none(p["pub_path"])
    action = "unchanged"
    if key_data is None:
        key = pki.generate_key(p["key_algorithm"])
        action = "created"
    else:
        key = pki.load_key(key_data, p["key_path"])
    pub_pem = pki.public_to_pem(key)
    if action == "unchanged" and pub_data != pub_pem:
        action = "public_key_rewritten"
    backups: list[str] = []
    if action != "unchanged" and not module.check_mode:
        if action == "created":
            pki.write_atomic(module, p["key_path"], pki.key_to_pem(key), 0o600)
        pki.backup(module, p["pub_path"], p["backup"], backups)
        pki.write_atomic(module, p["pub_path"], pub_pem, 0o600)
    public_sha = hashlib.sha256(pki.public_der(key)).hexdigest()
    return {
        "changed": action != "unchanged",
        "action": action,
        "public_key_sha256": public_sha,
        "backup_files": backups,
        "diff": {
            "before": {
                "key_algorithm": None if key_data is None else pki.algorithm_of(key),
                "pub_public_key_sha256": _pub_sha(pub_data),
            },
            "after": {"key_algorithm": pki.algorithm_of(key), "pub_public_key_sha256": public_sha},
            "before_header": p["pub_path"],
            "after_header": p["pub_path"],
        },
    }


def _pub_sha(pub_data: bytes | None) -> str | None:
    """SHA-256 of the public key now in the pub file; None when absent, a note when unreadable."""
    if pub_data is None:
        return None
    try:
        return hashlib.sha256(pki.public_der(pki.load_public_key(pub_data, "pub_path"))).hexdigest()
    except pki.PKIError:
        return "unreadable"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "key_path": {"type": "path", "required": True, "no_log": False},
            "pub_path": {"type": "path", "required": True},
            "key_algorithm": {"type": "str", "default": "RSA-2048", "choices": list(pki.ALGORITHMS)},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    pki.run_module(module, run)


if __name__ == "__main__":
    main()
