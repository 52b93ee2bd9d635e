# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: join_configuration
short_description: kubeadm's JoinConfiguration (v1beta4) for a worker joining by bootstrap token
description:
  - Builds the JoinConfiguration role C(join) writes on a new worker (0600, removed after the join)
    from the endpoint, the bootstrap token, the CA hashes (C(discovery_hash) filter), the node name, the
    CRI socket and the kubelet flags role C(kubelet) keeps in C(kubeadm-flags.env).
  - The same file also provides C(join_metadata_check) (problems of C(slipway_node_labels) and
    C(slipway_node_taints)), C(join_metadata_plan) (labels and taints each node should carry),
    C(join_metadata_commands) (the kubectl commands that get it there), C(bootstrap_token_secret)
    (the Secret C(kubeadm token create) would make) and C(smoke_nodes), C(smoke_pods), C(smoke_checks)
    (the smoke check's reading of the cluster). Logic in C(plugins/module_utils/join.py);
    see docs/plugins/join.md.
version_added: 0.1.0
options:
  _input:
    description: Settings (endpoint, token, ca_cert_hashes, node_name, cri_socket, kubelet_args, skip_phases,
      ignore_preflight_errors).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Join configuration
  ansible.builtin.copy:
    dest: /etc/kubernetes/kubeadm-join.yaml
    mode: "0600"
    content: "{{ settings | slipway.cluster.join_configuration | to_nice_yaml }}"
  no_log: true

- name: kubectl commands that label and taint the nodes
  ansible.builtin.set_fact:
    commands: "{{ nodes_json | slipway.cluster.join_metadata_commands(wanted, admin_kubeconfig) }}"
"""

RETURN = r"""
_value:
  description: The JoinConfiguration as a dictionary (the other filters are in docs/plugins/join.md).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.module_utils import join


def _wrap(function):
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (join.JoinError, KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError(f"{function.__name__}: {exc}") from None

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def join_metadata_check(hostvars, hosts) -> list:
    """Problems of slipway_node_labels / slipway_node_taints of ``hosts`` (empty when fine)."""
    problems = []
    for host in sorted(hosts or []):
        hv = hostvars[host]
        problems += join.check_metadata(host, hv.get("slipway_node_labels"), hv.get("slipway_node_taints"))
    return problems


def join_metadata_plan(hostvars, hosts, control_plane_hosts) -> dict:
    """Node name -> labels and taints it should carry, for each of ``hosts``."""
    plan = {}
    for host in hosts or []:
        hv = hostvars[host]
        name = str(hv.get("slipway_node_name") or host)
        plan[name] = join.desired_metadata(
            hv.get("slipway_node_labels"), hv.get("slipway_node_taints"), host in (control_plane_hosts or [])
        )
    return plan


class FilterModule:
    def filters(self):
        return {
            "join_configuration": _wrap(join.join_configuration),
            "join_metadata_check": join_metadata_check,
            "join_metadata_plan": _wrap(join_metadata_plan),
            "join_metadata_commands": _wrap(join.metadata_commands),
            "bootstrap_token_secret": _wrap(join.bootstrap_token_secret),
            "smoke_nodes": _wrap(join.smoke_nodes),
            "smoke_pods": _wrap(join.smoke_pods),
            "smoke_checks": _wrap(join.smoke_checks),
        }
