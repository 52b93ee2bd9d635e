#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: encryption_config
short_description: The API server's EncryptionConfiguration with a generated key, kept like a CA key
description:
  - Writes an C(apiserver.config.k8s.io/v1) C(EncryptionConfiguration) that encrypts O(resources) at rest
    with a freshly generated 32-byte key under O(provider), then C(identity) so data written before
    encryption was switched on stays readable. The file is mode 0600.
  - An existing file is never overwritten; its key is what the cluster's data is encrypted with.
    When it does not parse as an EncryptionConfiguration the module fails naming the file and changes
    nothing. Key rotation is a staged procedure (docs/components/kube-apiserver.md), not an option.
  - The key never appears in results, diffs or logs.
version_added: 0.1.0
author: Slipway developers
options:
  path:
    description: Where the configuration is kept (on the controller, beside the PKI).
    type: path
    required: true
  provider:
    description: Encryption provider of the new key.
    type: str
    default: secretbox
    choices: [secretbox, aescbc, aesgcm]
  resources:
    description: Resources to encrypt.
    type: list
    elements: str
    default: [secrets]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Provider, resources and key name only; never key material.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Encryption at rest configuration
  slipway.cluster.encryption_config:
    path: "{{ slipway_pki_dir }}/encryption-config.yaml"
"""

RETURN = r"""
action:
  description: created or unchanged.
  type: str
  returned: always
provider:
  description: Provider of the first (write) key in the file.
  type: str
  returned: always
"""

import base64
import os
import secrets
import tempfile

import yaml
from ansible.module_utils.basic import AnsibleModule


def summary(doc: dict) -> dict:
    """Provider, resources and key names of an EncryptionConfiguration; raises on other content."""
    if not isinstance(doc, dict) or doc.get("kind") != "EncryptionConfiguration":
        raise ValueError("kind is not EncryptionConfiguration")
    entry = doc["resources"][0]
    first = entry["providers"][0]
    provider = next(iter(first))
    keys = first[provider].get("keys", []) if isinstance(first[provider], dict) else []
    if provider != "identity" and not keys:
        raise ValueError(f"provider {provider} has no keys")
    return {"provider": provider, "resources": entry["resources"], "keys": [k["name"] for k in keys]}


def document(provider: str, resources: list[str], key: bytes) -> dict:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": list(resources),
                "providers": [
                    {provider: {"keys": [{"name": "key1", "secret": base64.b64encode(key).decode()}]}},
                    {"identity": {}},
                ],
            }
        ],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "provider": {"type": "str", "default": "secretbox", "choices": ["secretbox", "aescbc", "aesgcm"]},
            "resources": {"type": "list", "elements": "str", "default": ["secrets"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    if os.path.exists(p["path"]):
        try:
            with open(p["path"], encoding="utf-8") as handle:
                current = summary(yaml.safe_load(handle))
        except (OSError, ValueError, KeyError, IndexError, TypeError, StopIteration, yaml.YAMLError) as exc:
            module.fail_json(
                msg=f"{p['path']} is not an EncryptionConfiguration Slipway can read ({exc}); it was left "
                "untouched. Fix or move it away: the cluster's encrypted data needs its key."
            )
        if current["provider"] != p["provider"]:
            module.warn(
                f"{p['path']} encrypts with {current['provider']}, not {p['provider']}: the existing key is "
                "kept; rotate it with the staged procedure in docs/components/kube-apiserver.md"
            )
        module.exit_json(changed=False, action="unchanged", provider=current["provider"])
    new = document(p["provider"], p["resources"], secrets.token_bytes(32))
    shown = summary(new)
    diff = {"before": "", "after": yaml.safe_dump(shown), "after_header": f"{p['path']} (key not shown)"}
    if not module.check_mode:
        directory = os.path.dirname(p["path"]) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".slipway-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(new, handle, sort_keys=False)
        os.chmod(tmp, 0o600)
        module.atomic_move(tmp, p["path"])
    module.exit_json(changed=True, action="created", provider=p["provider"], diff=diff)


if __name__ == "__main__":
    main()
