# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: cni_plan
short_description: What role cni applies for the chosen pod network add-on, in order
description:
  - Turns the CNI settings into the plan of role C(cni) (see C(plugins/module_utils/cni.py)), that is the
    pinned version from the version map, the directory or URL of the upstream files, the apply steps in order,
    what to wait on, and Cilium's Helm values or Calico's C(Installation) and C(APIServer) resources.
  - The CNI pool defaults to the pod subnet; a pool outside it, an impossible block or mask size or an
    unknown choice fails naming the variable (the preflight validation reports the same earlier).
version_added: 0.1.0
options:
  _input:
    description:
      - Settings, C(cni), C(pod_subnet), C(service_subnet), C(endpoint_mode), C(endpoint), C(first_node_ip),
        C(api_port), C(node_count), C(offline_source) and the
        C(cni_*) role variables without their prefix.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The CNI plan
  ansible.builtin.set_fact:
    cni_plan: "{{ {'cni': slipway_cni, 'pod_subnet': slipway_pod_subnet} | slipway.cluster.cni_plan }}"
"""

RETURN = r"""
_value:
  description:
    - C(cni), C(version), C(source), C(steps), C(ready), and C(values) (Cilium) or C(resources) (Calico).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import cni


def _settings(settings) -> dict:
    if not isinstance(settings, dict):
        raise AnsibleFilterError("cni_plan expects the settings dictionary")
    return settings


def cni_plan(settings) -> dict:
    try:
        return cni.plan(_settings(settings))
    except (cni.CniError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"CNI: {exc}") from None


def cni_cilium_values(settings) -> dict:
    """Cilium's Helm values alone (see cni.cilium_values)."""
    try:
        return cni.cilium_values(_settings(settings))
    except (cni.CniError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"CNI: {exc}") from None


def cni_calico_resources(settings) -> list:
    """Calico's Installation and APIServer resources alone (see cni.calico_resources)."""
    try:
        return cni.calico_resources(_settings(settings))
    except (cni.CniError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"CNI: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "cni_plan": cni_plan,
            "cni_cilium_values": cni_cilium_values,
            "cni_calico_resources": cni_calico_resources,
        }
