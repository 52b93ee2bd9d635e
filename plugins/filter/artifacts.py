# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: artifacts
short_description: Every artifact of a Kubernetes version, and the downloads of a role
description:
  - C(artifacts) returns the list that C(tools/slipway.py artifacts) prints and bundles, derived from the
    version map (C(plugins/module_utils/artifacts.py)).
  - C(artifact_downloads) turns a name-to-version dictionary into the URLs and checksum URLs a role fetches,
    upstream's (or the role's own URL templates), or the same file names under
    C(<slipway_offline_source>/binaries/) when an offline source is set.
  - C(artifact_images) returns the images a node may run, each with its reference and its archive name in
    an offline bundle.
  - C(artifact_checksums) maps each file of a SHA256SUMS text to its SHA-256.
  - C(artifact_checksum) reads the SHA-256 of one file from the text of a checksum file.
  - Each fails naming the variable on an unknown version, architecture, CNI or component.
version_added: 0.1.0
options:
  _input:
    description: Kubernetes version, or name to version for C(artifact_downloads).
    type: raw
    required: true
  arch:
    description: Architecture as Go names it (amd64, arm64, ppc64le, s390x).
    type: str
    default: amd64
  offline_source:
    description: C(slipway_offline_source); empty fetches from upstream.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: What kube_packages' binary method downloads
  ansible.builtin.debug:
    msg: >-
      {{ {'kubeadm': '1.36.4', 'crictl': '1.36.0'}
         | slipway.cluster.artifact_downloads('amd64', slipway_offline_source) }}

- name: Images to import
  ansible.builtin.debug:
    msg: >-
      {{ slipway_kubernetes_version
         | slipway.cluster.artifact_images(slipway_image_repository, slipway_cni) }}
"""

RETURN = r"""
_value:
  description: A list of dictionaries (name, version, file, url, checksum_url or checksum_source, ...).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import artifacts as lib
from ansible_collections.slipway.cluster.plugins.module_utils import versions


def artifacts(
    kubernetes_version,
    *,
    arch="amd64",
    image_repository=versions.DEFAULT_IMAGE_REPOSITORY,
    cni="cilium",
    endpoint_mode="node",
    package_base_url="https://pkgs.k8s.io/core:/stable:",
    containerd=None,
    cni_plugins_version=None,
) -> list:
    try:
        return lib.artifacts(
            str(kubernetes_version),
            arch=str(arch),
            image_repository=str(image_repository),
            cni=str(cni),
            endpoint_mode=str(endpoint_mode),
            package_base_url=str(package_base_url),
            containerd=dict(containerd or {}),
            cni_plugins_version=cni_plugins_version,
        )
    except versions.VersionError as exc:
        raise AnsibleFilterError(f"slipway_kubernetes_version: {exc}") from None
    except lib.ArtifactError as exc:
        raise AnsibleFilterError(f"artifacts: {exc}") from None


def artifact_downloads(wanted, arch="amd64", offline_source="", urls=None, checksum_urls=None) -> list:
    if not isinstance(wanted, dict):
        raise AnsibleFilterError("artifact_downloads expects a dictionary of name to version")
    try:
        return lib.downloads(dict(wanted), str(arch), str(offline_source or ""), urls, checksum_urls)
    except lib.ArtifactError as exc:
        raise AnsibleFilterError(f"artifact_downloads: {exc}") from None


def artifact_images(
    kubernetes_version, image_repository=versions.DEFAULT_IMAGE_REPOSITORY, cni="cilium", endpoint_mode="node"
) -> list:
    try:
        return lib.images(str(kubernetes_version), str(image_repository), str(cni), str(endpoint_mode))
    except versions.VersionError as exc:
        raise AnsibleFilterError(f"slipway_kubernetes_version: {exc}") from None
    except lib.ArtifactError as exc:
        raise AnsibleFilterError(f"artifact_images: {exc}") from None


def artifact_checksum(text, file) -> str:
    """The SHA-256 a checksum file gives for ``file`` (one bare hash or ``<hash>  <file>`` lines)."""
    try:
        return lib.checksum_of(str(text), str(file))
    except lib.ArtifactError as exc:
        raise AnsibleFilterError(f"slipway_offline_source: {exc}") from None


def artifact_checksums(text) -> dict:
    """File basename to SHA-256 from ``<hash>  <file>`` lines (a SHA256SUMS file)."""
    try:
        return lib.parse_checksums(str(text or ""))
    except lib.ArtifactError as exc:
        raise AnsibleFilterError(f"slipway_offline_source: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "artifacts": artifacts,
            "artifact_downloads": artifact_downloads,
            "artifact_images": artifact_images,
            "artifact_checksum": artifact_checksum,
            "artifact_checksums": artifact_checksums,
        }
