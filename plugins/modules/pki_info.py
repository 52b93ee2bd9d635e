#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_info
short_description: Expiry report of every certificate and kubeconfig client certificate in some directories
description:
  - Reads every C(*.crt) certificate and every kubeconfig (C(*.conf)) with an embedded client certificate
    under the given directories (not recursive beyond O(recurse)), and reports subject, issuer, the
    end of validity and the days left, sorted by expiry. Kubeconfigs whose client certificate is a file
    (the kubelet's rotated C(kubelet.conf)) are reported with the file they point to.
  - Read-only; never returns key material. Files that cannot be parsed are listed in RV(unreadable).
version_added: 0.1.0
author: Slipway developers
requirements:
  - cryptography >= 41.0
options:
  paths:
    description: Directories to read.
    type: list
    elements: path
    required: true
  recurse:
    description: Also read sub-directories (such as C(pki/etcd)).
    type: bool
    default: true
  warn_days:
    description: Certificates with fewer days left are listed in RV(expiring).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Expiry of the controller's PKI
  slipway.cluster.pki_info:
    paths: ["{{ slipway_pki_dir }}"]
  register: certs_controller
"""

RETURN = r"""
certificates:
  description: One entry per certificate, soonest expiry first.
  type: list
  elements: dict
  returned: always
  contains:
    path: {description: File read (a kubeconfig for client certificates), type: str}
    kind: {description: C(certificate) or C(kubeconfig), type: str}
    subject: {description: Subject as RFC 4514, type: str}
    issuer: {description: Issuer as RFC 4514, type: str}
    is_ca: {description: Whether it is a CA certificate, type: bool}
    not_after: {description: End of validity (ISO 8601, UTC), type: str}
    days_left: {description: Whole days until the end of validity (negative when expired), type: int}
expiring:
  description: Paths of the certificates with fewer than O(warn_days) days left.
  type: list
  elements: str
  returned: always
unreadable:
  description: Files that are neither a certificate nor a kubeconfig Slipway can read, with the reason.
  type: list
  elements: dict
  returned: always
"""

import base64
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.slipway.cluster.plugins.module_utils import pki

try:
    import yaml
except ImportError:  # PyYAML ships with ansible-core on the controller, not always on nodes
    yaml = None


def entry(path: str, kind: str, cert) -> dict:
    days = (cert.not_valid_after_utc - pki.now()).total_seconds() / 86400
    return {
        "path": path,
        "kind": kind,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "is_ca": pki.is_ca(cert),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": int(days // 1),
    }


def kubeconfig_cert(path: str, data: bytes):
    """The client certificate of a kubeconfig: embedded data, or the file it names."""
    doc = yaml.safe_load(data)
    users = doc.get("users") or []
    for user in users:
        fields = user.get("user") or {}
        if "client-certificate-data" in fields:
            return pki.load_cert(base64.b64decode(fields["client-certificate-data"]), path)
        if "client-certificate" in fields:
            target = os.path.join(os.path.dirname(path), fields["client-certificate"])
            return pki.load_cert(pki.read_or_none(target) or b"", target)
    raise pki.PKIError(f"{path} has no client certificate")


def scan(paths: list[str], recurse: bool) -> tuple[list, list]:
    found, unreadable = [], []
    for root in paths:
        for directory, subdirs, files in os.walk(root):
            if not recurse:
                subdirs.clear()
            for name in sorted(files):
                path = os.path.join(directory, name)
                if not name.endswith((".crt", ".conf")):
                    continue
                try:
                    data = pki.read_or_none(path) or b""
                    if name.endswith(".crt"):
                        found.append(entry(path, "certificate", pki.load_cert(data, path)))
                    else:
                        found.append(entry(path, "kubeconfig", kubeconfig_cert(path, data)))
                except (pki.PKIError, ValueError, AttributeError, TypeError, yaml.YAMLError) as exc:
                    unreadable.append({"path": path, "reason": str(exc)})
    found.sort(key=lambda e: (e["days_left"], e["path"]))
    return found, unreadable


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "recurse": {"type": "bool", "default": True},
            "warn_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    missing = [
        name for name, ok in (("cryptography", pki.HAS_CRYPTOGRAPHY), ("PyYAML", yaml is not None)) if not ok
    ]
    if missing:
        module.fail_json(
            msg=missing_required_lib(" and ".join(missing))
            + " On a Debian or Ubuntu node: apt install python3-cryptography python3-yaml;"
            " on a RHEL-like node: dnf install python3-cryptography python3-pyyaml."
            " Or run playbooks/certs.yml with -e certs_nodes=false for the controller's report only."
        )
    certificates, unreadable = scan(module.params["paths"], module.params["recurse"])
    expiring = [c["path"] for c in certificates if c["days_left"] < module.params["warn_days"]]
    module.exit_json(changed=False, certificates=certificates, expiring=expiring, unreadable=unreadable)


if __name__ == "__main__":
    main()
