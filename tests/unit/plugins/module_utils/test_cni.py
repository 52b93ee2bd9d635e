# SPDX-License-Identifier: Apache-2.0
"""The CNI renderer: Cilium's Helm values, Calico's custom resources, the apply plan and its rules."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import cni, versions

BASE = {
    "cni": "cilium",
    "pod_subnet": "10.244.0.0/16",
    "service_subnet": "10.96.0.0/12",
    "endpoint_mode": "node",
    "endpoint": "",
    "first_node_ip": "192.0.2.11",
    "api_port": 6443,
    "node_count": 3,
}


def s(**changes) -> dict:
    return {**BASE, **changes}


# ------------------------------------------------------------------ Cilium


def test_cilium_pool_is_the_pod_subnet_by_default():
    values = cni.cilium_values(s())
    assert values["ipam"] == {
        "mode": "cluster-pool",
        "operator": {"clusterPoolIPv4PodCIDRList": ["10.244.0.0/16"], "clusterPoolIPv4MaskSize": 24},
    }
    assert values["kubeProxyReplacement"] is False
    assert "k8sServiceHost" not in values
    assert values["routingMode"] == "tunnel"
    assert values["tunnelProtocol"] == "vxlan"
    assert values["ipv4"] == {"enabled": True}
    assert values["ipv6"] == {"enabled": False}
    assert values["cni"] == {"binPath": "/opt/cni/bin", "confPath": "/etc/cni/net.d"}


def test_cilium_dual_stack_pools_and_masks():
    values = cni.cilium_values(s(pod_subnet="10.244.0.0/16,fd00:10:244::/56", cilium_mask_size_ipv6=112))
    assert values["ipam"]["operator"] == {
        "clusterPoolIPv4PodCIDRList": ["10.244.0.0/16"],
        "clusterPoolIPv4MaskSize": 24,
        "clusterPoolIPv6PodCIDRList": ["fd00:10:244::/56"],
        "clusterPoolIPv6MaskSize": 112,
    }
    assert values["ipv6"] == {"enabled": True}


def test_cilium_kubernetes_ipam_has_no_pool():
    values = cni.cilium_values(s(cilium_ipam_mode="kubernetes", pool_cidr="10.0.0.0/8"))
    assert values["ipam"] == {"mode": "kubernetes"}


@pytest.mark.parametrize(
    ("changes", "host", "port"),
    [
        ({}, "192.0.2.11", 6443),
        ({"api_port": 8443}, "192.0.2.11", 8443),
        ({"endpoint_mode": "kube_vip", "endpoint": "192.0.2.100:6443"}, "192.0.2.100", 6443),
        ({"endpoint_mode": "external", "endpoint": "k8s.example.org"}, "k8s.example.org", 6443),
        ({"endpoint_mode": "external", "endpoint": "[2001:db8::10]:7443"}, "2001:db8::10", 7443),
        ({"endpoint_mode": "local_lb"}, "127.0.0.1", 6443),
        ({"endpoint_mode": "local_lb", "api_port": 7443}, "127.0.0.1", 7443),
    ],
)
def test_kube_proxy_replacement_gets_the_api_endpoint(changes, host, port):
    values = cni.cilium_values(s(kube_proxy_replacement=True, **changes))
    assert values["kubeProxyReplacement"] is True
    assert (values["k8sServiceHost"], values["k8sServicePort"]) == (host, port)


def test_kube_proxy_replacement_without_any_host_is_refused():
    with pytest.raises(cni.CniError, match="cni_kube_proxy_replacement"):
        cni.cilium_values(s(kube_proxy_replacement=True, first_node_ip=""))


def test_cilium_native_routing_uses_the_pool_as_native_cidr():
    values = cni.cilium_values(s(cilium_tunnel="disabled", pool_cidr="10.244.0.0/17"))
    assert values["routingMode"] == "native"
    assert values["autoDirectNodeRoutes"] is True
    assert values["ipv4NativeRoutingCIDR"] == "10.244.0.0/17"
    assert "tunnelProtocol" not in values


def test_cilium_extra_values_merge_over_ours():
    values = cni.cilium_values(s(cilium_values={"hubble": {"enabled": True}, "ipam": {"operator": {"x": 1}}}))
    assert values["hubble"] == {"enabled": True}
    assert values["ipam"]["operator"]["x"] == 1
    assert values["ipam"]["operator"]["clusterPoolIPv4MaskSize"] == 24  # merged, not replaced


def test_one_node_gets_one_cilium_operator():
    assert cni.cilium_values(s(node_count=1))["operator"]["replicas"] == 1
    assert cni.cilium_values(s(node_count=3))["operator"]["replicas"] == 2


# ------------------------------------------------------------------ Calico


def test_calico_installation_and_apiserver():
    installation, api_server = cni.calico_resources(s(cni="calico"))
    assert installation["apiVersion"] == api_server["apiVersion"] == "operator.tigera.io/v1"
    assert (installation["kind"], installation["metadata"]) == ("Installation", {"name": "default"})
    assert (api_server["kind"], api_server["metadata"], api_server["spec"]) == (
        "APIServer",
        {"name": "default"},
        {},
    )
    assert installation["spec"]["cni"] == {"type": "Calico"}
    assert installation["spec"]["calicoNetwork"] == {
        "bgp": "Disabled",
        "ipPools": [
            {
                "name": "default-ipv4-ippool",
                "cidr": "10.244.0.0/16",
                "blockSize": 26,
                "encapsulation": "VXLANCrossSubnet",
                "natOutgoing": "Enabled",
                "nodeSelector": "all()",
            }
        ],
    }


def test_calico_bgp_ipip_dual_stack_is_refused_but_vxlan_dual_stack_renders():
    dual = s(cni="calico", pod_subnet="10.244.0.0/16,fd00:10:244::/56")
    with pytest.raises(cni.CniError, match="IPv4 only"):
        cni.calico_resources({**dual, "calico_encapsulation": "IPIP", "calico_bgp": True})
    pools = cni.calico_resources({**dual, "calico_encapsulation": "VXLAN"})[0]["spec"]["calicoNetwork"][
        "ipPools"
    ]
    assert [(p["name"], p["cidr"], p["blockSize"]) for p in pools] == [
        ("default-ipv4-ippool", "10.244.0.0/16", 26),
        ("default-ipv6-ippool", "fd00:10:244::/56", 122),
    ]


def test_calico_bgp_and_nat_switches_and_extra_spec():
    installation = cni.calico_resources(
        s(
            cni="calico",
            calico_encapsulation="IPIPCrossSubnet",
            calico_bgp=True,
            calico_nat_outgoing=False,
            calico_installation={"calicoNetwork": {"mtu": 1400}, "registry": "mirror.example/"},
        )
    )[0]
    network = installation["spec"]["calicoNetwork"]
    assert network["bgp"] == "Enabled"
    assert network["mtu"] == 1400
    assert network["ipPools"][0]["natOutgoing"] == "Disabled"
    assert network["ipPools"][0]["encapsulation"] == "IPIPCrossSubnet"
    assert installation["spec"]["registry"] == "mirror.example/"


# ------------------------------------------------------------------ plan


def test_calico_plan_orders_crds_operator_resources():
    plan = cni.plan(s(cni="calico"))
    assert plan["version"] == versions.COMPONENTS["calico"]
    assert [step["name"] for step in plan["steps"]] == ["crds", "operator", "resources"]
    assert [step.get("upstream") for step in plan["steps"]] == [
        "operator-crds.yaml",
        "tigera-operator.yaml",
        None,
    ]
    assert plan["steps"][0]["wait"][:3] == ["wait", "--for", "condition=Established"]
    assert (
        plan["source"]
        == f"https://raw.githubusercontent.com/projectcalico/calico/v{plan['version']}/manifests"
    )
    assert [r[-1] for r in plan["ready"]] == ["tigerastatus/calico", "tigerastatus/apiserver"]


def test_cilium_plan_and_sources():
    plan = cni.plan(s())
    assert plan["version"] == versions.COMPONENTS["cilium"]
    assert plan["chart"] == f"cilium-{plan['version']}.tgz"
    assert plan["source"] == "https://helm.cilium.io"
    assert plan["values"] == cni.cilium_values(s())
    assert cni.plan(s(offline_source="/srv/airgap/"))["source"] == f"/srv/airgap/cni/cilium-{plan['version']}"
    assert (
        cni.plan(s(offline_source="/srv/airgap", source="https://mirror/x/"))["source"] == "https://mirror/x"
    )


def test_none_plans_nothing():
    assert cni.plan(s(cni="none")) == {"cni": "none", "version": "", "source": "", "steps": [], "ready": []}


def test_an_unknown_cni_is_refused():
    with pytest.raises(cni.CniError, match="slipway_cni: 'flannel'"):
        cni.plan(s(cni="flannel"))


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("changes", "issue"),
    [
        ({"pool_cidr": "192.168.0.0/16"}, "cni-pool-outside-pod-subnet"),
        (
            {"pool_cidr": "10.0.0.0/8"},
            "cni-pool-outside-pod-subnet",
        ),  # contains the pod subnet: still outside
        ({"cni": "calico", "pool_cidr": "192.168.0.0/16"}, "cni-pool-outside-pod-subnet"),
        ({"pool_cidr": "10.244.0.0/17,10.244.128.0/17"}, "cni-pool-families"),
        ({"pool_cidr": "fd00::/64"}, "cni-pool-outside-pod-subnet"),
        ({"pool_cidr": "nonsense"}, "cni-pool-invalid"),
        ({"cilium_mask_size": 31}, "cni-cilium-mask-size"),
        ({"cilium_mask_size": "24x"}, "cni-cilium-mask-size"),
        ({"cni": "calico", "calico_block_size": 33}, "cni-calico-block-size"),
        ({"cni": "calico", "pool_cidr": "10.244.0.0/24", "calico_block_size": 22}, "cni-calico-block-size"),
        ({"cni": "calico", "calico_encapsulation": "None"}, "cni-calico-bgp"),
        ({"cni": "none", "kube_proxy_replacement": True}, "cni-kube-proxy-replacement"),
    ],
)
def test_each_rule(changes, issue):
    found = cni.issues(s(**changes))
    assert [i.id for i in found] == [issue], found
    assert found[0].variable.startswith("cni_")
    with pytest.raises(cni.CniError, match=found[0].variable):
        cni.plan(s(**changes))


def test_sizes_given_as_text_are_read():
    assert cni.issues(s(cilium_mask_size="26")) == []


def test_every_rendered_pool_is_inside_the_pod_subnet():
    """Property over a few shapes: whatever renders, its pools lie inside the pod subnet."""
    for pod in ("10.244.0.0/16", "172.16.0.0/12", "10.244.0.0/16,fd00:10:244::/56"):
        for pool in ("", pod, ",".join(p.replace("/16", "/17") for p in pod.split(","))):
            pod_nets = [ipaddress.ip_network(p) for p in pod.split(",")]
            values = cni.cilium_values(s(pod_subnet=pod, pool_cidr=pool))
            operator = values["ipam"]["operator"]
            listed = operator.get("clusterPoolIPv4PodCIDRList", []) + operator.get(
                "clusterPoolIPv6PodCIDRList", []
            )
            for net in map(ipaddress.ip_network, listed):
                assert any(net.version == p.version and net.subnet_of(p) for p in pod_nets)
