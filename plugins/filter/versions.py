# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_release
short_description: Everything that goes with one Kubernetes version (images, pins, minimum containerd)
description:
  - Reads Slipway's version map (C(plugins/module_utils/versions.py)), the one place that maps each
    supported Kubernetes minor to its pause, etcd and CoreDNS images, cri-tools version and the
    minimum containerd of each release line.
  - Fails with a message naming the supported minors for an unsupported or malformed version.
version_added: 0.1.0
options:
  _input:
    description: Kubernetes version, C(X.Y.Z) with or without a leading C(v).
    type: str
    required: true
  image_repository:
    description: Registry of the Kubernetes images.
    type: str
    default: registry.k8s.io
"""

EXAMPLES = r"""
- name: Sandbox image for containerd
  ansible.builtin.debug:
    msg: "{{ (slipway_kubernetes_version | slipway.cluster.k8s_release).images.pause }}"
"""

RETURN = r"""
_value:
  description: C(version), C(minor), C(package_version), C(rpm_version), C(etcd_version), C(pause_version),
    C(coredns_version), C(cri_tools_version), C(containerd_min) and C(images) (full image references).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import versions


def k8s_release(version, image_repository: str = versions.DEFAULT_IMAGE_REPOSITORY) -> dict:
    try:
        return versions.release(str(version), image_repository)
    except versions.VersionError as exc:
        raise AnsibleFilterError(f"slipway_kubernetes_version: {exc}") from None


def containerd_config_version(containerd_version) -> int:
    """2 for containerd 1.x, 3 for containerd 2.x."""
    try:
        return versions.containerd_config_version(str(containerd_version))
    except versions.VersionError as exc:
        raise AnsibleFilterError(f"containerd version: {exc}") from None


def containerd_supported(containerd_version, kubernetes_version) -> bool:
    """True when upstream lists this containerd as fit for this Kubernetes version."""
    try:
        return versions.containerd_supported(str(kubernetes_version), str(containerd_version))
    except versions.VersionError as exc:
        raise AnsibleFilterError(f"containerd_supported: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "k8s_release": k8s_release,
            "containerd_config_version": containerd_config_version,
            "containerd_supported": containerd_supported,
        }
