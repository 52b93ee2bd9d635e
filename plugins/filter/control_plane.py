# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: control_plane_manifests
short_description: The four control-plane static pods of one node, as kubeadm writes them, hardened
description:
  - Renders etcd, kube-apiserver, kube-controller-manager and kube-scheduler Pod objects from the
    control-plane settings (see C(plugins/module_utils/control_plane.py) for every key), following
    kubeadm's flags, volumes, probes, resources, priority, security context, labels and annotations
    for the chosen Kubernetes minor.
  - User extra arguments win over defaults (a value of null removes a flag); the order of arguments
    follows kubeadm's rules for that minor. Fails naming the variable on bad settings.
version_added: 0.1.0
options:
  _input:
    description: The settings dictionary.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Manifests of this control plane
  ansible.builtin.set_fact:
    manifests: "{{ settings | slipway.cluster.control_plane_manifests }}"
"""

RETURN = r"""
_value:
  description: Component name to Pod dictionary.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import control_plane


def control_plane_manifests(settings) -> dict:
    if not isinstance(settings, dict):
        raise AnsibleFilterError("control_plane_manifests expects the settings dictionary")
    try:
        return control_plane.manifests(settings)
    except (control_plane.ControlPlaneError, KeyError) as exc:
        raise AnsibleFilterError(f"control plane: {exc}") from None


def kubeadm_config(settings, kubelet_configuration) -> list:
    """kubeadm's v1beta4 documents describing the files Slipway writes (see control_plane.kubeadm_config)."""
    try:
        return control_plane.kubeadm_config(settings, kubelet_configuration)
    except (control_plane.ControlPlaneError, KeyError) as exc:
        raise AnsibleFilterError(f"kubeadm configuration: {exc}") from None


def kube_vip_manifest(settings) -> dict:
    """kube-vip's static pod (see control_plane.kube_vip_pod)."""
    try:
        return control_plane.kube_vip_pod(settings)
    except (control_plane.ControlPlaneError, KeyError) as exc:
        raise AnsibleFilterError(f"kube-vip: {exc}") from None


def local_lb_config(servers, port) -> str:
    """nginx.conf of the local API load balancer (see control_plane.local_lb_config)."""
    try:
        return control_plane.local_lb_config(list(servers), int(port))
    except control_plane.ControlPlaneError as exc:
        raise AnsibleFilterError(str(exc)) from None


def local_lb_manifest(config_path, config_hash) -> dict:
    """The nginx static pod of a worker (see control_plane.local_lb_pod)."""
    return control_plane.local_lb_pod(str(config_path), str(config_hash))


class FilterModule:
    def filters(self):
        return {
            "control_plane_manifests": control_plane_manifests,
            "kubeadm_config": kubeadm_config,
            "kube_vip_manifest": kube_vip_manifest,
            "local_lb_config": local_lb_config,
            "local_lb_manifest": local_lb_manifest,
        }
