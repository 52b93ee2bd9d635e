# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Validation of a cluster description before any host is touched.

Pure Python: takes the groups, each host's variables and the cluster-wide
settings, returns problems (each naming the variable, what is wrong and the fix)
and warnings.  Used by the action plugin ``slipway.cluster.validate_cluster``.
Every check has an id; ``CHECKS`` lists them with the variable and what each
catches, and docs/validation.md shows the same table.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import ipaddress
import os
import re
from dataclasses import dataclass

from ansible_collections.slipway.cluster.plugins.module_utils import cni, join, versions

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# What kubeadm accepts as a certificate SAN besides an IP: a DNS name, optionally a wildcard.
_SAN_DNS = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

CNI_CHOICES = cni.CHOICES
KEY_ALGORITHMS = ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384")
ENDPOINT_MODES = ("node", "external", "kube_vip", "local_lb")
SWAP_BEHAVIORS = ("off", "NoSwap", "LimitedSwap")
CONTAINERD_METHODS = ("archive", "docker", "distro")

#: Ports other components bind on a node (facts 6.3): the API server cannot share them.
RESERVED_PORTS = {
    2379: "etcd client",
    2380: "etcd peer",
    2381: "etcd metrics and health",
    10248: "kubelet healthz",
    10249: "kube-proxy metrics",
    10250: "kubelet API",
    10256: "kube-proxy healthz",
    10257: "kube-controller-manager",
    10259: "kube-scheduler",
}

#: kube-controller-manager's per-node pod range when --node-cidr-mask-size is not given.
DEFAULT_NODE_MASK = {4: 24, 6: 64}
#: kubeadm refuses a node mask more than this many bits longer than the pod subnet's (facts 5.8).
MAX_NODE_MASK_DIFF = 16
#: etcd's advice: more members only slow writes down.
MAX_ETCD_MEMBERS = 7

#: Host variables Slipway reads besides the cluster-wide defaults.
HOST_VARIABLES = (
    "slipway_node_ip",
    "slipway_node_name",
    "slipway_node_labels",
    "slipway_node_taints",
    "slipway_lab_image",
    "slipway_lab_ssh_dir",
    "slipway_admin_kubeconfig",
)

#: Settings that must be the same on every host: each node renders its part of the cluster from them.
CLUSTER_WIDE = (
    "slipway_cluster_name",
    "slipway_image_repository",
    "slipway_pod_subnet",
    "slipway_service_subnet",
    "slipway_dns_domain",
    "slipway_api_port",
    "slipway_control_plane_endpoint",
    "slipway_control_plane_endpoint_mode",
    "slipway_cni",
    "slipway_key_algorithm",
    "slipway_swap_behavior",
    "slipway_encryption_at_rest",
)

#: Variables of other installers (kubespray, geerlingguy.kubernetes) and what replaces them.
FOREIGN_VARIABLES = {
    "kube_version": "slipway_kubernetes_version",
    "kube_pods_subnet": "slipway_pod_subnet",
    "kube_pods_subnet_ipv6": "slipway_pod_subnet as 'IPv4,IPv6' (dual-stack)",
    "kube_service_addresses": "slipway_service_subnet",
    "kube_service_addresses_ipv6": "slipway_service_subnet as 'IPv4,IPv6' (dual-stack)",
    "kube_network_node_prefix": "node-cidr-mask-size in control_plane_extra_args.kube-controller-manager",
    "kube_network_plugin": "slipway_cni",
    "cluster_name": "slipway_cluster_name",
    "dns_domain": "slipway_dns_domain",
    "kube_apiserver_port": "slipway_api_port",
    "kube_image_repo": "slipway_image_repository",
    "kube_cert_dir": "slipway_pki_dir (controller side; nodes always use /etc/kubernetes/pki)",
    "kube_vip_enabled": "slipway_control_plane_endpoint_mode: kube_vip",
    "kube_vip_address": "slipway_control_plane_endpoint (the VIP, host:port)",
    "loadbalancer_apiserver": "slipway_control_plane_endpoint (with endpoint mode external)",
    "container_manager": "containerd_install_method (Slipway runs containerd only)",
    "etcd_deployment_type": "nothing: etcd always runs as static pods on the control_plane hosts",
    "kubernetes_version": "slipway_kubernetes_version",
    "kubernetes_pod_network": "slipway_pod_subnet (and slipway_cni)",
    "kubernetes_apiserver_advertise_address": "slipway_node_ip on each control-plane host",
    "kubernetes_kubeadm_init_extra_opts": "the control_plane role's extra arguments",
    "kubernetes_role": "the groups control_plane and workers",
}

#: Groups of other installers and what replaces them.
FOREIGN_GROUPS = {
    "kube_control_plane": "control_plane",
    "kube-master": "control_plane",
    "kube_node": "workers",
    "kube-node": "workers",
    "etcd": "control_plane (etcd runs stacked, as a static pod on every control plane)",
}

#: Names Slipway used or proposed before, and what replaced them.
REMOVED_VARIABLES = {
    "control_plane_endpoint_mode": "slipway_control_plane_endpoint_mode (it is cluster-wide now)",
    "kubelet_swap_behavior": "slipway_swap_behavior (off, NoSwap or LimitedSwap)",
    "swap_keep_devices": "swap_keep",
}

#: The controller's Python distributions and the lowest version Slipway's plugins are tested with.
CONTROLLER_REQUIREMENTS = {
    "ansible-core": (2, 19),
    "cryptography": (41, 0),
    "jinja2": (3, 1),
    "PyYAML": (6, 0),
}

#: Every check: id -> (variable, what it catches).  docs/validation.md shows the same table.
CHECKS = {
    "group-control-plane": ("control_plane", "no host in group control_plane"),
    "group-k8s-cluster": ("k8s_cluster", "control_plane or workers hosts outside k8s_cluster"),
    "group-overlap": ("workers", "a host in both control_plane and workers"),
    "foreign-group": ("e.g. kube_control_plane", "a kubespray group that Slipway would ignore"),
    "node-name-invalid": ("slipway_node_name", "not a lowercase RFC 1123 name of at most 63 characters"),
    "node-name-duplicate": ("slipway_node_name", "two hosts with one node name (case-insensitive)"),
    "node-ip-invalid": ("slipway_node_ip", "the node address (default ansible_host) is not an IP"),
    "node-ip-duplicate": ("slipway_node_ip", "two hosts with one address"),
    "node-metadata": (
        "slipway_node_labels, slipway_node_taints",
        "a label that is not a qualified name or valid value, a malformed taint",
    ),
    "node-ip-family": ("slipway_node_ip", "an address of an IP family the cluster networks do not have"),
    "cidr-invalid": ("slipway_pod_subnet, slipway_service_subnet", "not a CIDR"),
    "cidr-host-bits": ("slipway_pod_subnet, slipway_service_subnet", "host bits set"),
    "cidr-dual-stack": ("slipway_pod_subnet, slipway_service_subnet", "two networks of one IP family"),
    "stack-mismatch": ("slipway_service_subnet", "pod and service networks of different IP families"),
    "service-subnet-size": ("slipway_service_subnet", "fewer than 10 addresses, or larger than /12 (/108)"),
    "pod-subnet-size": ("slipway_pod_subnet", "smaller than one node's pod range (/24, /64)"),
    "pod-subnet-node-mask": (
        "slipway_pod_subnet",
        "node mask more than 16 bits longer than the pod subnet's",
    ),
    "pod-subnet-nodes": ("slipway_pod_subnet", "fewer node pod ranges than nodes"),
    "subnet-overlap": ("slipway_pod_subnet", "pod and service networks overlap"),
    "node-in-cluster-network": ("either subnet", "a node address inside the pod or service network"),
    "kubernetes-version-format": ("slipway_kubernetes_version", "not X.Y.Z"),
    "kubernetes-version-prerelease": ("slipway_kubernetes_version", "a pre-release or build suffix"),
    "kubernetes-version": ("slipway_kubernetes_version", "a minor Slipway does not support"),
    "version-skew-control-plane": ("slipway_kubernetes_version", "control planes on different versions"),
    "version-skew-kubelet": ("slipway_kubernetes_version", "a worker newer than the control plane"),
    "setting-differs": ("e.g. slipway_pod_subnet", "a cluster-wide setting that differs between hosts"),
    "cni": ("slipway_cni", "not cilium, calico or none"),
    "key-algorithm": ("slipway_key_algorithm", "not one of the five kubeadm algorithms"),
    "api-port": ("slipway_api_port", "not 1-65535"),
    "api-port-conflict": ("slipway_api_port", "a port etcd, the kubelet or another component binds"),
    "dns-domain": ("slipway_dns_domain", "not a DNS domain"),
    "cluster-name": ("slipway_cluster_name", "not a valid name"),
    "endpoint": ("slipway_control_plane_endpoint", "not host[:port]"),
    "endpoint-loopback": ("slipway_control_plane_endpoint", "a loopback address other nodes cannot reach"),
    "endpoint-mode": ("slipway_control_plane_endpoint_mode", "not node, external, kube_vip or local_lb"),
    "endpoint-required": ("slipway_control_plane_endpoint", "empty while the mode is external or kube_vip"),
    "kube-vip-address": ("slipway_control_plane_endpoint", "kube_vip with a host that is not an IP"),
    "kube-vip-conflict": (
        "slipway_control_plane_endpoint",
        "the VIP is a node's address or in a cluster network",
    ),
    "kube-vip-port": ("slipway_control_plane_endpoint", "kube_vip with a port other than slipway_api_port"),
    "cert-san-invalid": (
        "slipway_apiserver_cert_sans, slipway_etcd_*_cert_sans",
        "neither an IP nor a DNS name",
    ),
    "renewal-window": ("slipway_cert_renewal_days", "not shorter than the leaf validity"),
    "ca-validity": ("slipway_ca_validity_days", "the CA would expire before its leaves"),
    "validity-days": ("slipway_cert_validity_days", "the *_days settings are not positive whole numbers"),
    "swap-behavior": ("slipway_swap_behavior", "not off, NoSwap or LimitedSwap"),
    "runtime-endpoint": ("slipway_container_runtime_endpoint", "not a unix:// socket path"),
    "image-repository": ("slipway_image_repository", "not host[:port][/path]"),
    "package-url": ("slipway_package_base_url", "not an http(s):// or file:// URL"),
    "offline-source": ("slipway_offline_source", "a local directory that does not exist on the controller"),
    "offline-source-packages": (
        "kube_packages_install_method",
        "the package method with a controller directory as the offline source (apt/dnf read it on the nodes)",
    ),
    "offline-source-binaries": (
        "slipway_offline_source",
        "the binary method without binaries/ in the directory",
    ),
    "cni-pool-invalid": ("cni_pool_cidr", "not one network per IP family"),
    "cni-pool-outside-pod-subnet": (
        "cni_pool_cidr",
        "the Calico or Cilium pool not inside slipway_pod_subnet",
    ),
    "cni-pool-families": ("cni_pool_cidr", "not exactly one pool network per family of the pod subnet"),
    "cni-kube-proxy-replacement": ("cni_kube_proxy_replacement", "true with a CNI other than Cilium"),
    "cni-cilium-ipam-mode": ("cni_cilium_ipam_mode", "not cluster-pool or kubernetes"),
    "cni-cilium-tunnel": ("cni_cilium_tunnel", "not vxlan, geneve or disabled"),
    "cni-cilium-mask-size": (
        "cni_cilium_mask_size(_ipv6)",
        "a per-node mask shorter than the pool or too long",
    ),
    "cni-calico-encapsulation": ("cni_calico_encapsulation", "unknown, or IP-in-IP with an IPv6 pool"),
    "cni-calico-bgp": ("cni_calico_bgp", "BGP off with IPIP, IPIPCrossSubnet or None encapsulation"),
    "cni-calico-block-size": (
        "cni_calico_block_size(_ipv6)",
        "outside /20-/32 (/116-/128) or larger than the pool",
    ),
    "containerd-method": ("containerd_install_method", "not archive, docker or distro"),
    "containerd-version": ("containerd_version", "not X.Y.Z"),
    "containerd-too-old": ("containerd_version", "older than upstream lists for the Kubernetes version"),
    "containerd-version-ignored": ("containerd_version", "set while the distro method installs the distro's"),
    "swap-keep-limited": ("swap_keep", "kept areas while LimitedSwap already keeps every area"),
    "foreign-variable": ("e.g. kube_version", "a kubespray / geerlingguy variable, with its replacement"),
    "removed-variable": ("e.g. control_plane_endpoint_mode", "a Slipway name that was replaced"),
    "unknown-variable": ("any slipway_*", "a misspelt or unknown setting, with a did-you-mean"),
    "unknown-role-variable": (
        "e.g. containerd_*",
        "a misspelt variable of a Slipway role, with a did-you-mean",
    ),
    "controller-python": ("cryptography, jinja2, PyYAML, ansible-core", "missing on the controller"),
    "controller-python-version": ("cryptography, jinja2, PyYAML, ansible-core", "too old on the controller"),
}


@dataclass(frozen=True)
class Problem:
    id: str
    variable: str
    message: str
    fix: str

    def line(self) -> str:
        return f"[{self.id}] {self.variable}: {self.message} Fix: {self.fix}"


def validate(
    groups: dict,
    hostvars: dict,
    settings: dict,
    known_variables=(),
    role_settings: dict | None = None,
    *,
    role_variables: dict | None = None,
) -> tuple[list[Problem], list[str]]:
    """Every problem and warning of one inventory.

    ``settings``: the slipway_* variables of the host the check runs for (defaults
    included); ``role_settings``: role variables the inventory sets;
    ``role_variables``: each Slipway role's documented variables, ``{role: names}``.
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    roles = role_settings or {}
    control_plane, workers = _check_groups(groups, problems, warnings)
    node_ips = _check_nodes(control_plane, workers, hostvars, problems)
    pod, svc = _check_networks(settings, roles, node_ips, len(control_plane + workers), problems)
    _check_versions(settings, control_plane, workers, hostvars, problems)
    _check_settings_agree(hostvars, control_plane + workers, problems)
    _check_choices(settings, problems)
    _check_names_and_validity(settings, problems)
    _check_endpoint(settings, node_ips, pod + svc, problems)
    _check_sources(settings, problems)
    _check_offline_methods(settings, roles, hostvars, control_plane + workers, problems)
    # The CNI's pool is checked against a pod subnet only when the pod subnet itself is fine.
    cluster = {
        "control_planes": len(control_plane),
        "pod_subnet_ok": not [p for p in problems if p.variable == "slipway_pod_subnet"],
    }
    role_problems, role_warnings = _check_roles_per_host(
        settings, roles, hostvars, control_plane + workers, cluster
    )
    problems += role_problems
    warnings += role_warnings
    _check_variables(hostvars, settings, known_variables, role_variables or {}, problems)
    return problems, warnings


def controller_problems(version_of=importlib.metadata.version) -> list[Problem]:
    """Each controller Python distribution that is missing or older than CONTROLLER_REQUIREMENTS."""
    problems = []
    for name, minimum in CONTROLLER_REQUIREMENTS.items():
        wanted = ".".join(map(str, minimum))
        try:
            have = str(version_of(name))
        except importlib.metadata.PackageNotFoundError:
            problems.append(
                Problem(
                    "controller-python",
                    name,
                    f"the Python distribution {name} is missing on the controller (needs >= {wanted}).",
                    "run `python3 tools/slipway.py setup` or `pip install -r requirements-dev.txt`.",
                )
            )
            continue
        numbers = tuple(int(p) for p in re.findall(r"\d+", have)[:2])
        if numbers < minimum:
            problems.append(
                Problem(
                    "controller-python-version",
                    name,
                    f"{name} {have} on the controller is older than {wanted}, the lowest tested.",
                    f"upgrade it: pip install '{name}>={wanted}' (or -r requirements-dev.txt).",
                )
            )
    return problems


# ------------------------------------------------------------------ groups and nodes


def _check_groups(groups: dict, problems: list, warnings: list) -> tuple[list, list]:
    control_plane = list(groups.get("control_plane") or [])
    workers = list(groups.get("workers") or [])
    if not control_plane:
        problems.append(
            Problem(
                "group-control-plane",
                "control_plane",
                "the inventory has no host in group control_plane.",
                "add one (or three, for HA) control-plane hosts under k8s_cluster.children.control_plane.",
            )
        )
    elif len(control_plane) % 2 == 0:
        warnings.append(
            f"control_plane has {len(control_plane)} hosts: stacked etcd tolerates no more failures "
            "with an even count than with one host fewer; use an odd number."
        )
    if len(control_plane) > MAX_ETCD_MEMBERS:
        warnings.append(
            f"control_plane has {len(control_plane)} hosts, so etcd has {len(control_plane)} members: "
            f"etcd advises at most {MAX_ETCD_MEMBERS}; more only slow every write down."
        )
    cluster = set(groups.get("k8s_cluster") or [])
    outside = [h for h in control_plane + workers if h not in cluster]
    if outside:
        problems.append(
            Problem(
                "group-k8s-cluster",
                "k8s_cluster",
                f"{', '.join(sorted(outside))} not in group k8s_cluster.",
                "make control_plane and workers children of k8s_cluster (see inventory/sample/hosts.yml).",
            )
        )
    both = [h for h in workers if h in control_plane]
    if both:
        problems.append(
            Problem(
                "group-overlap",
                "workers",
                f"{', '.join(both)} also in group control_plane; a control plane would then be joined "
                "again as a worker.",
                "list each host in one group only (a control plane runs a kubelet already).",
            )
        )
    for name, instead in FOREIGN_GROUPS.items():
        if groups.get(name):
            problems.append(
                Problem(
                    "foreign-group",
                    name,
                    "is a group of another installer (kubespray); Slipway ignores it.",
                    f"put these hosts in {instead}.",
                )
            )
    return control_plane, workers


def _check_nodes(control_plane: list, workers: list, hostvars: dict, problems: list) -> list:
    names: dict[str, str] = {}
    addresses: dict[str, str] = {}
    node_ips = []
    for host in control_plane + [w for w in workers if w not in control_plane]:
        hv = hostvars.get(host, {})
        name = str(hv.get("slipway_node_name") or host)
        if not _SUBDOMAIN.match(name) or len(name) > 63:
            problems.append(
                Problem(
                    "node-name-invalid",
                    f"slipway_node_name ({host})",
                    f"'{name}' is not a valid Kubernetes node name.",
                    "use lowercase letters, digits, '-' and '.', at most 63 characters.",
                )
            )
        if name.lower() in names:
            problems.append(
                Problem(
                    "node-name-duplicate",
                    f"slipway_node_name ({host})",
                    f"'{name}' is also the node name of {names[name.lower()]} (names ignore case).",
                    "give every host its own slipway_node_name.",
                )
            )
        names.setdefault(name.lower(), host)
        for message in join.check_metadata(
            host, hv.get("slipway_node_labels"), hv.get("slipway_node_taints")
        ):
            problems.append(
                Problem(
                    "node-metadata",
                    f"slipway_node_labels / slipway_node_taints ({host})",
                    message.removeprefix(f"{host}: "),
                    "labels: a mapping of qualified names (prefix/name) to values of at most 63 characters;"
                    " taints: a list of {key, value, effect} with effect NoSchedule, PreferNoSchedule"
                    " or NoExecute.",
                )
            )
        raw = hv.get("slipway_node_ip") or hv.get("ansible_host") or host
        try:
            ip = ipaddress.ip_address(str(raw))
        except ValueError:
            problems.append(
                Problem(
                    "node-ip-invalid",
                    f"slipway_node_ip ({host})",
                    f"'{raw}' is not an IP address.",
                    "set slipway_node_ip to the address other nodes reach this host on.",
                )
            )
            continue
        if str(ip) in addresses:
            problems.append(
                Problem(
                    "node-ip-duplicate",
                    f"slipway_node_ip ({host})",
                    f"{ip} is also the address of {addresses[str(ip)]}.",
                    "give every host its own slipway_node_ip (ansible_host may be shared).",
                )
            )
        addresses.setdefault(str(ip), host)
        node_ips.append((host, ip, host in control_plane))
    return node_ips


# ------------------------------------------------------------------ networks


def _networks(value, variable: str, problems: list) -> list:
    nets = []
    for part in [p.strip() for p in str(value).split(",") if p.strip()]:
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            try:
                loose = ipaddress.ip_network(part, strict=False)
                problems.append(
                    Problem(
                        "cidr-host-bits",
                        variable,
                        f"'{part}' has host bits set.",
                        f"use the network address {loose}.",
                    )
                )
            except ValueError:
                problems.append(
                    Problem("cidr-invalid", variable, f"'{part}' is not a CIDR.", "write it as a.b.c.d/n.")
                )
    if len({n.version for n in nets}) != len(nets):
        problems.append(
            Problem(
                "cidr-dual-stack",
                variable,
                "lists two networks of the same IP family.",
                "give one IPv4 and one IPv6.",
            )
        )
        return []
    return nets


def _node_masks(roles: dict) -> dict[int, int]:
    """kube-controller-manager's per-node mask per IP family, from control_plane_extra_args."""
    extra = (roles.get("control_plane_extra_args") or {}).get("kube-controller-manager") or {}
    masks = dict(DEFAULT_NODE_MASK)
    for family, keys in (
        (4, ("node-cidr-mask-size", "node-cidr-mask-size-ipv4")),
        (6, ("node-cidr-mask-size-ipv6",)),
    ):
        for key in keys:
            if str(extra.get(key, "")).isdigit():
                masks[family] = int(extra[key])
    return masks


def _check_networks(settings: dict, roles: dict, node_ips: list, node_count: int, problems: list) -> tuple:
    pod = _networks(settings.get("slipway_pod_subnet", ""), "slipway_pod_subnet", problems)
    svc = _networks(settings.get("slipway_service_subnet", ""), "slipway_service_subnet", problems)
    for net in svc:
        too_big = net.prefixlen < (12 if net.version == 4 else 108)
        if too_big or net.num_addresses < 10:
            problems.append(
                Problem(
                    "service-subnet-size",
                    "slipway_service_subnet",
                    f"{net} has {net.num_addresses} addresses; kube-apiserver takes 10 to a /12 (IPv6 /108).",
                    "choose a network between /12 and /28 (IPv4) or /108 and /124 (IPv6), e.g. 10.96.0.0/12.",
                )
            )
    _check_pod_ranges(pod, roles, node_count, problems)
    if pod and svc and [n.version for n in pod] != [n.version for n in svc]:
        problems.append(
            Problem(
                "stack-mismatch",
                "slipway_service_subnet",
                f"its IP families ({_families(svc)}) differ from slipway_pod_subnet's ({_families(pod)}).",
                "give both the same families in the same order, e.g. '10.96.0.0/12,fd00:10:96::/112' with "
                "'10.244.0.0/16,fd00:10:244::/56' for dual-stack.",
            )
        )
    for p in pod:
        for s in svc:
            if p.version == s.version and p.overlaps(s):
                problems.append(
                    Problem(
                        "subnet-overlap",
                        "slipway_pod_subnet",
                        f"{p} overlaps slipway_service_subnet {s}.",
                        "choose non-overlapping ranges, e.g. 10.244.0.0/16 and 10.96.0.0/12.",
                    )
                )
    _check_node_addresses(node_ips, pod, svc, problems)
    return pod, svc


def _check_pod_ranges(pod: list, roles: dict, node_count: int, problems: list) -> None:
    masks = _node_masks(roles)
    for net in pod:
        mask = masks[net.version]
        if net.num_addresses < 14 or net.prefixlen > mask:
            problems.append(
                Problem(
                    "pod-subnet-size",
                    "slipway_pod_subnet",
                    f"{net} is smaller than one node's pod range (/{mask}): kube-controller-manager "
                    "could not give any node a range.",
                    f"use a network of /{mask - 8} or larger (e.g. 10.244.0.0/16) or a lower node mask.",
                )
            )
        elif mask - net.prefixlen > MAX_NODE_MASK_DIFF:
            problems.append(
                Problem(
                    "pod-subnet-node-mask",
                    "slipway_pod_subnet",
                    f"{net} with /{mask} per node makes {2 ** (mask - net.prefixlen)} node ranges; kubeadm "
                    f"refuses a node mask more than {MAX_NODE_MASK_DIFF} bits longer than the pod subnet's.",
                    f"use a /{mask - MAX_NODE_MASK_DIFF} or smaller network"
                    + (" (IPv6: e.g. fd00:10:244::/56)." if net.version == 6 else "."),
                )
            )
        elif 2 ** (mask - net.prefixlen) < node_count:
            problems.append(
                Problem(
                    "pod-subnet-nodes",
                    "slipway_pod_subnet",
                    f"{net} holds {2 ** (mask - net.prefixlen)} node pod range(s) of /{mask}, "
                    f"but the inventory has {node_count} nodes.",
                    "use a larger pod network (e.g. 10.244.0.0/16 gives 256 nodes a /24 each).",
                )
            )


def _check_node_addresses(node_ips: list, pod: list, svc: list, problems: list) -> None:
    for host, ip, is_control_plane in node_ips:
        for net in pod + svc:
            if ip.version == net.version and ip in net:
                problems.append(
                    Problem(
                        "node-in-cluster-network",
                        "slipway_pod_subnet" if net in pod else "slipway_service_subnet",
                        f"{net} contains the address {ip} of {host}.",
                        "move the cluster network away from the node network.",
                    )
                )
        families = {n.version for n in pod + svc}
        advertise = svc[0].version if is_control_plane and svc else ip.version
        if families and (ip.version not in families or ip.version != advertise):
            why = (
                f"the cluster networks are {_families(pod or svc)}"
                if ip.version not in families
                else f"kube-apiserver advertises in the family of the first service network (IPv{advertise})"
            )
            wanted = advertise if ip.version in families else (pod or svc)[0].version
            problems.append(
                Problem(
                    "node-ip-family",
                    f"slipway_node_ip ({host})",
                    f"{ip} is IPv{ip.version}, but {why}.",
                    f"give {host} an IPv{wanted} slipway_node_ip, or list an IPv{ip.version} network "
                    "first in slipway_pod_subnet and slipway_service_subnet.",
                )
            )


def _families(nets: list) -> str:
    return ",".join(f"IPv{n.version}" for n in nets)


# ------------------------------------------------------------------ versions


def _check_versions(
    settings: dict, control_plane: list, workers: list, hostvars: dict, problems: list
) -> None:
    version = str(settings.get("slipway_kubernetes_version", ""))
    try:
        versions.parse(version)
    except versions.VersionError:
        problems.append(
            Problem(
                "kubernetes-version-format",
                "slipway_kubernetes_version",
                f"'{version}' is not a version of the form X.Y.Z.",
                f"write the exact release, e.g. {versions.DEFAULT_KUBERNETES_VERSION} (quoted in YAML).",
            )
        )
        return
    if not re.match(r"^v?\d+\.\d+\.\d+$", version.strip()):
        problems.append(
            Problem(
                "kubernetes-version-prerelease",
                "slipway_kubernetes_version",
                f"'{version}' carries a pre-release or build suffix; pkgs.k8s.io's stable channel "
                "has only released versions.",
                f"use a released X.Y.Z, e.g. {versions.DEFAULT_KUBERNETES_VERSION}.",
            )
        )
    try:
        versions.release(version)
    except versions.VersionError as exc:
        problems.append(
            Problem(
                "kubernetes-version",
                "slipway_kubernetes_version",
                f"{exc}.",
                f"use X.Y.Z of {'/'.join(versions.SUPPORTED_MINORS)}, "
                f"e.g. {versions.DEFAULT_KUBERNETES_VERSION}.",
            )
        )
        return

    def of(host: str):
        try:
            return versions.parse(str(hostvars.get(host, {}).get("slipway_kubernetes_version", version)))
        except versions.VersionError:
            return None

    planes = {h: of(h) for h in control_plane if of(h)}
    if len(set(planes.values())) > 1:
        listed = ", ".join(f"{h} {'.'.join(map(str, v))}" for h, v in planes.items())
        problems.append(
            Problem(
                "version-skew-control-plane",
                "slipway_kubernetes_version",
                f"the control planes would run different versions ({listed}).",
                "set one slipway_kubernetes_version for the whole cluster (group_vars/all), not per host.",
            )
        )
    if not planes:
        return
    oldest = min(planes.values())
    for host in workers:
        have = of(host)
        if host in planes or have is None:
            continue
        too_new = have[:2] > oldest[:2]
        too_old = oldest[1] - have[1] > 3 or have[0] != oldest[0]
        if too_new or too_old:
            problems.append(
                Problem(
                    "version-skew-kubelet",
                    f"slipway_kubernetes_version ({host})",
                    f"the kubelet of {host} ({'.'.join(map(str, have))}) would be "
                    f"{'newer than' if too_new else 'more than three minors older than'} the control plane "
                    f"({'.'.join(map(str, oldest))}); a kubelet may be three minors older, never newer.",
                    "remove the per-host slipway_kubernetes_version, or upgrade the control planes first.",
                )
            )


def _check_settings_agree(hostvars: dict, hosts: list, problems: list) -> None:
    missing = object()
    for variable in CLUSTER_WIDE:
        seen: dict[str, list] = {}
        for host in sorted(set(hosts)):
            value = hostvars.get(host, {}).get(variable, missing)
            key = "(default)" if value is missing else repr(value)
            seen.setdefault(key, []).append(host)
        if len(seen) > 1:
            listed = "; ".join(f"{v} on {', '.join(h)}" for v, h in seen.items())
            problems.append(
                Problem(
                    "setting-differs",
                    variable,
                    f"is cluster-wide but differs between hosts: {listed}.",
                    "set it once for all hosts (group_vars/all or all.vars), not per host or group.",
                )
            )


# ------------------------------------------------------------------ choices and names


def _check_choices(settings: dict, problems: list) -> None:
    if settings.get("slipway_cni") not in CNI_CHOICES:
        problems.append(
            Problem(
                "cni",
                "slipway_cni",
                f"'{settings.get('slipway_cni')}' is not supported.",
                f"use one of {', '.join(CNI_CHOICES)}.",
            )
        )
    if settings.get("slipway_key_algorithm") not in KEY_ALGORITHMS:
        problems.append(
            Problem(
                "key-algorithm",
                "slipway_key_algorithm",
                f"'{settings.get('slipway_key_algorithm')}' is not supported.",
                f"use one of {', '.join(KEY_ALGORITHMS)}.",
            )
        )
    port = settings.get("slipway_api_port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        problems.append(
            Problem("api-port", "slipway_api_port", f"'{port}' is not a TCP port.", "use 1-65535, e.g. 6443.")
        )
    elif port in RESERVED_PORTS:
        problems.append(
            Problem(
                "api-port-conflict",
                "slipway_api_port",
                f"{port} is the port of the {RESERVED_PORTS[port]}; kube-apiserver cannot bind it too.",
                "use 6443 (or another port none of etcd, the kubelet, kube-proxy or the controllers use).",
            )
        )
    if settings.get("slipway_swap_behavior", "off") not in SWAP_BEHAVIORS:
        problems.append(
            Problem(
                "swap-behavior",
                "slipway_swap_behavior",
                f"'{settings.get('slipway_swap_behavior')}' is not a swap behaviour.",
                f"use one of {', '.join(SWAP_BEHAVIORS)} (off turns swap off on the nodes).",
            )
        )
    socket = str(
        settings.get("slipway_container_runtime_endpoint", "unix:///var/run/containerd/containerd.sock")
    )
    if not re.match(r"^unix:///\S+$", socket):
        problems.append(
            Problem(
                "runtime-endpoint",
                "slipway_container_runtime_endpoint",
                f"'{socket}' is not a unix:// socket path.",
                "write unix:///var/run/containerd/containerd.sock (three slashes: scheme and absolute path).",
            )
        )


def _check_names_and_validity(settings: dict, problems: list) -> None:
    domain = str(settings.get("slipway_dns_domain", ""))
    if not _SUBDOMAIN.match(domain):
        problems.append(
            Problem(
                "dns-domain",
                "slipway_dns_domain",
                f"'{domain}' is not a DNS domain.",
                "use lowercase labels, e.g. cluster.local.",
            )
        )
    cluster_name = str(settings.get("slipway_cluster_name", ""))
    if not _SUBDOMAIN.match(cluster_name):
        problems.append(
            Problem(
                "cluster-name",
                "slipway_cluster_name",
                f"'{cluster_name}' is not a valid cluster name.",
                "use lowercase letters, digits, '-' and '.'.",
            )
        )
    for variable in (
        "slipway_apiserver_cert_sans",
        "slipway_etcd_server_cert_sans",
        "slipway_etcd_peer_cert_sans",
    ):
        sans = settings.get(variable) or []
        bad = [str(sans)] if isinstance(sans, str) else [str(s) for s in sans if not _is_san(str(s).strip())]
        if bad:
            problems.append(
                Problem(
                    "cert-san-invalid",
                    variable,
                    f"{', '.join(repr(b) for b in bad)} is neither an IP address nor a DNS name "
                    "(or the value is not a list).",
                    "give a YAML list of IPs and lowercase DNS names (a leading '*.' is allowed).",
                )
            )
    leaf, ca, renew = (
        settings.get(k)
        for k in ("slipway_cert_validity_days", "slipway_ca_validity_days", "slipway_cert_renewal_days")
    )
    numbers = [v for v in (leaf, ca, renew) if isinstance(v, int) and not isinstance(v, bool)]
    if len(numbers) != 3 or leaf < 1 or ca < 1:
        problems.append(
            Problem(
                "validity-days",
                "slipway_cert_validity_days",
                f"validity and renewal days must be whole numbers above zero (cert {leaf!r}, "
                f"CA {ca!r}, renewal {renew!r}).",
                "set the three *_days variables (cert, ca, renewal) to integers, e.g. 365, 3650 and 30.",
            )
        )
        return
    if not 0 <= renew < leaf:
        problems.append(
            Problem(
                "renewal-window",
                "slipway_cert_renewal_days",
                f"{renew} days is not shorter than the leaf validity of {leaf} days.",
                "make it smaller than slipway_cert_validity_days (default 30 of 365).",
            )
        )
    if ca < leaf:
        problems.append(
            Problem(
                "ca-validity",
                "slipway_ca_validity_days",
                f"the CA ({ca} days) would expire before the certificates it signs ({leaf} days).",
                "make slipway_ca_validity_days at least slipway_cert_validity_days.",
            )
        )


def _is_san(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(_SAN_DNS.match(text)) and len(text) <= 253
    return True


# ------------------------------------------------------------------ API endpoint


def _split_endpoint(endpoint: str) -> tuple[str, int | None]:
    match = re.match(r"^\[([^\]]+)\](?::(\d+))?$", endpoint) or re.match(r"^([^:]+)(?::(\d+))?$", endpoint)
    if not match:
        return endpoint, None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def _check_endpoint(settings: dict, node_ips: list, cluster_nets: list, problems: list) -> None:
    mode = settings.get("slipway_control_plane_endpoint_mode", "node")
    endpoint = str(settings.get("slipway_control_plane_endpoint") or "")
    if mode not in ENDPOINT_MODES:
        problems.append(
            Problem(
                "endpoint-mode",
                "slipway_control_plane_endpoint_mode",
                f"'{mode}' is not an endpoint mode.",
                f"use one of {', '.join(ENDPOINT_MODES)}.",
            )
        )
    if endpoint and not re.match(r"^(\[[0-9a-fA-F:]+\]|[a-z0-9.-]+)(:\d{1,5})?$", endpoint):
        problems.append(
            Problem(
                "endpoint",
                "slipway_control_plane_endpoint",
                f"'{endpoint}' is not host[:port].",
                "write a DNS name or IP, optional port: k8s.example.org:6443 or [2001:db8::1]:6443.",
            )
        )
        return
    if mode not in ENDPOINT_MODES:
        return
    host, port = _split_endpoint(endpoint)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if mode in ("external", "kube_vip") and not endpoint:
        problems.append(
            Problem(
                "endpoint-required",
                "slipway_control_plane_endpoint",
                f"is empty, but slipway_control_plane_endpoint_mode {mode} needs the address clients use.",
                "set it to the load balancer's or the VIP's host:port.",
            )
        )
        return
    if endpoint and mode != "local_lb" and (host == "localhost" or (address and address.is_loopback)):
        problems.append(
            Problem(
                "endpoint-loopback",
                "slipway_control_plane_endpoint",
                f"'{host}' is a loopback address: every node would dial itself, and joining nodes "
                "find no API there.",
                "use an address the nodes reach (load balancer, VIP or DNS name), or "
                "slipway_control_plane_endpoint_mode: local_lb for a load balancer on every worker.",
            )
        )
        return
    if mode != "kube_vip":
        return
    if address is None:
        problems.append(
            Problem(
                "kube-vip-address",
                "slipway_control_plane_endpoint",
                f"'{host}' is not an IP address; kube-vip announces an IP.",
                "use the VIP itself, e.g. 10.0.0.10:6443, and a DNS name only as an extra SAN.",
            )
        )
        return
    taken = [h for h, ip, _cp in node_ips if ip == address]
    inside = [str(n) for n in cluster_nets if n.version == address.version and address in n]
    if taken or inside:
        problems.append(
            Problem(
                "kube-vip-conflict",
                "slipway_control_plane_endpoint",
                f"the VIP {address} is "
                + (f"the slipway_node_ip of {', '.join(taken)}" if taken else f"inside {', '.join(inside)}")
                + "; kube-vip must announce an address nothing else uses.",
                "choose a free address on the control planes' network, outside the pod and service networks.",
            )
        )
    api_port = settings.get("slipway_api_port", 6443)
    if port is not None and port != api_port:
        problems.append(
            Problem(
                "kube-vip-port",
                "slipway_control_plane_endpoint",
                f"port {port} differs from slipway_api_port {api_port}; kube-vip moves the address only, "
                f"so the API answers on {api_port}.",
                f"write {_url(address)}:{api_port} (or change slipway_api_port).",
            )
        )


def _url(address) -> str:
    return f"[{address}]" if address.version == 6 else str(address)


# ------------------------------------------------------------------ sources


def _check_sources(settings: dict, problems: list) -> None:
    repository = str(settings.get("slipway_image_repository", "registry.k8s.io"))
    if not re.match(r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)*$", repository):
        problems.append(
            Problem(
                "image-repository",
                "slipway_image_repository",
                f"'{repository}' is not a registry path.",
                "write host[:port][/path] without a scheme, e.g. registry.k8s.io or mirror.example:5000/k8s.",
            )
        )
    base = str(settings.get("slipway_package_base_url", "https://pkgs.k8s.io/core:/stable:"))
    if not re.match(r"^(https?|file)://", base):
        problems.append(
            Problem(
                "package-url",
                "slipway_package_base_url",
                f"'{base}' is not an http(s):// or file:// URL.",
                "use https://pkgs.k8s.io/core:/stable: or a mirror of it.",
            )
        )
    offline = str(settings.get("slipway_offline_source") or "")
    if offline.startswith("/") and not os.path.isdir(offline):
        problems.append(
            Problem(
                "offline-source",
                "slipway_offline_source",
                f"the directory {offline} does not exist on the controller.",
                "create it with packages/ and binaries/ (docs/roles/kube_packages.md, "
                "docs/roles/containerd.md), or use a URL.",
            )
        )


def _check_offline_methods(settings: dict, roles: dict, hostvars: dict, hosts: list, problems: list) -> None:
    """What kube_packages can install from a controller directory (docs/airgap.md), per host."""
    found: dict[tuple[str, str], list[str]] = {}
    for host in hosts:
        hv = hostvars.get(host, {})
        offline = str(hv.get("slipway_offline_source", settings.get("slipway_offline_source")) or "")
        if not offline.startswith("/") or not os.path.isdir(offline):
            continue
        method = str(
            hv.get("kube_packages_install_method", roles.get("kube_packages_install_method", "package"))
        )
        if method == "package":
            found.setdefault(("offline-source-packages", offline), []).append(host)
        elif method == "binary" and not os.path.isdir(os.path.join(offline, "binaries")):
            found.setdefault(("offline-source-binaries", offline), []).append(host)
    for (check, offline), names in found.items():
        where = "" if len(names) == len(hosts) else f" ({', '.join(names)})"
        if check == "offline-source-packages":
            problems.append(
                Problem(
                    "offline-source-packages",
                    f"kube_packages_install_method{where}",
                    f"the package method cannot use the controller directory {offline}: apt and dnf read"
                    " the repository on the nodes.",
                    "set kube_packages_install_method: binary, or make slipway_offline_source a URL the"
                    " nodes reach (http://, or file:// of a copy on every node); see docs/airgap.md.",
                )
            )
        else:
            problems.append(
                Problem(
                    "offline-source-binaries",
                    f"slipway_offline_source{where}",
                    f"{offline} has no binaries/ directory for kube_packages_install_method: binary.",
                    "build the directory with `python3 tools/slipway.py artifacts bundle DEST`, or lay it"
                    " out as docs/airgap.md says.",
                )
            )


# ------------------------------------------------------------------ variables of the node roles


#: Prefixes of the role variables the checks below read.
ROLE_PREFIXES = ("containerd_", "swap_", "kube_packages_", "control_plane_", "kubelet_", "cni_")


def _check_roles_per_host(
    settings: dict, roles: dict, hostvars: dict, hosts: list, cluster: dict | None = None
) -> tuple[list, list]:
    """Role variables may differ per host: check each host's, name the hosts when not all share a problem."""
    found: dict[Problem, list] = {}
    noted: list[str] = []
    for host in dict.fromkeys(hosts) or [None]:
        own = {k: v for k, v in hostvars.get(host, {}).items() if k.startswith(ROLE_PREFIXES)}
        mine: list[Problem] = []
        _check_roles(settings, {**roles, **own}, mine, noted, cluster or {})
        for problem in mine:
            found.setdefault(problem, []).append(host)
    problems = [
        p
        if len(where) >= len(set(hosts))
        else Problem(p.id, f"{p.variable} ({', '.join(where)})", p.message, p.fix)
        for p, where in found.items()
    ]
    return problems, list(dict.fromkeys(noted))


def _check_roles(
    settings: dict, roles: dict, problems: list, warnings: list, cluster: dict | None = None
) -> None:
    method = roles.get("containerd_install_method", "archive")
    if method not in CONTAINERD_METHODS:
        problems.append(
            Problem(
                "containerd-method",
                "containerd_install_method",
                f"'{method}' is not an install method.",
                f"use one of {', '.join(CONTAINERD_METHODS)}.",
            )
        )
    elif method == "distro" and "containerd_version" in roles:
        problems.append(
            Problem(
                "containerd-version-ignored",
                "containerd_version",
                f"is set ({roles['containerd_version']}), but containerd_install_method distro installs the "
                "distribution's containerd and ignores it.",
                "remove containerd_version, or use containerd_install_method archive (or docker) to get it.",
            )
        )
    elif method in ("archive", "docker") and "containerd_version" in roles:
        wanted = str(roles["containerd_version"])
        kubernetes = str(settings.get("slipway_kubernetes_version", versions.DEFAULT_KUBERNETES_VERSION))
        try:
            versions.parse(wanted)
            fits = versions.containerd_supported(kubernetes, wanted)
        except versions.VersionError:
            fits = None
        if fits is None and not _version_error(kubernetes):
            problems.append(
                Problem(
                    "containerd-version",
                    "containerd_version",
                    f"'{wanted}' is not a version of the form X.Y.Z.",
                    f"write X.Y.Z, e.g. {versions.COMPONENTS['containerd']}.",
                )
            )
        elif fits is False:
            minimums = ", ".join(versions.release(kubernetes)["containerd_min"].values())
            if roles.get("containerd_allow_unsupported_version", False):
                warnings.append(
                    f"containerd_version {wanted} is not supported with Kubernetes {kubernetes} "
                    f"(upstream lists {minimums} or newer); going on as "
                    "containerd_allow_unsupported_version is true."
                )
            else:
                problems.append(
                    Problem(
                        "containerd-too-old",
                        "containerd_version",
                        f"containerd {wanted} is not supported with Kubernetes {kubernetes}: upstream lists "
                        f"{minimums} or newer in those lines.",
                        "use a listed version, or set containerd_allow_unsupported_version: true.",
                    )
                )
    _check_cni(settings, roles, cluster or {}, warnings, problems)
    if roles.get("swap_keep") and settings.get("slipway_swap_behavior", "off") == "LimitedSwap":
        problems.append(
            Problem(
                "swap-keep-limited",
                "swap_keep",
                "keeps swap areas while slipway_swap_behavior LimitedSwap already keeps every area.",
                "remove swap_keep, or use slipway_swap_behavior: off to turn the other areas off.",
            )
        )


def _check_cni(settings: dict, roles: dict, cluster: dict, warnings: list, problems: list) -> None:
    """The CNI's pool, sizes and switches against the pod subnet (rules in module_utils/cni.py)."""
    cni_settings = {k[len("cni_") :]: v for k, v in roles.items() if k.startswith("cni_")}
    cni_settings |= {
        "cni": settings.get("slipway_cni", "cilium"),
        "pod_subnet": settings.get("slipway_pod_subnet", ""),
    }
    if not cluster.get("pod_subnet_ok", True):
        cni_settings["pod_subnet"] = ""  # its own problem is reported; no pool check against it
    for issue in cni.issues(cni_settings):
        problems.append(Problem(issue.id, issue.variable, issue.message, issue.fix))
    mode = settings.get("slipway_control_plane_endpoint_mode", "node")
    if roles.get("cni_kube_proxy_replacement") and mode == "node" and cluster.get("control_planes", 1) > 1:
        warnings.append(
            "cni_kube_proxy_replacement is true with slipway_control_plane_endpoint_mode node: every Cilium "
            "agent reaches the API through the first control plane only; use kube_vip, external or local_lb "
            "for an API address that survives that host."
        )


def _version_error(kubernetes: str) -> bool:
    """True when slipway_kubernetes_version is itself wrong (reported by its own check)."""
    try:
        versions.release(kubernetes)
    except versions.VersionError:
        return True
    return False


# ------------------------------------------------------------------ unknown and foreign variables


def _check_variables(
    hostvars: dict, settings: dict, known_variables, role_variables: dict, problems: list
) -> None:
    known = set(settings) | set(HOST_VARIABLES) | set(known_variables)
    role_known = {name for names in role_variables.values() for name in names}
    seen: set[str] = set()
    for host in sorted(hostvars):
        for variable in hostvars[host]:
            if variable in seen:
                continue
            seen.add(variable)
            role = next(
                (r for r in sorted(role_variables, key=len, reverse=True) if variable.startswith(f"{r}_")),
                None,
            )
            if variable in FOREIGN_VARIABLES:
                problems.append(
                    Problem(
                        "foreign-variable",
                        variable,
                        "is not a Slipway variable (it comes from another installer) and would be ignored.",
                        f"use {FOREIGN_VARIABLES[variable]}.",
                    )
                )
            elif variable in REMOVED_VARIABLES:
                problems.append(
                    Problem(
                        "removed-variable",
                        variable,
                        "is no longer read by Slipway; it was replaced.",
                        f"use {REMOVED_VARIABLES[variable]}.",
                    )
                )
            elif variable.startswith("slipway_") and variable not in known:
                close = difflib.get_close_matches(variable, sorted(known), n=1)
                problems.append(
                    Problem(
                        "unknown-variable",
                        variable,
                        "is not a Slipway variable and would be ignored.",
                        f"did you mean {close[0]}?"
                        if close
                        else "remove it (docs/variables.md lists every variable).",
                    )
                )
            elif role and variable not in role_known:
                close = difflib.get_close_matches(variable, sorted(role_variables[role]), n=1)
                problems.append(
                    Problem(
                        "unknown-role-variable",
                        variable,
                        f"is not a variable of role {role} and would be ignored.",
                        f"did you mean {close[0]}?"
                        if close
                        else f"remove it (roles/{role}/meta/argument_specs.yml lists the role's variables).",
                    )
                )
