# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""The KubeletConfiguration kubeadm writes (facts section 4.1), plus swap and user fields.

One function for both places that need it: the kubelet role writes it to
/var/lib/kubelet/config.yaml and the control_plane role embeds it in
kubeadm-config.yaml, so kubeadm init/join write back exactly the same file.
"""

from __future__ import annotations

import copy
import ipaddress


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def cluster_dns(service_subnet: str) -> str:
    first = str(service_subnet).split(",")[0].strip()
    return str(ipaddress.ip_network(first, strict=False)[10])


def kubelet_config(
    service_subnet: str,
    dns_domain: str,
    cri_endpoint: str,
    swap_behavior: str = "",
    extra: dict | None = None,
) -> dict:
    """``swap_behavior`` empty keeps the kubelet's failSwapOn; NoSwap/LimitedSwap accept swap."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"cacheTTL": "0s", "enabled": True},
            "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"},
        },
        "cgroupDriver": "systemd",
        "clusterDNS": [cluster_dns(service_subnet)],
        "clusterDomain": dns_domain,
        "containerRuntimeEndpoint": cri_endpoint,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "readOnlyPort": 0,
        "rotateCertificates": True,
        "staticPodPath": "/etc/kubernetes/manifests",
    }
    if swap_behavior:
        config |= {"failSwapOn": False, "memorySwap": {"swapBehavior": swap_behavior}}
    return _merge(config, extra or {})
