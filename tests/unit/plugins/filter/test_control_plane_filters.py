# SPDX-License-Identifier: Apache-2.0
"""The control-plane filters: what templates get, and AnsibleFilterError naming the variable."""

from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter import control_plane as f
from ansible_collections.slipway.cluster.plugins.module_utils import control_plane as cp


def settings(**extra):
    return {
        "kubernetes_version": "1.36.4",
        "node_name": "cp1",
        "advertise_address": "192.0.2.11",
        "api_port": 6443,
        "service_subnet": "10.96.0.0/12",
        "pod_subnet": "10.244.0.0/16",
        "dns_domain": "cluster.local",
        "cluster_name": "kubernetes",
        **extra,
    }


def test_every_filter_is_registered():
    assert set(f.FilterModule().filters()) == {
        "control_plane_manifests",
        "kubeadm_config",
        "kube_vip_manifest",
        "local_lb_config",
        "local_lb_manifest",
    }


def test_manifests_are_the_renderer_s_and_render_byte_identically():
    pods = f.control_plane_manifests(settings())
    assert pods == cp.manifests(settings())
    assert list(pods) == list(cp.COMPONENTS)
    # The role writes them with to_nice_yaml(sort_keys=true): the same input gives the same bytes.
    first = {k: yaml.safe_dump(v, sort_keys=True) for k, v in pods.items()}
    second = {k: yaml.safe_dump(v, sort_keys=True) for k, v in f.control_plane_manifests(settings()).items()}
    assert first == second


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kubernetes_version": "1.30.1"}, "slipway_kubernetes_version"),
        ({"advertise_address": "cp1.example"}, "slipway_node_ip"),
        ({"service_subnet": ""}, "service_subnet"),
        ({"dns_domain": None}, "dns_domain"),
        ({"extra_volumes": {"kube-apiserver": [{"name": "k8s-certs", "hostPath": "/x"}]}}, "extra_volumes"),
    ],
)
def test_bad_settings_raise_a_filter_error_naming_the_setting(bad, message):
    s = settings(**bad)
    if bad.get("dns_domain", "") is None:
        del s["dns_domain"]
    with pytest.raises(AnsibleFilterError, match=message):
        f.control_plane_manifests(s)


def test_manifests_reject_what_is_not_a_dictionary():
    with pytest.raises(AnsibleFilterError, match="settings dictionary"):
        f.control_plane_manifests("1.36.4")


def test_kubeadm_config_filter():
    docs = f.kubeadm_config(settings(), {"kind": "KubeletConfiguration"})
    assert [d["kind"] for d in docs] == [
        "InitConfiguration",
        "ClusterConfiguration",
        "JoinConfiguration",
        "KubeletConfiguration",
    ]
    with pytest.raises(AnsibleFilterError, match="kubeadm configuration"):
        f.kubeadm_config({"node_name": "cp1"}, {})


def test_kube_vip_and_local_lb_filters():
    pod = f.kube_vip_manifest({"vip": "192.0.2.10", "api_port": 6443})
    assert pod["metadata"]["name"] == "kube-vip"
    with pytest.raises(AnsibleFilterError, match="slipway_control_plane_endpoint"):
        f.kube_vip_manifest({"vip": "api.example", "api_port": 6443})
    assert "server 192.0.2.11:6443;" in f.local_lb_config(("192.0.2.11",), "6443")
    with pytest.raises(AnsibleFilterError, match="control_plane group is empty"):
        f.local_lb_config([], 6443)
    assert f.local_lb_manifest("/etc/x.conf", "ab")["metadata"]["annotations"] == {
        cp.CONFIG_HASH_ANNOTATION: "ab"
    }
