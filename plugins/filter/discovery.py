# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: discovery_hash
short_description: kubeadm's discovery-token CA certificate hash of a CA certificate
description:
  - Returns C(sha256:) followed by the lowercase hex SHA-256 of the CA certificate's DER
    SubjectPublicKeyInfo, the value C(kubeadm join --discovery-token-ca-cert-hash) expects.
  - Same result as C(openssl x509 -pubkey -in ca.crt | openssl pkey -pubin -outform der |
    openssl dgst -sha256).
version_added: 0.1.0
options:
  _input:
    description: The CA certificate, PEM text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Join command hash
  ansible.builtin.set_fact:
    join_ca_hash: "{{ lookup('ansible.builtin.file', ca_path) | slipway.cluster.discovery_hash }}"
"""

RETURN = r"""
_value:
  description: C(sha256:<64 hex digits>).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import pki


def discovery_hash(pem) -> str:
    if not pki.HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError("discovery_hash needs the Python library cryptography on the controller")
    if not isinstance(pem, (str, bytes)) or not pem:
        raise AnsibleFilterError(
            "discovery_hash expects a PEM certificate (string), got " + type(pem).__name__
        )
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        cert = pki.load_cert(data, "the input of discovery_hash")
    except pki.PKIError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return pki.discovery_hash(cert)


class FilterModule:
    def filters(self):
        return {"discovery_hash": discovery_hash}
