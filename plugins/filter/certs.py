# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: cert_line
short_description: One readable report line of a pki_info certificate entry
description:
  - Formats an entry of C(slipway.cluster.pki_info)'s C(certificates) as
    C(<days left> days  <end of validity>  <path relative to root>  <subject>), marking expired ones.
version_added: 0.1.0
options:
  _input:
    description: One entry of C(certificates).
    type: dict
    required: true
  root:
    description: Directory the paths are shown relative to.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Expiry, soonest first
  ansible.builtin.debug:
    msg: "{{ report.certificates | map('slipway.cluster.cert_line', slipway_pki_dir) | list }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""

import os

from ansible.errors import AnsibleFilterError


def cert_line(entry, root: str = "") -> str:
    try:
        path = os.path.relpath(entry["path"], root) if root else entry["path"]
        days = int(entry["days_left"])
        state = "EXPIRED" if days < 0 else f"{days:5d} days"
        return f"{state:>10}  {entry['not_after'][:10]}  {path}  {entry['subject']}"
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"cert_line expects a pki_info certificate entry ({exc!r})") from None


class FilterModule:
    def filters(self):
        return {"cert_line": cert_line}
