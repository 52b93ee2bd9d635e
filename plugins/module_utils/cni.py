# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""The pod network add-on (CNI) of a cluster: what is applied, in which order, with which settings.

Pure Python, no Ansible imports.  ``plan(settings)`` turns the cluster's settings
into everything role ``cni`` needs: the pinned version, where the upstream
artifacts come from, Cilium's Helm values or Calico's ``Installation`` and
``APIServer`` custom resources, the apply steps in order and what to wait on.
``problems(settings)`` lists the settings that cannot work (pool outside the pod
network, impossible block or mask sizes, ...); validation.py turns them into
preflight problems, so they are reported before any host is touched.

Facts (kubernetes-bootstrap-facts.md section 7): Calico's operator refuses an
IP pool outside kubeadm's podSubnet; Cilium's cluster-pool IPAM ignores the
nodes' podCIDR and allocates from its own list (default 10.0.0.0/8, /24 per
node), so Slipway sets that list to the pod subnet; with kube-proxy replacement
Cilium must be told the API server's host and port (no kube-proxy serves the
``kubernetes`` Service address for it).

settings keys: ``cni`` (cilium, calico, none), ``pod_subnet`` (comma-separated,
one network per IP family), ``service_subnet``, ``endpoint_mode``, ``endpoint``,
``first_node_ip``, ``api_port``, ``node_count``,
``offline_source`` and every ``cni_*`` role variable without its prefix (see
``DEFAULTS``; ``source`` is ``cni_source``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ansible_collections.slipway.cluster.plugins.module_utils import versions

CHOICES = ("cilium", "calico", "none")
CILIUM_IPAM_MODES = ("cluster-pool", "kubernetes")
CILIUM_TUNNELS = ("vxlan", "geneve", "disabled")
CALICO_ENCAPSULATIONS = ("VXLAN", "VXLANCrossSubnet", "IPIP", "IPIPCrossSubnet", "None")
#: Calico's IPPool accepts block sizes 20-32 (IPv4) and 116-128 (IPv6).
CALICO_BLOCK_RANGE = {4: (20, 32), 6: (116, 128)}
#: Where the pinned upstream artifacts live when neither cni_source nor slipway_offline_source is set.
UPSTREAM = {
    "cilium": "https://helm.cilium.io",
    "calico": "https://raw.githubusercontent.com/projectcalico/calico/v{version}/manifests",
}
#: The role's defaults for the keys of ``settings`` (roles/cni/defaults/main.yml, prefix cni_).
DEFAULTS = {
    "pool_cidr": "",
    "kube_proxy_replacement": False,
    "cilium_ipam_mode": "cluster-pool",
    "cilium_tunnel": "vxlan",
    "cilium_mask_size": 24,
    "cilium_mask_size_ipv6": 120,
    "cilium_values": {},
    "calico_encapsulation": "VXLANCrossSubnet",
    "calico_bgp": False,
    "calico_nat_outgoing": True,
    "calico_block_size": 26,
    "calico_block_size_ipv6": 122,
    "calico_installation": {},
}


class CniError(ValueError):
    """Settings that cannot be rendered; the message names the variable."""


@dataclass(frozen=True)
class Issue:
    """One setting that cannot work: the variable, what is wrong, the fix."""

    id: str
    variable: str
    message: str
    fix: str


def _settings(settings: dict) -> dict:
    merged = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
    merged["cni"] = str(merged.get("cni", "cilium"))
    return merged


def _networks(text, variable: str) -> list:
    nets = []
    for part in [p.strip() for p in str(text or "").split(",") if p.strip()]:
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            raise CniError(f"{variable}: '{part}' is not a network ({exc})") from None
    return nets


def pools(settings: dict) -> list:
    """The CNI's pool networks: ``cni_pool_cidr``, or the pod subnet when it is empty."""
    s = _settings(settings)
    if str(s.get("pool_cidr") or "").strip():
        return _networks(s["pool_cidr"], "cni_pool_cidr")
    return _networks(s.get("pod_subnet"), "slipway_pod_subnet")


def issues(settings: dict) -> list[Issue]:
    """Every CNI setting that cannot work with the cluster's pod subnet and choices."""
    s = _settings(settings)
    found: list[Issue] = []
    if s["cni"] not in CHOICES:
        return found  # validation's own "cni" check names it
    if s.get("kube_proxy_replacement") and s["cni"] != "cilium":
        found.append(
            Issue(
                "cni-kube-proxy-replacement",
                "cni_kube_proxy_replacement",
                f"is true, but slipway_cni is {s['cni']}; Slipway replaces kube-proxy only with Cilium.",
                "set cni_kube_proxy_replacement: false, or slipway_cni: cilium.",
            )
        )
    if s["cni"] == "none":
        return found
    try:
        pod = _networks(s.get("pod_subnet"), "slipway_pod_subnet")
    except CniError:
        return found  # the pod subnet's own checks name it
    try:
        pool = pools(s)
    except CniError as exc:
        found.append(
            Issue(
                "cni-pool-invalid",
                "cni_pool_cidr",
                f"{exc}.",
                "write one network per IP family, e.g. 10.244.0.0/16, "
                "or leave it empty for slipway_pod_subnet.",
            )
        )
        return found
    if not pod or len({p.version for p in pod}) != len(pod):
        return found  # no pod subnet, or one the pod subnet's own checks refuse
    if s["cni"] == "cilium" and s.get("cilium_ipam_mode") == "kubernetes":
        pass  # the pool is not used: Cilium takes each node's podCIDR from the controller-manager
    else:
        _pool_inside_pod_subnet(s, pool, pod, found)
    if s["cni"] == "cilium":
        _cilium_issues(s, pool, found)
    else:
        _calico_issues(s, pool, found)
    return found


def _pool_inside_pod_subnet(s: dict, pool: list, pod: list, found: list) -> None:
    outside = [str(n) for n in pool if not any(n.version == p.version and n.subnet_of(p) for p in pod)]
    families = sorted({n.version for n in pool})
    if outside:
        consequence = (
            "the tigera operator refuses such a pool "
            "('not within the platform's configured pod network CIDR(s)')"
            if s["cni"] == "calico"
            else "Cilium would give pods addresses the controller-manager, kube-proxy and network policies "
            "do not see as pod addresses"
        )
        found.append(
            Issue(
                "cni-pool-outside-pod-subnet",
                "cni_pool_cidr",
                f"{', '.join(outside)} is not inside slipway_pod_subnet {s['pod_subnet']}; {consequence}.",
                "leave cni_pool_cidr empty (the pool is then slipway_pod_subnet) "
                "or choose networks inside it.",
            )
        )
    elif len(families) != len(pool) or families != sorted({p.version for p in pod}):
        found.append(
            Issue(
                "cni-pool-families",
                "cni_pool_cidr",
                f"lists {', '.join(map(str, pool))}, but slipway_pod_subnet {s['pod_subnet']} "
                "needs exactly one pool network per IP family it has.",
                "give one network per family of slipway_pod_subnet, or leave cni_pool_cidr empty.",
            )
        )


def _as_int(value):
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cilium_issues(s: dict, pool: list, found: list) -> None:
    if s.get("cilium_ipam_mode") not in CILIUM_IPAM_MODES:
        found.append(
            Issue(
                "cni-cilium-ipam-mode",
                "cni_cilium_ipam_mode",
                f"'{s.get('cilium_ipam_mode')}' is not an IPAM mode Slipway configures.",
                f"use {' or '.join(CILIUM_IPAM_MODES)} (kubernetes takes each node's podCIDR from kubeadm).",
            )
        )
        return
    if s.get("cilium_tunnel") not in CILIUM_TUNNELS:
        found.append(
            Issue(
                "cni-cilium-tunnel",
                "cni_cilium_tunnel",
                f"'{s.get('cilium_tunnel')}' is not a tunnel protocol.",
                f"use one of {', '.join(CILIUM_TUNNELS)} (disabled: native routing over the node network).",
            )
        )
    if s["cilium_ipam_mode"] != "cluster-pool":
        return
    for net in pool:
        variable = "cni_cilium_mask_size" if net.version == 4 else "cni_cilium_mask_size_ipv6"
        mask = _as_int(s.get(variable[4:]))
        top = 32 if net.version == 4 else 128
        if mask is None or not net.prefixlen <= mask <= top - 2:
            found.append(
                Issue(
                    "cni-cilium-mask-size",
                    variable,
                    f"/{s.get(variable[4:])} per node does not fit the pool {net}: it must be at least "
                    f"the pool's /{net.prefixlen} and leave room for pods (at most /{top - 2}).",
                    f"use a mask between /{net.prefixlen} and /{top - 2}, e.g. "
                    f"{24 if net.version == 4 else 120} (Cilium's default).",
                )
            )


def _calico_issues(s: dict, pool: list, found: list) -> None:
    encapsulation = s.get("calico_encapsulation")
    if encapsulation not in CALICO_ENCAPSULATIONS:
        found.append(
            Issue(
                "cni-calico-encapsulation",
                "cni_calico_encapsulation",
                f"'{encapsulation}' is not a Calico encapsulation.",
                f"use one of {', '.join(CALICO_ENCAPSULATIONS)}.",
            )
        )
        return
    if str(encapsulation).startswith("IPIP") and any(n.version == 6 for n in pool):
        found.append(
            Issue(
                "cni-calico-encapsulation",
                "cni_calico_encapsulation",
                f"{encapsulation} carries IPv4 only, but the pool has an IPv6 network.",
                "use VXLAN or VXLANCrossSubnet (or None with BGP) for a dual-stack or IPv6 pool.",
            )
        )
    if not s.get("calico_bgp") and encapsulation in ("IPIP", "IPIPCrossSubnet", "None"):
        found.append(
            Issue(
                "cni-calico-bgp",
                "cni_calico_bgp",
                f"is false, but encapsulation {encapsulation} needs BGP to carry the routes between nodes "
                "(the operator refuses IP-in-IP without BGP).",
                "set cni_calico_bgp: true, or cni_calico_encapsulation: VXLANCrossSubnet (no BGP needed).",
            )
        )
    for net in pool:
        variable = "cni_calico_block_size" if net.version == 4 else "cni_calico_block_size_ipv6"
        size = _as_int(s.get(variable[4:]))
        low, high = CALICO_BLOCK_RANGE[net.version]
        if size is None or not max(low, net.prefixlen) <= size <= high:
            found.append(
                Issue(
                    "cni-calico-block-size",
                    variable,
                    f"/{s.get(variable[4:])} is not a block size for the pool {net}: Calico takes "
                    f"/{low} to /{high} and no larger than the pool (/{net.prefixlen}).",
                    f"use a block size between /{max(low, net.prefixlen)} and /{high}, e.g. "
                    f"{26 if net.version == 4 else 122} (Calico's default).",
                )
            )


def _check(settings: dict) -> dict:
    s = _settings(settings)
    if s["cni"] not in CHOICES:
        raise CniError(f"slipway_cni: '{s['cni']}' is not one of {', '.join(CHOICES)}")
    found = issues(s)
    if found:
        raise CniError("; ".join(f"{i.variable}: {i.message} Fix: {i.fix}" for i in found))
    return s


def cilium_values(settings: dict) -> dict:
    """The Helm values of the cilium chart for these settings (cni_cilium_values merged last)."""
    s = _check(settings)
    pool = pools(s)
    v4 = [str(n) for n in pool if n.version == 4]
    v6 = [str(n) for n in pool if n.version == 6]
    values: dict = {
        "ipv4": {"enabled": bool(v4) or not v6},
        "ipv6": {"enabled": bool(v6)},
        "ipam": {"mode": s["cilium_ipam_mode"]},
        "kubeProxyReplacement": bool(s["kube_proxy_replacement"]),
        # kubeadm's nodes keep CNI binaries in /opt/cni/bin and configuration in /etc/cni/net.d.
        "cni": {"binPath": "/opt/cni/bin", "confPath": "/etc/cni/net.d"},
        # The chart's two operator replicas refuse to share a node: one node gets one.
        "operator": {"replicas": 1 if int(s.get("node_count") or 1) < 2 else 2},
    }
    if s["cilium_ipam_mode"] == "cluster-pool":
        operator: dict = {}
        if v4:
            operator["clusterPoolIPv4PodCIDRList"] = v4
            operator["clusterPoolIPv4MaskSize"] = int(s["cilium_mask_size"])
        if v6:
            operator["clusterPoolIPv6PodCIDRList"] = v6
            operator["clusterPoolIPv6MaskSize"] = int(s["cilium_mask_size_ipv6"])
        values["ipam"]["operator"] = operator
    if s["cilium_tunnel"] == "disabled":
        values["routingMode"] = "native"
        values["autoDirectNodeRoutes"] = True
        if v4:
            values["ipv4NativeRoutingCIDR"] = v4[0]
        if v6:
            values["ipv6NativeRoutingCIDR"] = v6[0]
    else:
        values["routingMode"] = "tunnel"
        values["tunnelProtocol"] = s["cilium_tunnel"]
    if s["kube_proxy_replacement"]:
        host, port = api_endpoint(s)
        values["k8sServiceHost"] = host
        values["k8sServicePort"] = port
    return _merge(values, s.get("cilium_values") or {})


def api_endpoint(settings: dict) -> tuple[str, int]:
    """The API server's host and port as every node reaches it without kube-proxy.

    ``endpoint_mode`` local_lb: 127.0.0.1 (the nginx static pod on workers, the
    API server itself on control planes); otherwise ``endpoint`` (host[:port]) when
    set, else the first control plane's ``first_node_ip`` and ``api_port``.
    """
    port = int(settings.get("api_port") or 6443)
    endpoint = str(settings.get("endpoint") or "").strip()
    if settings.get("endpoint_mode") == "local_lb":
        return "127.0.0.1", port  # role api_lb's nginx listens there; control planes' API servers too
    if endpoint:
        host, _sep, rest = endpoint.rpartition("]") if endpoint.startswith("[") else ("", "", endpoint)
        if host:
            return host.lstrip("["), int(rest[1:]) if rest.startswith(":") else port
        name, _sep, number = endpoint.partition(":")
        return name, int(number) if number else port
    host = str(settings.get("first_node_ip") or "")
    if not host:
        raise CniError(
            "cni_kube_proxy_replacement: no API server host (empty endpoint and first control plane IP)"
        )
    return host, port


def calico_resources(settings: dict) -> list:
    """Calico's ``Installation`` and ``APIServer`` custom resources (operator.tigera.io/v1)."""
    s = _check(settings)
    ip_pools = []
    for net in pools(s):
        ip_pools.append(
            {
                "name": f"default-ipv{net.version}-ippool",
                "cidr": str(net),
                "blockSize": int(s["calico_block_size"] if net.version == 4 else s["calico_block_size_ipv6"]),
                "encapsulation": s["calico_encapsulation"],
                "natOutgoing": "Enabled" if s["calico_nat_outgoing"] else "Disabled",
                "nodeSelector": "all()",
            }
        )
    spec = {
        "cni": {"type": "Calico"},
        "calicoNetwork": {"bgp": "Enabled" if s["calico_bgp"] else "Disabled", "ipPools": ip_pools},
    }
    installation = {
        "apiVersion": "operator.tigera.io/v1",
        "kind": "Installation",
        "metadata": {"name": "default"},
        "spec": _merge(spec, s.get("calico_installation") or {}),
    }
    api_server = {
        "apiVersion": "operator.tigera.io/v1",
        "kind": "APIServer",
        "metadata": {"name": "default"},
        "spec": {},
    }
    return [installation, api_server]


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def plan(settings: dict) -> dict:
    """Everything role cni does for these settings.

    ``version``, ``source`` (directory or URL of the upstream files), ``steps``
    (in apply order: ``name``, ``file`` on the node, ``upstream`` file name or
    ``content`` rendered here, ``wait`` kubectl arguments that block until the
    step's objects are usable), ``ready`` (what shows the network is up) and
    ``values`` (Cilium) or ``resources`` (Calico).
    """
    s = _check(settings)
    cni = s["cni"]
    if cni == "none":
        return {"cni": "none", "version": "", "source": "", "steps": [], "ready": []}
    version = versions.COMPONENTS[cni]
    source = str(s.get("source") or "").rstrip("/")
    offline = str(s.get("offline_source") or "").rstrip("/")
    if not source:
        source = f"{offline}/cni/{cni}-{version}" if offline else UPSTREAM[cni].format(version=version)
    if cni == "cilium":
        values = cilium_values(s)
        return {
            "cni": cni,
            "version": version,
            "source": source,
            "chart": f"cilium-{version}.tgz",
            "namespace": "kube-system",
            "values": values,
            "steps": [{"name": "cilium", "file": "cilium.yaml", "rendered_by": "helm", "wait": []}],
            "ready": [
                ["-n", "kube-system", "rollout", "status", "daemonset/cilium"],
                ["-n", "kube-system", "rollout", "status", "deployment/cilium-operator"],
            ],
            "kube_proxy_replacement": bool(s["kube_proxy_replacement"]),
        }
    return {
        "cni": cni,
        "version": version,
        "source": source,
        "namespace": "tigera-operator",
        "resources": calico_resources(s),
        "steps": [
            # CRDs first (server-side apply: they are too large for the last-applied annotation),
            # established before anything uses them; then the operator; then our resources.
            {
                "name": "crds",
                "file": "10-operator-crds.yaml",
                "upstream": "operator-crds.yaml",
                "wait": ["wait", "--for", "condition=Established", "-f"],
            },
            {
                "name": "operator",
                "file": "20-tigera-operator.yaml",
                "upstream": "tigera-operator.yaml",
                "wait": ["-n", "tigera-operator", "rollout", "status", "deployment/tigera-operator"],
            },
            {"name": "resources", "file": "30-custom-resources.yaml", "wait": []},
        ],
        "ready": [
            ["wait", "--for", "condition=Available", "tigerastatus/calico"],
            ["wait", "--for", "condition=Available", "tigerastatus/apiserver"],
        ],
        "kube_proxy_replacement": False,
    }
