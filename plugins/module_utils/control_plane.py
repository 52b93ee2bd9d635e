# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""The four control-plane static pods as kubeadm writes them, plus Slipway's hardening.

Pure Python: ``manifests(settings)`` returns ``{component: pod}`` dictionaries that
the role ``control_plane`` writes as YAML into ``/etc/kubernetes/manifests``.
The baseline is kubeadm's (``kubernetes-bootstrap-facts.md`` section 3, read
against kubeadm's ``phases/controlplane`` and ``phases/etcd``); every choice that
goes beyond it is a named, switchable setting.

``settings`` keys (the role fills them from the inventory):

- ``kubernetes_version``, ``image_repository``
- ``node_name``, ``advertise_address`` (this control plane), ``api_port``
- ``etcd_members``: ``[{"name", "address"}]`` of every control plane in join order;
  ``etcd_initial_cluster_state``: ``new`` or ``existing``
- ``service_subnet``, ``pod_subnet``, ``dns_domain``, ``cluster_name``
- ``extra_args``: ``{component: {flag: value}}`` (without dashes; the user wins)
- ``extra_volumes``: ``{component: [{"name", "hostPath", "mountPath", "readOnly", "pathType"}]}``
- ``resources``: ``{component: {...}}`` replacing kubeadm's requests
- ``host_ca_dirs``: which of kubeadm's optional CA directories exist on the node
- hardening: ``profiling`` (bool), ``tls_min_version`` (str or ""),
  ``encryption_config`` (path or ""), ``audit`` (dict or {}), ``apiserver_config_hash``
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from ansible_collections.slipway.cluster.plugins.module_utils import versions

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
PKI = "/etc/kubernetes/pki"

#: kubeadm's optional CA directories, mounted into apiserver and KCM only when present.
HOST_CA_DIRS = (
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
)

REQUESTS = {
    "kube-apiserver": {"cpu": "250m"},
    "kube-controller-manager": {"cpu": "200m"},
    "kube-scheduler": {"cpu": "100m"},
    "etcd": {"cpu": "100m", "memory": "100Mi"},
}

#: Hash of the files the API server reads only at start (Slipway's own annotation).
CONFIG_HASH_ANNOTATION = "slipway.io/config-hash"

PROBE_PORTS = {"kube-controller-manager": 10257, "kube-scheduler": 10259, "etcd": 2381}


class ControlPlaneError(ValueError):
    """Settings the control plane cannot be rendered from."""


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError as exc:
        raise ControlPlaneError(f"slipway_node_ip: '{address}' is not an IP address") from exc


def _minor(settings: dict) -> int:
    return versions.parse(settings["kubernetes_version"])[1]


def etcd_version(settings: dict) -> tuple[int, int, int]:
    """The etcd of the chosen Kubernetes version (``3.6.8-0`` -> ``(3, 6, 8)``)."""
    return versions.parse(versions.release(settings["kubernetes_version"])["etcd_version"])


# ------------------------------------------------------------------ flags


def default_flags(component: str, s: dict) -> dict[str, str]:
    """kubeadm's flags for one component (facts section 3.3), before user arguments."""
    adv = s["advertise_address"]
    loopback = "::1" if _is_ipv6(adv) else "127.0.0.1"
    if component == "kube-apiserver":
        flags = {
            "advertise-address": adv,
            "allow-privileged": "true",
            "authorization-mode": "Node,RBAC",
            "client-ca-file": f"{PKI}/ca.crt",
            "enable-admission-plugins": "NodeRestriction",
            "enable-bootstrap-token-auth": "true",
            "etcd-cafile": f"{PKI}/etcd/ca.crt",
            "etcd-certfile": f"{PKI}/apiserver-etcd-client.crt",
            "etcd-keyfile": f"{PKI}/apiserver-etcd-client.key",
            "etcd-servers": f"https://{_url_host(loopback)}:2379",
            "kubelet-client-certificate": f"{PKI}/apiserver-kubelet-client.crt",
            "kubelet-client-key": f"{PKI}/apiserver-kubelet-client.key",
            "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
            "proxy-client-cert-file": f"{PKI}/front-proxy-client.crt",
            "proxy-client-key-file": f"{PKI}/front-proxy-client.key",
            "requestheader-allowed-names": "front-proxy-client",
            "requestheader-client-ca-file": f"{PKI}/front-proxy-ca.crt",
            "requestheader-extra-headers-prefix": "X-Remote-Extra-",
            "requestheader-group-headers": "X-Remote-Group",
            "requestheader-username-headers": "X-Remote-User",
            "secure-port": str(s["api_port"]),
            "service-account-issuer": f"https://kubernetes.default.svc.{s['dns_domain']}",
            "service-account-key-file": f"{PKI}/sa.pub",
            "service-account-signing-key-file": f"{PKI}/sa.key",
            "service-cluster-ip-range": s["service_subnet"],
            "tls-cert-file": f"{PKI}/apiserver.crt",
            "tls-private-key-file": f"{PKI}/apiserver.key",
        }
    elif component == "kube-controller-manager":
        conf = "/etc/kubernetes/controller-manager.conf"
        flags = {
            "authentication-kubeconfig": conf,
            "authorization-kubeconfig": conf,
            "bind-address": "127.0.0.1",
            "client-ca-file": f"{PKI}/ca.crt",
            "cluster-name": s["cluster_name"],
            "cluster-signing-cert-file": f"{PKI}/ca.crt",
            "cluster-signing-key-file": f"{PKI}/ca.key",
            "controllers": "*,bootstrapsigner,tokencleaner",
            "kubeconfig": conf,
            "leader-elect": "true",
            "requestheader-client-ca-file": f"{PKI}/front-proxy-ca.crt",
            "root-ca-file": f"{PKI}/ca.crt",
            "service-account-private-key-file": f"{PKI}/sa.key",
            "use-service-account-credentials": "true",
        }
        if s.get("pod_subnet"):
            flags |= {
                "allocate-node-cidrs": "true",
                "cluster-cidr": s["pod_subnet"],
                "service-cluster-ip-range": s["service_subnet"],
            }
    elif component == "kube-scheduler":
        conf = "/etc/kubernetes/scheduler.conf"
        flags = {
            "authentication-kubeconfig": conf,
            "authorization-kubeconfig": conf,
            "bind-address": "127.0.0.1",
            "kubeconfig": conf,
            "leader-elect": "true",
        }
    elif component == "etcd":
        host = _url_host(adv)
        members = s.get("etcd_members") or [{"name": s["node_name"], "address": adv}]
        flags = {
            "advertise-client-urls": f"https://{host}:2379",
            "cert-file": f"{PKI}/etcd/server.crt",
            "client-cert-auth": "true",
            "data-dir": "/var/lib/etcd",
            "initial-advertise-peer-urls": f"https://{host}:2380",
            "initial-cluster": ",".join(
                f"{m['name']}=https://{_url_host(m['address'])}:2380" for m in members
            ),
            "key-file": f"{PKI}/etcd/server.key",
            "listen-client-urls": f"https://{_url_host(loopback)}:2379,https://{host}:2379",
            "listen-metrics-urls": f"http://{_url_host(loopback)}:2381",
            "listen-peer-urls": f"https://{host}:2380",
            "name": s["node_name"],
            "peer-cert-file": f"{PKI}/etcd/peer.crt",
            "peer-client-cert-auth": "true",
            "peer-key-file": f"{PKI}/etcd/peer.key",
            "peer-trusted-ca-file": f"{PKI}/etcd/ca.crt",
            "snapshot-count": "10000",
            "trusted-ca-file": f"{PKI}/etcd/ca.crt",
        }
        if s.get("etcd_initial_cluster_state", "new") == "existing":
            flags["initial-cluster-state"] = "existing"
        if etcd_version(s) >= (3, 6, 0):
            flags |= {"feature-gates": "InitialCorruptCheck=true", "watch-progress-notify-interval": "5s"}
        else:
            flags |= {
                "experimental-initial-corrupt-check": "true",
                "experimental-watch-progress-notify-interval": "5s",
            }
    else:
        raise ControlPlaneError(f"unknown control-plane component '{component}'")
    return dict(sorted(flags.items()))


def hardening_flags(component: str, s: dict) -> dict[str, str]:
    """What Slipway adds beyond kubeadm, each switchable (docs/components/*.md say why)."""
    flags: dict[str, str] = {}
    if component == "etcd":
        return flags
    if not s.get("profiling", True):
        flags["profiling"] = "false"
    if s.get("tls_min_version"):
        flags["tls-min-version"] = s["tls_min_version"]
    if component == "kube-apiserver":
        if s.get("encryption_config"):
            flags["encryption-provider-config"] = s["encryption_config"]
        audit = s.get("audit") or {}
        if audit:
            flags |= {
                "audit-log-maxage": str(audit["max_age"]),
                "audit-log-maxbackup": str(audit["max_backup"]),
                "audit-log-maxsize": str(audit["max_size"]),
                "audit-log-path": f"{audit['log_dir']}/audit.log",
                "audit-policy-file": audit["policy_file"],
            }
    return flags


#: First patch of each minor whose kubeadm keeps the order of user arguments
#: (kubernetes/kubernetes#135400, in 1.36.0 and backported: #135853 is in v1.35.1).
#: The 1.34 backport (#135852) was merged too, but the first 1.34 patch carrying it
#: is unconfirmed, so 1.34 keeps the facts file's rule (everything sorted).
KEEPS_USER_ORDER_FROM = {35: 1, 36: 0}


def keeps_user_order(version: str) -> bool:
    """Whether kubeadm of this version keeps user arguments in their given order."""
    _major, minor, patch = versions.parse(version)
    if minor > max(KEEPS_USER_ORDER_FROM):
        return True
    return minor in KEEPS_USER_ORDER_FROM and patch >= KEEPS_USER_ORDER_FROM[minor]


def merge_flags(base: dict[str, str], extra: dict, keep_user_order: bool) -> list[str]:
    """``--name=value`` arguments: kubeadm's order rules (facts section 3.1).

    Without ``keep_user_order`` (kubeadm up to 1.35.0) defaults and user arguments
    are merged and sorted by name; with it (1.35.1 and later, see
    ``keeps_user_order``) defaults stay sorted, a user value replaces a default in
    place, and new user flags follow in the order given.  A user value of ``None``
    removes a flag.
    """
    extra = {str(k).lstrip("-"): v for k, v in (extra or {}).items()}
    merged = dict(base)
    for name, value in extra.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = _flag_value(value)
    if not keep_user_order:
        items = sorted(merged.items())
    else:
        items = [(k, merged[k]) for k in base if k in merged]
        items += [(k, merged[k]) for k in extra if k not in base and k in merged]
    return [f"--{name}={value}" for name, value in items]


def _flag_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


# ------------------------------------------------------------------ volumes and probes


def _volume(name: str, path: str, path_type: str, read_only: bool, mount: str | None = None):
    volume = {"hostPath": {"path": path, "type": path_type}, "name": name}
    mount_spec = {"mountPath": mount or path, "name": name}
    if read_only:
        mount_spec["readOnly"] = True
    return volume, mount_spec


def volumes(component: str, s: dict) -> tuple[list, list]:
    pairs = []
    if component in ("kube-apiserver", "kube-controller-manager"):
        pairs.append(_volume("k8s-certs", PKI, "DirectoryOrCreate", True))
        pairs.append(_volume("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate", True))
        for path in HOST_CA_DIRS:
            if path in (s.get("host_ca_dirs") or ()):
                pairs.append(_volume(path.strip("/").replace("/", "-"), path, "DirectoryOrCreate", True))
    if component == "kube-controller-manager":
        pairs.append(_volume("kubeconfig", "/etc/kubernetes/controller-manager.conf", "FileOrCreate", True))
        if _minor(s) <= 35:
            flex = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
            pairs.append(_volume("flexvolume-dir", flex, "DirectoryOrCreate", False))
    if component == "kube-scheduler":
        pairs.append(_volume("kubeconfig", "/etc/kubernetes/scheduler.conf", "FileOrCreate", True))
    if component == "etcd":
        pairs.append(_volume("etcd-data", "/var/lib/etcd", "DirectoryOrCreate", False))
        pairs.append(_volume("etcd-certs", f"{PKI}/etcd", "DirectoryOrCreate", False))
    if component == "kube-apiserver":
        if s.get("encryption_config"):
            directory = s["encryption_config"].rsplit("/", 1)[0]
            pairs.append(_volume("encryption-config", directory, "DirectoryOrCreate", True))
        audit = s.get("audit") or {}
        if audit:
            policy_dir = audit["policy_file"].rsplit("/", 1)[0]
            pairs.append(_volume("audit-policy", policy_dir, "DirectoryOrCreate", True))
            pairs.append(_volume("audit-log", audit["log_dir"], "DirectoryOrCreate", False))
    for extra in (s.get("extra_volumes") or {}).get(component, []):
        pairs.append(
            _volume(
                extra["name"],
                extra["hostPath"],
                extra.get("pathType", "DirectoryOrCreate"),
                bool(extra.get("readOnly", True)),
                extra.get("mountPath"),
            )
        )
    names = [p[0]["name"] for p in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ControlPlaneError(
            f"control_plane_extra_volumes: {component} has more than one volume named {', '.join(duplicates)}"
        )
    pairs.sort(key=lambda p: p[0]["name"])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _probe(path: str, host: str | None, scheme: str, kind: str, startup_threshold: int) -> dict:
    http = {"path": path, "port": "probe-port", "scheme": scheme}
    if host:
        http["host"] = host
    if kind == "readiness":
        timing = {"failureThreshold": 3, "periodSeconds": 1, "timeoutSeconds": 15}
    elif kind == "startup":
        timing = {
            "failureThreshold": startup_threshold,
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 15,
        }
    else:
        timing = {"failureThreshold": 8, "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 15}
    return {"httpGet": dict(sorted(http.items())), **timing}


def _probe_address(address: str) -> str:
    """kubeadm's getProbeAddress: an unspecified bind address leaves the probe host empty
    (the kubelet then probes the pod IP, which is the node's with hostNetwork)."""
    return "" if address in ("0.0.0.0", "::") else address  # noqa: S104 - a comparison, not a bind


def etcd_probe_endpoint(s: dict, flags: dict[str, str]) -> tuple[str, int, str]:
    """Host, port and scheme of etcd's probes: the first ``listen-metrics-urls`` URL
    (kubeadm's GetEtcdProbeEndpoint), loopback:2381 over HTTP by default."""
    loopback = "::1" if _is_ipv6(s["advertise_address"]) else "127.0.0.1"
    url = urllib.parse.urlsplit(flags.get("listen-metrics-urls", "").split(",")[0])
    if not url.scheme:
        return loopback, PROBE_PORTS["etcd"], "HTTP"
    try:
        port = url.port or PROBE_PORTS["etcd"]
    except ValueError:
        port = PROBE_PORTS["etcd"]
    return url.hostname or loopback, port, "HTTPS" if url.scheme == "https" else "HTTP"


def probes(component: str, s: dict, flags: dict[str, str]) -> dict:
    startup = -(-int(s.get("health_check_timeout_seconds", 240)) // 10)
    if component == "kube-apiserver":
        host = _probe_address(s["advertise_address"])
        return {
            "livenessProbe": _probe("/livez", host, "HTTPS", "liveness", startup),
            "readinessProbe": _probe("/readyz", host, "HTTPS", "readiness", startup),
            "startupProbe": _probe("/livez", host, "HTTPS", "startup", startup),
        }
    if component == "kube-controller-manager":
        host = _probe_address(flags.get("bind-address", "127.0.0.1"))
        return {
            "livenessProbe": _probe("/healthz", host, "HTTPS", "liveness", startup),
            "startupProbe": _probe("/healthz", host, "HTTPS", "startup", startup),
        }
    if component == "kube-scheduler":
        host = _probe_address(flags.get("bind-address", "127.0.0.1"))
        return {
            "livenessProbe": _probe("/livez", host, "HTTPS", "liveness", startup),
            "readinessProbe": _probe("/readyz", host, "HTTPS", "readiness", startup),
            "startupProbe": _probe("/livez", host, "HTTPS", "startup", startup),
        }
    host, _port, scheme = etcd_probe_endpoint(s, flags)
    return {
        "livenessProbe": _probe("/livez", host, scheme, "liveness", startup),
        "readinessProbe": _probe("/readyz", host, scheme, "readiness", startup),
        "startupProbe": _probe("/readyz", host, scheme, "startup", startup),
    }


# ------------------------------------------------------------------ pods


def component_flags(component: str, s: dict) -> list[str]:
    base = default_flags(component, s) | hardening_flags(component, s)
    base = dict(sorted(base.items()))
    extra = (s.get("extra_args") or {}).get(component, {})
    return merge_flags(base, extra, keeps_user_order(s["kubernetes_version"]))


def pod(component: str, s: dict) -> dict:
    release = versions.release(
        s["kubernetes_version"], s.get("image_repository") or versions.DEFAULT_IMAGE_REPOSITORY
    )
    args = component_flags(component, s)
    flags = dict(a[2:].split("=", 1) for a in args)
    mounts_volumes, mounts = volumes(component, s)
    if component == "kube-apiserver":
        port = int(s["api_port"])
    elif component == "etcd":
        port = etcd_probe_endpoint(s, flags)[1]
    else:
        port = PROBE_PORTS[component]
    container = {
        "command": [component, *args],
        "image": release["images"][component],
        "imagePullPolicy": "IfNotPresent",
        **probes(component, s, flags),
        "name": component,
        "ports": [{"containerPort": port, "name": "probe-port", "protocol": "TCP"}],
        "resources": (s.get("resources") or {}).get(component) or {"requests": dict(REQUESTS[component])},
        "volumeMounts": mounts,
    }
    annotations = {}
    adv = _url_host(s["advertise_address"])
    if component == "kube-apiserver":
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = (
            f"{adv}:{s['api_port']}"
        )
        if s.get("apiserver_config_hash"):
            # Encryption and audit files are read only at start: a changed file changes this.
            annotations[CONFIG_HASH_ANNOTATION] = s["apiserver_config_hash"]
    if component == "etcd":
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = f"https://{adv}:2379"
    metadata = {
        "labels": {"component": component, "tier": "control-plane"},
        "name": component,
        "namespace": "kube-system",
    }
    if annotations:
        metadata = {"annotations": annotations, **metadata}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [dict(sorted(container.items()))],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": mounts_volumes,
        },
        "status": {},
    }


def manifests(settings: dict) -> dict[str, dict]:
    """``{component: pod}`` for the four static pods of one control plane."""
    required = ("kubernetes_version", "node_name", "advertise_address", "api_port", "service_subnet")
    missing = [k for k in required if not settings.get(k)]
    if missing:
        raise ControlPlaneError(f"control-plane settings lack {', '.join(missing)}")
    try:
        return {component: pod(component, settings) for component in COMPONENTS}
    except versions.VersionError as exc:
        raise ControlPlaneError(f"slipway_kubernetes_version: {exc}") from None


# ------------------------------------------------------------------ kubeadm configuration


#: kubeadm phases Slipway does itself; `kubeadm init` runs with them skipped.
OWNED_PHASES = ("etcd", "control-plane")


def _kubeadm_extra_args(component: str, s: dict) -> list[dict]:
    """What Slipway sets beyond kubeadm's defaults, as v1beta4 ``extraArgs`` (a list)."""
    extra = hardening_flags(component, s)
    for name, value in ((s.get("extra_args") or {}).get(component) or {}).items():
        if value is not None:
            extra[str(name).lstrip("-")] = _flag_value(value)
    return [{"name": k, "value": v} for k, v in extra.items()]


def _kubeadm_extra_volumes(component: str, s: dict) -> list[dict]:
    plain = {**s, "encryption_config": "", "audit": {}, "extra_volumes": {}}
    base = {v["name"] for v in volumes(component, plain)[0]}
    vols, mounts = volumes(component, s)
    out = []
    for volume, mount in zip(vols, mounts, strict=True):
        if volume["name"] in base:
            continue
        out.append(
            {
                "name": volume["name"],
                "hostPath": volume["hostPath"]["path"],
                "mountPath": mount["mountPath"],
                "readOnly": bool(mount.get("readOnly")),
                "pathType": volume["hostPath"]["type"],
            }
        )
    return out


def kubeadm_config(s: dict, kubelet_configuration: dict) -> list[dict]:
    """InitConfiguration, ClusterConfiguration, JoinConfiguration and KubeletConfiguration (v1beta4)
    describing exactly the files Slipway writes, so kubeadm init/join/upgrade reproduce them."""
    version = "v" + ".".join(str(p) for p in versions.parse(s["kubernetes_version"]))
    node_registration = {
        "criSocket": s.get("cri_socket", "unix:///var/run/containerd/containerd.sock"),
        "name": s["node_name"],
        "kubeletExtraArgs": [{"name": "node-ip", "value": s["advertise_address"]}],
    }
    if s.get("taints") is not None:
        node_registration["taints"] = s["taints"]
    local_endpoint = {"advertiseAddress": s["advertise_address"], "bindPort": int(s["api_port"])}
    timeout = f"{int(s.get('health_check_timeout_seconds', 240))}s"
    # Our static pods already run when kubeadm init starts: the preflight checks
    # for free ports, absent manifests and an empty etcd directory do not apply.
    ignored = [f"Port-{p}" for p in (int(s["api_port"]), 10259, 10257, 10250, 2379, 2380)]
    ignored += [f"FileAvailable--etc-kubernetes-manifests-{c}.yaml" for c in COMPONENTS]
    ignored += ["DirAvailable--var-lib-etcd"]
    init = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "InitConfiguration",
        "localAPIEndpoint": local_endpoint,
        "nodeRegistration": {**node_registration, "ignorePreflightErrors": ignored},
        "skipPhases": list(OWNED_PHASES),
        "timeouts": {"controlPlaneComponentHealthCheck": timeout},
    }
    cluster = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "ClusterConfiguration",
        "clusterName": s["cluster_name"],
        "kubernetesVersion": version,
        "controlPlaneEndpoint": s.get("control_plane_endpoint")
        or f"{_url_host(s['advertise_address'])}:{s['api_port']}",
        "certificatesDir": PKI,
        "imageRepository": s.get("image_repository") or versions.DEFAULT_IMAGE_REPOSITORY,
        "encryptionAlgorithm": s.get("encryption_algorithm", "RSA-2048"),
        "networking": {
            "dnsDomain": s["dns_domain"],
            "serviceSubnet": s["service_subnet"],
            **({"podSubnet": s["pod_subnet"]} if s.get("pod_subnet") else {}),
        },
        "etcd": {"local": {"dataDir": "/var/lib/etcd", "extraArgs": _kubeadm_extra_args("etcd", s)}},
        "apiServer": {
            "certSANs": list(s.get("apiserver_cert_sans") or []),
            "extraArgs": _kubeadm_extra_args("kube-apiserver", s),
            "extraVolumes": _kubeadm_extra_volumes("kube-apiserver", s),
        },
        "controllerManager": {
            "extraArgs": _kubeadm_extra_args("kube-controller-manager", s),
            "extraVolumes": _kubeadm_extra_volumes("kube-controller-manager", s),
        },
        "scheduler": {
            "extraArgs": _kubeadm_extra_args("kube-scheduler", s),
            "extraVolumes": _kubeadm_extra_volumes("kube-scheduler", s),
        },
    }
    if s.get("skip_kube_proxy"):
        # A CNI that replaces kube-proxy (Cilium with kubeProxyReplacement): kubeadm
        # neither installs kube-proxy at init nor re-installs it on upgrade.
        cluster["proxy"] = {"disabled": True}
    join = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "controlPlane": {"localAPIEndpoint": local_endpoint},
        "nodeRegistration": node_registration,
        "skipPhases": ["control-plane-prepare/control-plane", "etcd-join"],
        "discovery": {"bootstrapToken": {"apiServerEndpoint": cluster["controlPlaneEndpoint"]}},
    }
    return [init, cluster, join, kubelet_configuration]


# ------------------------------------------------------------------ HA endpoint

KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip"


def kube_vip_pod(s: dict) -> dict:
    """kube-vip as a static pod on every control plane: ARP mode, control-plane VIP only.

    ``s``: ``vip`` (the address of slipway_control_plane_endpoint), ``api_port``,
    ``interface`` (empty: kube-vip finds the interface of the default route), and
    ``first`` (the node kubeadm init runs on uses super-admin.conf: admin.conf
    gets its rights only after init binds kubeadm:cluster-admins, facts pitfall 10).
    """
    try:
        ipaddress.ip_address(s["vip"])
    except ValueError as exc:
        raise ControlPlaneError(
            "slipway_control_plane_endpoint: kube_vip needs an IP address as the endpoint host,"
            f" not '{s['vip']}'"
        ) from exc
    kubeconfig = "/etc/kubernetes/super-admin.conf" if s.get("first") else "/etc/kubernetes/admin.conf"
    env = {
        "address": s["vip"],
        "cp_enable": "true",
        "cp_namespace": "kube-system",
        "port": str(s["api_port"]),
        "vip_arp": "true",
        "vip_cidr": "128" if ":" in s["vip"] else "32",
        "vip_leaderelection": "true",
        "vip_leaseduration": "5",
        "vip_leasename": "plndr-cp-lock",
        "vip_renewdeadline": "3",
        "vip_retryperiod": "1",
    }
    if s.get("interface"):
        env["vip_interface"] = s["interface"]
    container = {
        "args": ["manager"],
        "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "image": f"{KUBE_VIP_IMAGE}:v{versions.COMPONENTS['kube_vip']}",
        "imagePullPolicy": "IfNotPresent",
        "name": "kube-vip",
        "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
        "volumeMounts": [{"mountPath": "/etc/kubernetes/admin.conf", "name": "kubeconfig"}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-vip", "namespace": "kube-system"},
        "spec": {
            "containers": [container],
            "hostAliases": [{"hostnames": ["kubernetes"], "ip": "127.0.0.1"}],
            "hostNetwork": True,
            "volumes": [{"hostPath": {"path": kubeconfig, "type": "FileOrCreate"}, "name": "kubeconfig"}],
        },
        "status": {},
    }


LOCAL_LB_HEALTH_PORT = 8081


def local_lb_config(servers: list[str], port: int) -> str:
    """nginx.conf of the local API load balancer: TCP to every control plane, health on 127.0.0.1."""
    if not servers:
        raise ControlPlaneError("local_lb: the control_plane group is empty")
    upstream = "".join(f"    server {_url_host(a)}:{port};\n" for a in servers)
    return (
        "# Managed by Slipway (role api_lb): localhost -> every kube-apiserver.\n"
        "error_log stderr notice;\n"
        "worker_processes 2;\n"
        "events {\n  worker_connections 16384;\n}\n"
        "stream {\n"
        "  upstream kube_apiserver {\n    least_conn;\n" + upstream + "  }\n"
        "  server {\n"
        f"    listen 127.0.0.1:{port};\n"
        "    proxy_pass kube_apiserver;\n"
        "    proxy_connect_timeout 1s;\n"
        "    proxy_timeout 10m;\n"
        "  }\n"
        "}\n"
        "http {\n"
        "  server {\n"
        f"    listen 127.0.0.1:{LOCAL_LB_HEALTH_PORT};\n"
        "    location /healthz {\n      access_log off;\n      return 200;\n    }\n"
        "  }\n"
        "}\n"
    )


def local_lb_pod(config_path: str, config_hash: str) -> dict:
    """The nginx static pod of a worker; the config hash restarts it when the config changes."""
    probe = {"host": "127.0.0.1", "path": "/healthz", "port": LOCAL_LB_HEALTH_PORT, "scheme": "HTTP"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
            "labels": {"component": "api-lb", "tier": "node"},
            "name": "api-lb",
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [
                {
                    "image": f"docker.io/library/nginx:{versions.COMPONENTS['nginx']}",
                    "imagePullPolicy": "IfNotPresent",
                    "livenessProbe": {"httpGet": probe, "initialDelaySeconds": 5, "periodSeconds": 10},
                    "name": "api-lb",
                    "readinessProbe": {"httpGet": probe, "periodSeconds": 5},
                    "resources": {"requests": {"cpu": "25m", "memory": "32Mi"}},
                    "volumeMounts": [
                        {"mountPath": "/etc/nginx/nginx.conf", "name": "config", "readOnly": True}
                    ],
                }
            ],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"hostPath": {"path": config_path, "type": "File"}, "name": "config"}],
        },
        "status": {},
    }
