# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: service_ip
short_description: The n-th address of the first service CIDR (1 is the kubernetes Service, 10 is cluster DNS)
description:
  - kubeadm gives the C(kubernetes) Service the first address of the first service CIDR and the cluster
    DNS Service the tenth; this returns the address at that index.
version_added: 0.1.0
options:
  _input:
    description: Service CIDR(s), comma separated (C(slipway_service_subnet)).
    type: str
    required: true
  index:
    description: Index inside the first CIDR.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: Cluster DNS address
  ansible.builtin.debug:
    msg: "{{ slipway_service_subnet | slipway.cluster.service_ip(10) }}"
"""

RETURN = r"""
_value:
  description: The address.
  type: str
"""

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import kubelet


def service_ip(subnets, index: int = 1) -> str:
    first = str(subnets).split(",")[0].strip()
    try:
        return str(ipaddress.ip_network(first, strict=False)[int(index)])
    except (ValueError, IndexError) as exc:
        raise AnsibleFilterError(
            f"slipway_service_subnet: '{first}' has no address {index} ({exc})"
        ) from None


def kubelet_config(service_subnet, dns_domain, cri_endpoint, swap_behavior="", extra=None) -> dict:
    """The KubeletConfiguration of plugins/module_utils/kubelet.py (documented there)."""
    try:
        return kubelet.kubelet_config(service_subnet, dns_domain, cri_endpoint, swap_behavior or "", extra)
    except ValueError as exc:
        raise AnsibleFilterError(f"slipway_service_subnet: {exc}") from None


class FilterModule:
    def filters(self):
        return {"service_ip": service_ip, "kubelet_config": kubelet_config}
