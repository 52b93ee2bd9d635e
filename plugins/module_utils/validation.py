# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Validation of a cluster description before any host is touched.

Pure Python: takes the groups, each host's variables and the cluster-wide
settings, returns problems (each naming the variable, what is wrong and the fix)
and warnings.  Used by the action plugin ``slipway.cluster.validate_cluster``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from dataclasses import dataclass

from ansible_collections.slipway.cluster.plugins.module_utils import versions

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

CNI_CHOICES = ("cilium", "calico", "none")
KEY_ALGORITHMS = ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384")

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

#: Variables of other installers (kubespray, geerlingguy.kubernetes) and what replaces them.
FOREIGN_VARIABLES = {
    "kube_version": "slipway_kubernetes_version",
    "kube_pods_subnet": "slipway_pod_subnet",
    "kube_service_addresses": "slipway_service_subnet",
    "kube_network_plugin": "slipway_cni",
    "cluster_name": "slipway_cluster_name",
    "kube_apiserver_port": "slipway_api_port",
    "kube_image_repo": "slipway_image_repository",
    "kube_cert_dir": "slipway_pki_dir (controller side; nodes always use /etc/kubernetes/pki)",
    "kubernetes_version": "slipway_kubernetes_version",
    "kubernetes_pod_network": "slipway_pod_subnet (and slipway_cni)",
    "kubernetes_apiserver_advertise_address": "slipway_node_ip on each control-plane host",
    "kubernetes_kubeadm_init_extra_opts": "the control_plane role's extra arguments",
}


@dataclass(frozen=True)
class Problem:
    id: str
    variable: str
    message: str
    fix: str

    def line(self) -> str:
        return f"[{self.id}] {self.variable}: {self.message} Fix: {self.fix}"


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
    return nets


def validate(
    groups: dict, hostvars: dict, settings: dict, known_variables=(), role_settings: dict | None = None
) -> tuple[list[Problem], list[str]]:
    """``settings``: the slipway_* variables; ``role_settings``: role variables the inventory sets."""
    problems: list[Problem] = []
    warnings: list[str] = []
    control_plane, workers = _check_groups(groups, problems, warnings)
    node_ips = _check_nodes(control_plane, workers, hostvars, problems)
    _check_networks(settings, node_ips, problems)
    _check_choices(settings, problems)
    _check_names_and_validity(settings, problems)
    _check_endpoint_and_sources(settings, problems)
    _check_roles(settings, role_settings or {}, problems)
    _check_variables(hostvars, settings, known_variables, problems)
    return problems, warnings


ENDPOINT_MODES = ("node", "external", "kube_vip", "local_lb")
SWAP_BEHAVIORS = ("off", "NoSwap", "LimitedSwap")
CONTAINERD_METHODS = ("archive", "docker", "distro")


def _check_endpoint_and_sources(settings: dict, problems: list) -> None:
    mode = settings.get("slipway_control_plane_endpoint_mode", "node")
    endpoint = str(settings.get("slipway_control_plane_endpoint") or "")
    host = re.sub(r":\d+$", "", endpoint).strip("[]")
    if mode not in ENDPOINT_MODES:
        problems.append(
            Problem(
                "endpoint-mode",
                "slipway_control_plane_endpoint_mode",
                f"'{mode}' is not an endpoint mode.",
                f"use one of {', '.join(ENDPOINT_MODES)}.",
            )
        )
    elif mode in ("external", "kube_vip") and not endpoint:
        problems.append(
            Problem(
                "endpoint-required",
                "slipway_control_plane_endpoint",
                f"is empty, but slipway_control_plane_endpoint_mode {mode} needs the address clients use.",
                "set it to the load balancer's or the VIP's host:port.",
            )
        )
    elif mode == "kube_vip":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            problems.append(
                Problem(
                    "kube-vip-address",
                    "slipway_control_plane_endpoint",
                    f"'{host}' is not an IP address; kube-vip announces an IP.",
                    "use the VIP itself, e.g. 10.0.0.10:6443, and a DNS name only as an extra SAN.",
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
                "create it as docs/airgap.md lays out, or use a URL.",
            )
        )


def _check_roles(settings: dict, roles: dict, problems: list) -> None:
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
    elif method in ("archive", "docker") and "containerd_version" in roles:
        wanted = str(roles["containerd_version"])
        kubernetes = str(settings.get("slipway_kubernetes_version", versions.DEFAULT_KUBERNETES_VERSION))
        try:
            fits = versions.containerd_supported(kubernetes, wanted)
        except versions.VersionError:
            fits = None
        if fits is None:
            problems.append(
                Problem(
                    "containerd-version",
                    "containerd_version",
                    f"'{wanted}' is not a version (or slipway_kubernetes_version is not supported).",
                    "write X.Y.Z, e.g. 2.3.4.",
                )
            )
        elif not fits and not roles.get("containerd_allow_unsupported_version", False):
            minimums = ", ".join(versions.release(kubernetes)["containerd_min"].values())
            problems.append(
                Problem(
                    "containerd-too-old",
                    "containerd_version",
                    f"containerd {wanted} is not supported with Kubernetes {kubernetes}: upstream lists "
                    f"{minimums} or newer in those lines.",
                    "use a listed version, or set containerd_allow_unsupported_version: true.",
                )
            )
    keep = roles.get("swap_keep") or []
    if keep and settings.get("slipway_swap_behavior", "off") == "LimitedSwap":
        problems.append(
            Problem(
                "swap-keep-limited",
                "swap_keep",
                "keeps swap areas while slipway_swap_behavior LimitedSwap already keeps every area.",
                "remove swap_keep, or use slipway_swap_behavior: off to turn the other areas off.",
            )
        )


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
        if name in names:
            problems.append(
                Problem(
                    "node-name-duplicate",
                    f"slipway_node_name ({host})",
                    f"'{name}' is also the node name of {names[name]}.",
                    "give every host its own slipway_node_name.",
                )
            )
        names.setdefault(name, host)
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
        node_ips.append((host, ip))

    return node_ips


def _check_networks(settings: dict, node_ips: list, problems: list) -> None:
    pod = _networks(settings.get("slipway_pod_subnet", ""), "slipway_pod_subnet", problems)
    svc = _networks(settings.get("slipway_service_subnet", ""), "slipway_service_subnet", problems)
    for net in svc:
        too_big = net.prefixlen < (12 if net.version == 4 else 108)
        if too_big or net.num_addresses < 10:
            problems.append(
                Problem(
                    "service-subnet-size",
                    "slipway_service_subnet",
                    f"{net} has {net.num_addresses} addresses; kubeadm needs 10 to a /12 (/108 for IPv6).",
                    "choose a network between /12 and /28 (IPv4), e.g. 10.96.0.0/12.",
                )
            )
    for net in pod:
        if net.num_addresses < 14:
            problems.append(
                Problem(
                    "pod-subnet-size",
                    "slipway_pod_subnet",
                    f"{net} is too small.",
                    "use at least a /28 (IPv4).",
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
    for host, ip in node_ips:
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


def _check_choices(settings: dict, problems: list) -> None:
    version = str(settings.get("slipway_kubernetes_version", ""))
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
    endpoint = str(settings.get("slipway_control_plane_endpoint") or "")
    if endpoint and not re.match(r"^(\[[0-9a-fA-F:]+\]|[a-z0-9.-]+)(:\d{1,5})?$", endpoint):
        problems.append(
            Problem(
                "endpoint",
                "slipway_control_plane_endpoint",
                f"'{endpoint}' is not host[:port].",
                "write a DNS name or IP, optional port: k8s.example.org:6443 or [2001:db8::1]:6443.",
            )
        )
    leaf, ca, renew = (
        settings.get(k)
        for k in ("slipway_cert_validity_days", "slipway_ca_validity_days", "slipway_cert_renewal_days")
    )
    if all(isinstance(v, int) for v in (leaf, ca, renew)):
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
    else:
        problems.append(
            Problem(
                "validity-days",
                "slipway_cert_validity_days",
                "validity and renewal days must be whole numbers.",
                "set the three *_days variables (cert, ca, renewal) to integers.",
            )
        )


def _check_variables(hostvars: dict, settings: dict, known_variables, problems: list) -> None:
    known = set(settings) | set(HOST_VARIABLES) | set(known_variables)
    seen: set[str] = set()
    for host in sorted(hostvars):
        for variable in hostvars[host]:
            if variable in seen:
                continue
            seen.add(variable)
            if variable in FOREIGN_VARIABLES:
                problems.append(
                    Problem(
                        "foreign-variable",
                        variable,
                        "is not a Slipway variable (it comes from another installer) and would be ignored.",
                        f"use {FOREIGN_VARIABLES[variable]}.",
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
