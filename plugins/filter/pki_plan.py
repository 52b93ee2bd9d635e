# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
name: pki_plan
short_description: Every CA, certificate, key and kubeconfig kubeadm would make for a cluster
description:
  - Turns the cluster settings and the list of control-plane nodes into the controller-side
    layout of the cluster's PKI, with kubeadm's subjects, organizations, SANs and extended key
    usages (kubernetes-bootstrap-facts.md sections 1 and 2). The result feeds the modules
    C(slipway.cluster.pki_ca), C(pki_cert), C(pki_sa_keypair) and C(kubeconfig).
  - Shared material (the three CAs, C(sa.key)/C(sa.pub)) lives at the top of O(_input.pki_dir);
    what kubeadm makes per control-plane node lives under C(nodes/<name>/) with the same
    relative paths as on the node (C(pki/apiserver.crt), C(admin.conf), ...).
version_added: 0.1.0
options:
  _input:
    description: Cluster settings.
    type: dict
    required: true
    suboptions:
      pki_dir:
        description: Controller directory of this cluster's PKI.
        type: path
        required: true
      cluster_name:
        description: Cluster name in kubeconfigs.
        type: str
      service_subnet:
        description: Service CIDR(s), comma separated; index 1 of the first is the kubernetes Service IP.
        type: str
      dns_domain:
        description: Cluster DNS domain.
        type: str
      api_port:
        description: API server port.
        type: int
      control_plane_endpoint:
        description: host[:port] of the API for clients; empty uses the first control plane.
        type: str
      endpoint_mode:
        description:
          - C(local_lb) points the kubeconfigs copied to nodes at C(https://localhost:<api_port>) and adds
            C(localhost) and C(127.0.0.1) to the API server certificate; the controller's admin.conf keeps
            the first control plane.
        type: str
        default: node
      apiserver_cert_sans:
        description: Extra SANs (IPs or DNS names) for the API server certificate.
        type: list
        elements: str
      etcd_server_cert_sans:
        description: Extra SANs for etcd server certificates.
        type: list
        elements: str
      etcd_peer_cert_sans:
        description: Extra SANs for etcd peer certificates.
        type: list
        elements: str
  nodes:
    description: Control-plane nodes in order, each C({name, address}); the first initialises the cluster.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Plan the PKI
  ansible.builtin.set_fact:
    pki_plan: >-
      {{ {'pki_dir': '/srv/pki', 'service_subnet': '10.96.0.0/12'}
         | slipway.cluster.pki_plan([{'name': 'cp1', 'address': '192.0.2.11'}]) }}
"""

RETURN = r"""
_value:
  description:
    - C(cas), C(sa), C(certificates) (per CA name), C(kubeconfigs), C(admin_kubeconfig), C(endpoint_url).
  type: dict
"""

import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

_DNS_RE = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

CA_CNS = {"ca": "kubernetes", "front-proxy-ca": "front-proxy-ca", "etcd/ca": "etcd-ca"}


def _split_sans(values, variable: str) -> tuple[list[str], list[str]]:
    dns, ips = [], []
    for value in values or []:
        text = str(value).strip()
        try:
            ips.append(str(ipaddress.ip_address(text)))
        except ValueError:
            if not _DNS_RE.match(text) or len(text) > 253:
                raise AnsibleFilterError(
                    f"{variable}: '{text}' is neither an IP address nor a valid DNS name "
                    "(lowercase RFC 1123, optional leading '*.'); fix or remove it"
                ) from None
            dns.append(text)
    return dns, ips


def _url_host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _split_endpoint(endpoint: str, default_port: int) -> tuple[str, int]:
    """host[:port], [v6]:port or a bare IPv6 address."""
    endpoint = endpoint.strip()
    match = re.match(r"^\[([^\]]+)\](?::(\d+))?$", endpoint)
    if match:
        return match.group(1), int(match.group(2) or default_port)
    if endpoint.count(":") == 1:
        host, port = endpoint.split(":")
        if not port.isdigit():
            raise AnsibleFilterError(f"slipway_control_plane_endpoint: port '{port}' is not a number")
        return host, int(port)
    return endpoint, default_port


def pki_plan(settings: dict, nodes: list) -> dict:
    if not isinstance(settings, dict) or not settings.get("pki_dir"):
        raise AnsibleFilterError("pki_plan: the settings need pki_dir (slipway_pki_dir)")
    if not nodes:
        raise AnsibleFilterError(
            "pki_plan: the control_plane group is empty; add at least one control-plane node"
        )
    pki_dir = str(settings["pki_dir"]).rstrip("/")
    cluster = settings.get("cluster_name") or "kubernetes"
    domain = settings.get("dns_domain") or "cluster.local"
    port = int(settings.get("api_port") or 6443)
    first_cidr = str(settings.get("service_subnet") or "10.96.0.0/12").split(",")[0].strip()
    try:
        service_ip = str(ipaddress.ip_network(first_cidr, strict=False)[1])
    except ValueError:
        raise AnsibleFilterError(f"slipway_service_subnet: '{first_cidr}' is not a CIDR") from None
    for node in nodes:
        try:
            ipaddress.ip_address(str(node["address"]))
        except (KeyError, ValueError):
            raise AnsibleFilterError(
                f"control-plane node {node.get('name')}: address '{node.get('address')}' is not an IP; "
                "set slipway_node_ip (or ansible_host) to the node's IP address"
            ) from None
    if settings.get("control_plane_endpoint"):
        ep_host, ep_port = _split_endpoint(str(settings["control_plane_endpoint"]), port)
    else:
        ep_host, ep_port = str(nodes[0]["address"]), port
    endpoint_url = f"https://{_url_host(ep_host)}:{ep_port}"
    # local_lb: every node reaches the API at localhost (its own API server on a control
    # plane, the nginx static pod on a worker); the controller keeps the first control plane.
    local_lb = settings.get("endpoint_mode") == "local_lb"
    node_endpoint_url = f"https://localhost:{port}" if local_lb else endpoint_url
    extra_dns, extra_ips = _split_sans(settings.get("apiserver_cert_sans"), "slipway_apiserver_cert_sans")
    if local_lb:
        extra_dns, extra_ips = [*extra_dns, "localhost"], [*extra_ips, "127.0.0.1"]
    etcd_server_dns, etcd_server_ips = _split_sans(
        settings.get("etcd_server_cert_sans"), "slipway_etcd_server_cert_sans"
    )
    etcd_peer_dns, etcd_peer_ips = _split_sans(
        settings.get("etcd_peer_cert_sans"), "slipway_etcd_peer_cert_sans"
    )
    ep_dns, ep_ips = _split_sans([ep_host], "slipway_control_plane_endpoint")

    cas = {
        name: {"cert_path": f"{pki_dir}/{name}.crt", "key_path": f"{pki_dir}/{name}.key", "common_name": cn}
        for name, cn in CA_CNS.items()
    }
    certs: dict[str, list] = {"ca": [], "front-proxy-ca": [], "etcd/ca": []}
    kubeconfigs = []

    def leaf(node: str, rel: str, cn: str, ekus, *, orgs=(), dns=(), ips=()) -> dict:
        base = f"{pki_dir}/nodes/{node}/pki/{rel}"
        return {
            "cert_path": f"{base}.crt",
            "key_path": f"{base}.key",
            "common_name": cn,
            "organizations": list(orgs),
            "dns_names": list(dns),
            "ip_addresses": list(ips),
            "extended_key_usages": list(ekus),
        }

    for index, node in enumerate(nodes):
        name, address = str(node["name"]), str(ipaddress.ip_address(str(node["address"])))
        apiserver_dns = [
            name,
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            f"kubernetes.default.svc.{domain}",
        ]
        certs["ca"] += [
            leaf(
                name,
                "apiserver",
                "kube-apiserver",
                ["server_auth"],
                dns=apiserver_dns + ep_dns + extra_dns,
                ips=[service_ip, address, *ep_ips, *extra_ips],
            ),
            leaf(
                name,
                "apiserver-kubelet-client",
                "kube-apiserver-kubelet-client",
                ["client_auth"],
                orgs=["kubeadm:cluster-admins"],
            ),
        ]
        certs["front-proxy-ca"].append(
            leaf(name, "front-proxy-client", "front-proxy-client", ["client_auth"])
        )
        etcd_base_dns, etcd_base_ips = [name, "localhost"], [address, "127.0.0.1", "::1"]
        certs["etcd/ca"] += [
            leaf(
                name,
                "etcd/server",
                name,
                ["server_auth", "client_auth"],
                dns=etcd_base_dns + etcd_server_dns,
                ips=etcd_base_ips + etcd_server_ips,
            ),
            leaf(
                name,
                "etcd/peer",
                name,
                ["server_auth", "client_auth"],
                dns=etcd_base_dns + etcd_peer_dns,
                ips=etcd_base_ips + etcd_peer_ips,
            ),
            leaf(name, "etcd/healthcheck-client", "kube-etcd-healthcheck-client", ["client_auth"]),
            leaf(name, "apiserver-etcd-client", "kube-apiserver-etcd-client", ["client_auth"]),
        ]
        local_url = f"https://{_url_host(address)}:{port}"
        node_dir = f"{pki_dir}/nodes/{name}"
        kubeconfigs += [
            _kc(
                f"{node_dir}/admin.conf",
                cluster,
                node_endpoint_url,
                "kubernetes-admin",
                ["kubeadm:cluster-admins"],
            ),
            _kc(f"{node_dir}/controller-manager.conf", cluster, local_url, "system:kube-controller-manager"),
            _kc(f"{node_dir}/scheduler.conf", cluster, local_url, "system:kube-scheduler"),
            _kc(
                f"{node_dir}/kubelet.conf",
                cluster,
                node_endpoint_url,
                f"system:node:{name}",
                ["system:nodes"],
            ),
        ]
        if index == 0:
            kubeconfigs.append(
                _kc(
                    f"{node_dir}/super-admin.conf",
                    cluster,
                    node_endpoint_url,
                    "kubernetes-super-admin",
                    ["system:masters"],
                )
            )
    admin = _kc(
        f"{pki_dir}/admin.conf", cluster, endpoint_url, "kubernetes-admin", ["kubeadm:cluster-admins"]
    )
    kubeconfigs.append(admin)
    return {
        "cas": cas,
        "sa": {"key_path": f"{pki_dir}/sa.key", "pub_path": f"{pki_dir}/sa.pub"},
        "certificates": certs,
        "kubeconfigs": kubeconfigs,
        "admin_kubeconfig": admin["path"],
        "endpoint_url": endpoint_url,
    }


def _kc(path: str, cluster: str, server: str, user: str, orgs=()) -> dict:
    return {
        "path": path,
        "cluster_name": cluster,
        "server": server,
        "user": user,
        "organizations": list(orgs),
    }


def pki_node(hostvars: dict) -> dict:
    """{name, address} of one inventory host: slipway_node_name / slipway_node_ip with their defaults."""
    if not isinstance(hostvars, Mapping) or "inventory_hostname" not in hostvars:
        raise AnsibleFilterError("pki_node expects the hostvars of one inventory host")
    name = hostvars.get("slipway_node_name") or hostvars["inventory_hostname"]
    address = (
        hostvars.get("slipway_node_ip") or hostvars.get("ansible_host") or hostvars["inventory_hostname"]
    )
    return {"name": str(name), "address": str(address)}


class FilterModule:
    def filters(self):
        return {"pki_plan": pki_plan, "pki_node": pki_node}
