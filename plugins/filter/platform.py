# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: node_platform
short_description: The supported-platform facts of a host, or a clear error for an unsupported one
description:
  - Takes a host's gathered facts and returns what the node roles need (package manager, codename,
    Docker repository name) for Debian 12 and 13, Ubuntu 22.04 and 24.04, Rocky Linux 9 and AlmaLinux 9.
  - Fails naming the facts, the supported list and the override for any other distribution or release;
    an OS family other than Debian or RedHat always fails.
version_added: 0.1.0
options:
  _input:
    description: The host's C(ansible_facts) (the C(min) subset is enough).
    type: dict
    required: true
  allow_unsupported:
    description: Accept a release of a known family that Slipway does not support.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Stop on a distribution Slipway does not support
  ansible.builtin.set_fact:
    __node_platform: "{{ ansible_facts | slipway.cluster.node_platform(false) }}"
"""

RETURN = r"""
_value:
  description: C(distribution), C(major), C(family) (debian or redhat), C(package_manager) (apt or dnf),
    C(codename), C(supported) and C(docker_repo_os).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import platforms


def node_platform(facts, allow_unsupported: bool = False) -> dict:
    if not isinstance(facts, dict):
        raise AnsibleFilterError("node_platform expects ansible_facts (a dict)")
    try:
        return platforms.platform(facts, bool(allow_unsupported))
    except platforms.PlatformError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"node_platform": node_platform}
