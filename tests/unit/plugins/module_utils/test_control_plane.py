# SPDX-License-Identifier: Apache-2.0
"""The control-plane renderer against kubeadm's facts (kubernetes-bootstrap-facts.md section 3).

The tables below are transcribed from the facts file: a flag that is missing, extra
or different fails the test.
"""

from __future__ import annotations

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import control_plane as cp

P = "/etc/kubernetes/pki"
ANY_V4 = "0.0.0.0"  # noqa: S104 - a flag value under test, nothing binds
MINORS = ("1.34.2", "1.35.2", "1.36.4")

APISERVER = {
    "advertise-address": "192.0.2.11",
    "allow-privileged": "true",
    "authorization-mode": "Node,RBAC",
    "client-ca-file": f"{P}/ca.crt",
    "enable-admission-plugins": "NodeRestriction",
    "enable-bootstrap-token-auth": "true",
    "etcd-servers": "https://127.0.0.1:2379",
    "etcd-cafile": f"{P}/etcd/ca.crt",
    "etcd-certfile": f"{P}/apiserver-etcd-client.crt",
    "etcd-keyfile": f"{P}/apiserver-etcd-client.key",
    "kubelet-client-certificate": f"{P}/apiserver-kubelet-client.crt",
    "kubelet-client-key": f"{P}/apiserver-kubelet-client.key",
    "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
    "proxy-client-cert-file": f"{P}/front-proxy-client.crt",
    "proxy-client-key-file": f"{P}/front-proxy-client.key",
    "requestheader-allowed-names": "front-proxy-client",
    "requestheader-client-ca-file": f"{P}/front-proxy-ca.crt",
    "requestheader-extra-headers-prefix": "X-Remote-Extra-",
    "requestheader-group-headers": "X-Remote-Group",
    "requestheader-username-headers": "X-Remote-User",
    "secure-port": "6443",
    "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
    "service-account-key-file": f"{P}/sa.pub",
    "service-account-signing-key-file": f"{P}/sa.key",
    "service-cluster-ip-range": "10.96.0.0/12",
    "tls-cert-file": f"{P}/apiserver.crt",
    "tls-private-key-file": f"{P}/apiserver.key",
}
KCM_CONF = "/etc/kubernetes/controller-manager.conf"
CONTROLLER_MANAGER = {
    "authentication-kubeconfig": KCM_CONF,
    "authorization-kubeconfig": KCM_CONF,
    "kubeconfig": KCM_CONF,
    "bind-address": "127.0.0.1",
    "client-ca-file": f"{P}/ca.crt",
    "root-ca-file": f"{P}/ca.crt",
    "cluster-signing-cert-file": f"{P}/ca.crt",
    "cluster-signing-key-file": f"{P}/ca.key",
    "requestheader-client-ca-file": f"{P}/front-proxy-ca.crt",
    "service-account-private-key-file": f"{P}/sa.key",
    "controllers": "*,bootstrapsigner,tokencleaner",
    "leader-elect": "true",
    "use-service-account-credentials": "true",
    "cluster-name": "kubernetes",
    "allocate-node-cidrs": "true",
    "cluster-cidr": "10.244.0.0/16",
    "service-cluster-ip-range": "10.96.0.0/12",
}
SCHED_CONF = "/etc/kubernetes/scheduler.conf"
SCHEDULER = {
    "authentication-kubeconfig": SCHED_CONF,
    "authorization-kubeconfig": SCHED_CONF,
    "kubeconfig": SCHED_CONF,
    "bind-address": "127.0.0.1",
    "leader-elect": "true",
}
ETCD = {
    "name": "cp1",
    "advertise-client-urls": "https://192.0.2.11:2379",
    "listen-client-urls": "https://127.0.0.1:2379,https://192.0.2.11:2379",
    "listen-peer-urls": "https://192.0.2.11:2380",
    "initial-advertise-peer-urls": "https://192.0.2.11:2380",
    "listen-metrics-urls": "http://127.0.0.1:2381",
    "initial-cluster": "cp1=https://192.0.2.11:2380",
    "data-dir": "/var/lib/etcd",
    "cert-file": f"{P}/etcd/server.crt",
    "key-file": f"{P}/etcd/server.key",
    "peer-cert-file": f"{P}/etcd/peer.crt",
    "peer-key-file": f"{P}/etcd/peer.key",
    "trusted-ca-file": f"{P}/etcd/ca.crt",
    "peer-trusted-ca-file": f"{P}/etcd/ca.crt",
    "client-cert-auth": "true",
    "peer-client-cert-auth": "true",
    "snapshot-count": "10000",
    # etcd >= 3.6 (every supported minor maps to etcd 3.6.x)
    "feature-gates": "InitialCorruptCheck=true",
    "watch-progress-notify-interval": "5s",
}
FACTS = {
    "kube-apiserver": APISERVER,
    "kube-controller-manager": CONTROLLER_MANAGER,
    "kube-scheduler": SCHEDULER,
    "etcd": ETCD,
}


def settings(version="1.36.4", **extra):
    """Plain kubeadm: every hardening switch off."""
    return {
        "kubernetes_version": version,
        "node_name": "cp1",
        "advertise_address": "192.0.2.11",
        "api_port": 6443,
        "service_subnet": "10.96.0.0/12",
        "pod_subnet": "10.244.0.0/16",
        "dns_domain": "cluster.local",
        "cluster_name": "kubernetes",
        "profiling": True,
        **extra,
    }


def flags(pod) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in pod["spec"]["containers"][0]["command"][1:])


@pytest.mark.parametrize("version", MINORS)
@pytest.mark.parametrize("component", cp.COMPONENTS)
def test_flags_equal_the_facts_table(version, component):
    pod = cp.manifests(settings(version))[component]
    assert pod["spec"]["containers"][0]["command"][0] == component
    assert flags(pod) == FACTS[component]


@pytest.mark.parametrize("version", MINORS)
def test_common_pod_shape(version):
    for component, pod in cp.manifests(settings(version)).items():
        spec = pod["spec"]
        assert pod["metadata"]["labels"] == {"component": component, "tier": "control-plane"}
        assert pod["metadata"]["namespace"] == "kube-system"
        assert spec["hostNetwork"] is True
        assert spec["priorityClassName"] == "system-node-critical"
        assert spec["priority"] == 2000001000
        assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
        container = spec["containers"][0]
        assert container["imagePullPolicy"] == "IfNotPresent"
        assert container["resources"] == {"requests": cp.REQUESTS[component]}
        assert container["ports"][0]["name"] == "probe-port"
        assert container["livenessProbe"]["httpGet"]["port"] == "probe-port"
        assert [v["name"] for v in spec["volumes"]] == sorted(v["name"] for v in spec["volumes"])


def test_annotations_and_probes():
    pods = cp.manifests(settings())
    assert pods["kube-apiserver"]["metadata"]["annotations"] == {
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "192.0.2.11:6443"
    }
    assert pods["etcd"]["metadata"]["annotations"] == {
        "kubeadm.kubernetes.io/etcd.advertise-client-urls": "https://192.0.2.11:2379"
    }
    api = pods["kube-apiserver"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"] == {
        "host": "192.0.2.11",
        "path": "/livez",
        "port": "probe-port",
        "scheme": "HTTPS",
    }
    assert api["readinessProbe"]["periodSeconds"] == 1
    assert api["startupProbe"]["failureThreshold"] == 24
    etcd = pods["etcd"]["spec"]["containers"][0]
    assert etcd["ports"][0]["containerPort"] == 2381
    assert etcd["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert "readinessProbe" not in pods["kube-controller-manager"]["spec"]["containers"][0]


def test_volumes_follow_the_facts():
    pods = cp.manifests(
        settings("1.35.2", host_ca_dirs=["/etc/ca-certificates", "/usr/share/ca-certificates"])
    )
    kcm = {v["name"]: v["hostPath"] for v in pods["kube-controller-manager"]["spec"]["volumes"]}
    assert kcm == {
        "ca-certs": {"path": "/etc/ssl/certs", "type": "DirectoryOrCreate"},
        "etc-ca-certificates": {"path": "/etc/ca-certificates", "type": "DirectoryOrCreate"},
        "flexvolume-dir": {
            "path": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec",
            "type": "DirectoryOrCreate",
        },
        "k8s-certs": {"path": P, "type": "DirectoryOrCreate"},
        "kubeconfig": {"path": KCM_CONF, "type": "FileOrCreate"},
        "usr-share-ca-certificates": {"path": "/usr/share/ca-certificates", "type": "DirectoryOrCreate"},
    }
    # 1.36 dropped the flex-volume mount (facts section 3.4).
    pods36 = cp.manifests(settings("1.36.4"))
    assert "flexvolume-dir" not in {v["name"] for v in pods36["kube-controller-manager"]["spec"]["volumes"]}
    etcd_mounts = {
        m["name"]: m.get("readOnly", False) for m in pods36["etcd"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert etcd_mounts == {"etcd-certs": False, "etcd-data": False}


def test_extra_args_win_remove_and_order_by_minor():
    extra = {
        "kube-apiserver": {
            "secure-port": 7443,
            "v": 2,
            "audit-log-path": "-",
            "enable-bootstrap-token-auth": None,
        }
    }
    new = cp.manifests(settings("1.36.4", extra_args=extra))["kube-apiserver"]["spec"]["containers"][0][
        "command"
    ]
    assert "--secure-port=7443" in new
    assert not any(a.startswith("--enable-bootstrap-token-auth") for a in new)
    # 1.36: defaults in place, new flags after them in the order given.
    assert new[-2:] == ["--v=2", "--audit-log-path=-"]
    old = cp.manifests(settings("1.35.0", extra_args=extra))["kube-apiserver"]["spec"]["containers"][0][
        "command"
    ]
    assert old[1:] == sorted(old[1:])
    assert sorted(old) == sorted(new)


@pytest.mark.parametrize(
    ("version", "kept"),
    [
        # kubernetes/kubernetes#135400 (1.36) and its backport #135853 (v1.35.1); 1.34 per the facts.
        ("1.34.2", False),
        ("1.34.9", False),
        ("1.35.0", False),
        ("1.35.1", True),
        ("1.35.2", True),
        ("1.36.0", True),
        ("1.36.4", True),
    ],
)
def test_user_argument_order_follows_the_kubeadm_patch(version, kept):
    assert cp.keeps_user_order(version) is kept
    extra = {
        "kube-scheduler": {"v": 2, "bind-address": ANY_V4, "authentication-tolerate-lookup-failure": True}
    }
    command = cp.manifests(settings(version, extra_args=extra))["kube-scheduler"]["spec"]["containers"][0][
        "command"
    ]
    if kept:
        assert command[1:] == [
            "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
            "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
            f"--bind-address={ANY_V4}",
            "--kubeconfig=/etc/kubernetes/scheduler.conf",
            "--leader-elect=true",
            "--v=2",
            "--authentication-tolerate-lookup-failure=true",
        ]
    else:
        assert command[1:] == sorted(command[1:])
        assert len(command) == 8


def test_hardening_switches_add_exactly_their_flags():
    audit = {
        "policy_file": "/etc/kubernetes/audit/policy.yaml",
        "log_dir": "/var/log/kubernetes/audit",
        "max_age": 30,
        "max_backup": 10,
        "max_size": 100,
    }
    hardened = settings(
        profiling=False,
        tls_min_version="VersionTLS12",
        encryption_config="/etc/kubernetes/encryption/config.yaml",
        audit=audit,
        apiserver_config_hash="ab" * 32,
    )
    pods = cp.manifests(hardened)
    api = flags(pods["kube-apiserver"])
    assert set(api) - set(APISERVER) == {
        "profiling",
        "tls-min-version",
        "encryption-provider-config",
        "audit-log-maxage",
        "audit-log-maxbackup",
        "audit-log-maxsize",
        "audit-log-path",
        "audit-policy-file",
    }
    assert set(flags(pods["kube-scheduler"])) - set(SCHEDULER) == {"profiling", "tls-min-version"}
    assert flags(pods["etcd"]) == ETCD
    names = {v["name"] for v in pods["kube-apiserver"]["spec"]["volumes"]}
    assert {"encryption-config", "audit-policy", "audit-log"} <= names
    assert pods["kube-apiserver"]["metadata"]["annotations"][cp.CONFIG_HASH_ANNOTATION] == "ab" * 32


def test_stacked_etcd_lists_every_member():
    members = [{"name": f"cp{i}", "address": f"192.0.2.1{i}"} for i in (1, 2, 3)]
    etcd = flags(cp.manifests(settings(etcd_members=members))["etcd"])
    assert etcd["initial-cluster"] == ",".join(f"cp{i}=https://192.0.2.1{i}:2380" for i in (1, 2, 3))
    assert "initial-cluster-state" not in etcd
    joining = flags(
        cp.manifests(settings(etcd_members=members, etcd_initial_cluster_state="existing"))["etcd"]
    )
    assert joining["initial-cluster-state"] == "existing"


def test_ipv6_addresses_are_bracketed():
    etcd = flags(cp.manifests(settings(advertise_address="2001:db8::11"))["etcd"])
    assert etcd["listen-client-urls"] == "https://[::1]:2379,https://[2001:db8::11]:2379"
    assert etcd["listen-metrics-urls"] == "http://[::1]:2381"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kubernetes_version": "1.31.0"}, "slipway_kubernetes_version"),
        ({"advertise_address": "not-an-ip"}, "slipway_node_ip"),
        ({"node_name": ""}, "node_name"),
        (
            {"extra_volumes": {"etcd": [{"name": "etcd-data", "hostPath": "/x"}]}},
            "control_plane_extra_volumes",
        ),
    ],
)
def test_bad_settings_name_the_variable(bad, message):
    with pytest.raises(cp.ControlPlaneError, match=message):
        cp.manifests(settings(**bad))


def test_kubeadm_configuration_describes_our_files():
    audit = {
        "policy_file": "/etc/kubernetes/audit/policy.yaml",
        "log_dir": "/var/log/kubernetes/audit",
        "max_age": 30,
        "max_backup": 10,
        "max_size": 100,
    }
    s = settings(
        profiling=False,
        tls_min_version="VersionTLS12",
        encryption_config="/etc/kubernetes/encryption/config.yaml",
        audit=audit,
        extra_args={"kube-scheduler": {"v": 2}},
    )
    kubelet = {"kind": "KubeletConfiguration", "clusterDNS": ["10.96.0.10"]}
    init, cluster, join, kubelet_doc = cp.kubeadm_config(s, kubelet)
    assert [d["kind"] for d in (init, cluster, join)] == [
        "InitConfiguration",
        "ClusterConfiguration",
        "JoinConfiguration",
    ]
    assert {d["apiVersion"] for d in (init, cluster, join)} == {"kubeadm.k8s.io/v1beta4"}
    assert kubelet_doc is kubelet
    assert init["skipPhases"] == ["etcd", "control-plane"]
    assert "Port-6443" in init["nodeRegistration"]["ignorePreflightErrors"]
    assert cluster["kubernetesVersion"] == "v1.36.4"
    assert cluster["controlPlaneEndpoint"] == "192.0.2.11:6443"
    assert cluster["networking"] == {
        "dnsDomain": "cluster.local",
        "serviceSubnet": "10.96.0.0/12",
        "podSubnet": "10.244.0.0/16",
    }
    # kubeadm's defaults plus extraArgs give exactly the flags of our manifests, so
    # `kubeadm upgrade` renders the same pods.
    pods = cp.manifests(s)
    sections = {
        "kube-apiserver": cluster["apiServer"],
        "kube-controller-manager": cluster["controllerManager"],
        "kube-scheduler": cluster["scheduler"],
        "etcd": cluster["etcd"]["local"],
    }
    for component, section in sections.items():
        rebuilt = cp.default_flags(component, s) | {a["name"]: a["value"] for a in section["extraArgs"]}
        assert rebuilt == flags(pods[component]), component
    volumes = {v["name"]: v for v in cluster["apiServer"]["extraVolumes"]}
    assert set(volumes) == {"audit-log", "audit-policy", "encryption-config"}
    assert volumes["audit-log"]["readOnly"] is False
    assert cluster["scheduler"]["extraVolumes"] == []


def test_kube_vip_static_pod():
    first = cp.kube_vip_pod({"vip": "10.77.0.10", "api_port": 6443, "interface": "eth0", "first": True})
    other = cp.kube_vip_pod({"vip": "10.77.0.10", "api_port": 6443, "interface": "", "first": False})
    env = {e["name"]: e["value"] for e in first["spec"]["containers"][0]["env"]}
    assert env["address"] == "10.77.0.10"
    assert env["vip_interface"] == "eth0"
    assert env["cp_enable"] == "true"
    assert "vip_interface" not in {e["name"] for e in other["spec"]["containers"][0]["env"]}
    # The init node uses super-admin.conf (admin.conf has no rights before init ends).
    assert first["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/kubernetes/super-admin.conf"
    assert other["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/kubernetes/admin.conf"
    with pytest.raises(cp.ControlPlaneError, match="slipway_control_plane_endpoint"):
        cp.kube_vip_pod({"vip": "api.example.com", "api_port": 6443})


@pytest.mark.parametrize("minor", ["1.34", "1.35", "1.36"])
def test_kube_vip_pod_validates(minor):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(cp.kube_vip_pod({"vip": "10.77.0.10", "api_port": 6443}), minor, strict=True)


def test_local_lb_config_and_pod():
    config = cp.local_lb_config(["192.0.2.11", "2001:db8::12"], 6443)
    assert "server 192.0.2.11:6443;" in config
    assert "server [2001:db8::12]:6443;" in config
    assert "listen 127.0.0.1:6443;" in config
    pod = cp.local_lb_pod("/etc/kubernetes/api-lb/nginx.conf", "cd" * 32)
    assert pod["metadata"]["annotations"][cp.CONFIG_HASH_ANNOTATION] == "cd" * 32
    assert pod["spec"]["volumes"][0]["hostPath"] == {
        "path": "/etc/kubernetes/api-lb/nginx.conf",
        "type": "File",
    }
    with pytest.raises(cp.ControlPlaneError, match="control_plane group is empty"):
        cp.local_lb_config([], 6443)


@pytest.mark.parametrize("component", ["kube-controller-manager", "kube-scheduler"])
@pytest.mark.parametrize(("bind", "host"), [(ANY_V4, None), ("::", None), ("192.0.2.11", "192.0.2.11")])
def test_probe_host_follows_bind_address_as_kubeadm(component, bind, host):
    """kubeadm's getProbeAddress: an unspecified bind address leaves the host empty.

    The kubelet then probes the pod IP (the node's, with hostNetwork)."""
    container = cp.manifests(settings(extra_args={component: {"bind-address": bind}}))[component]["spec"][
        "containers"
    ][0]
    for probe in ("livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"].get("host") == host


def test_etcd_probes_follow_listen_metrics_urls():
    """kubeadm's GetEtcdProbeEndpoint: the first listen-metrics-urls URL gives host, port and scheme."""
    extra = {"etcd": {"listen-metrics-urls": "https://192.0.2.11:2382,http://127.0.0.1:2381"}}
    container = cp.manifests(settings(extra_args=extra))["etcd"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 2382, "name": "probe-port", "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["host"] == "192.0.2.11"
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    default = cp.manifests(settings())["etcd"]["spec"]["containers"][0]
    assert default["livenessProbe"]["httpGet"] == {
        "host": "127.0.0.1",
        "path": "/livez",
        "port": "probe-port",
        "scheme": "HTTP",
    }
    assert default["ports"][0]["containerPort"] == 2381


@pytest.mark.parametrize(("skip", "expected"), [(True, {"disabled": True}), (False, None)])
def test_kube_proxy_left_out_only_when_the_cni_replaces_it(skip, expected):
    _init, cluster, _join, _kubelet = cp.kubeadm_config(settings(skip_kube_proxy=skip), {})
    assert cluster.get("proxy") == expected
