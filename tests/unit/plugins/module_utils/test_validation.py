# SPDX-License-Identifier: Apache-2.0
"""Every check of the preflight validation: one bad input each, its id, variable, message and fix.

A good inventory validates clean; each case changes one thing. A test also checks
that every check id in the module is exercised here, so a new check needs a case.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.slipway.cluster.plugins.action import validate_cluster
from ansible_collections.slipway.cluster.plugins.module_utils import validation

REPO = Path(__file__).resolve().parents[4]
DEFAULTS = yaml.safe_load((REPO / "roles/slipway/defaults/main.yml").read_text())

GOOD = {
    "groups": {
        "all": ["cp1", "w1"],
        "k8s_cluster": ["cp1", "w1"],
        "control_plane": ["cp1"],
        "workers": ["w1"],
    },
    "hostvars": {"cp1": {"slipway_node_ip": "192.0.2.11"}, "w1": {"slipway_node_ip": "192.0.2.21"}},
    "settings": {k: v for k, v in DEFAULTS.items() if k != "slipway_pki_dir"},
    "roles": {},
}


def with_(path: str, value):
    """A copy of GOOD with one value replaced: 'settings.slipway_cni', 'hostvars.cp1.slipway_node_ip'..."""
    case = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = case
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return case


DELETE = object()

# id, change, variable named, words in message or fix
CASES = [
    ("group-control-plane", with_("groups.control_plane", []), "control_plane", "no host"),
    ("group-k8s-cluster", with_("groups.k8s_cluster", ["cp1"]), "k8s_cluster", "not in group"),
    (
        "node-name-invalid",
        with_("hostvars.cp1.slipway_node_name", "CP_1"),
        "slipway_node_name (cp1)",
        "node name",
    ),
    ("node-name-duplicate", with_("hostvars.w1.slipway_node_name", "cp1"), "slipway_node_name (w1)", "cp1"),
    (
        "node-ip-invalid",
        with_("hostvars.cp1.slipway_node_ip", "300.1.1.1"),
        "slipway_node_ip (cp1)",
        "300.1.1.1",
    ),
    (
        "node-ip-duplicate",
        with_("hostvars.w1.slipway_node_ip", "192.0.2.11"),
        "slipway_node_ip (w1)",
        "192.0.2.11",
    ),
    ("cidr-invalid", with_("settings.slipway_pod_subnet", "10.244.0.0/33"), "slipway_pod_subnet", "CIDR"),
    (
        "cidr-host-bits",
        with_("settings.slipway_pod_subnet", "10.244.1.0/16"),
        "slipway_pod_subnet",
        "10.244.0.0/16",
    ),
    (
        "cidr-dual-stack",
        with_("settings.slipway_pod_subnet", "10.244.0.0/16,10.245.0.0/16"),
        "slipway_pod_subnet",
        "IPv6",
    ),
    (
        "service-subnet-size",
        with_("settings.slipway_service_subnet", "172.0.0.0/8"),
        "slipway_service_subnet",
        "/12",
    ),
    ("pod-subnet-size", with_("settings.slipway_pod_subnet", "10.244.0.0/30"), "slipway_pod_subnet", "/28"),
    (
        "subnet-overlap",
        with_("settings.slipway_pod_subnet", "10.96.0.0/16"),
        "slipway_pod_subnet",
        "overlaps",
    ),
    (
        "node-in-cluster-network",
        with_("hostvars.cp1.slipway_node_ip", "10.244.3.3"),
        "slipway_pod_subnet",
        "10.244.3.3",
    ),
    (
        "kubernetes-version",
        with_("settings.slipway_kubernetes_version", "1.31.4"),
        "slipway_kubernetes_version",
        "1.31",
    ),
    ("cni", with_("settings.slipway_cni", "flannel"), "slipway_cni", "cilium"),
    ("key-algorithm", with_("settings.slipway_key_algorithm", "DSA"), "slipway_key_algorithm", "RSA-2048"),
    ("api-port", with_("settings.slipway_api_port", 70000), "slipway_api_port", "6443"),
    (
        "dns-domain",
        with_("settings.slipway_dns_domain", "Cluster_Local"),
        "slipway_dns_domain",
        "cluster.local",
    ),
    (
        "cluster-name",
        with_("settings.slipway_cluster_name", "My Cluster"),
        "slipway_cluster_name",
        "lowercase",
    ),
    (
        "endpoint",
        with_("settings.slipway_control_plane_endpoint", "https://k8s:6443"),
        "slipway_control_plane_endpoint",
        "host[:port]",
    ),
    ("renewal-window", with_("settings.slipway_cert_renewal_days", 400), "slipway_cert_renewal_days", "365"),
    ("ca-validity", with_("settings.slipway_ca_validity_days", 100), "slipway_ca_validity_days", "expire"),
    (
        "validity-days",
        with_("settings.slipway_cert_validity_days", "a year"),
        "slipway_cert_validity_days",
        "integers",
    ),
    (
        "endpoint-mode",
        with_("settings.slipway_control_plane_endpoint_mode", "haproxy"),
        "slipway_control_plane_endpoint_mode",
        "kube_vip",
    ),
    (
        "endpoint-required",
        with_("settings.slipway_control_plane_endpoint_mode", "external"),
        "slipway_control_plane_endpoint",
        "host:port",
    ),
    (
        "kube-vip-address",
        with_(
            "settings",
            GOOD["settings"]
            | {
                "slipway_control_plane_endpoint_mode": "kube_vip",
                "slipway_control_plane_endpoint": "api.example.org:6443",
            },
        ),
        "slipway_control_plane_endpoint",
        "VIP",
    ),
    ("swap-behavior", with_("settings.slipway_swap_behavior", "on"), "slipway_swap_behavior", "NoSwap"),
    (
        "image-repository",
        with_("settings.slipway_image_repository", "https://registry.k8s.io"),
        "slipway_image_repository",
        "scheme",
    ),
    (
        "package-url",
        with_("settings.slipway_package_base_url", "pkgs.k8s.io"),
        "slipway_package_base_url",
        "https://pkgs.k8s.io",
    ),
    (
        "offline-source",
        with_("settings.slipway_offline_source", "/nonexistent/slipway-bundle"),
        "slipway_offline_source",
        "docs/airgap.md",
    ),
    (
        "containerd-method",
        with_("roles.containerd_install_method", "snap"),
        "containerd_install_method",
        "archive",
    ),
    ("containerd-version", with_("roles.containerd_version", "latest"), "containerd_version", "X.Y.Z"),
    (
        "containerd-too-old",
        with_("roles.containerd_version", "1.7.20"),
        "containerd_version",
        "containerd_allow_unsupported_version",
    ),
    (
        "swap-keep-limited",
        with_("roles", {"swap_keep": ["/dev/vda3"]})
        | {"settings": GOOD["settings"] | {"slipway_swap_behavior": "LimitedSwap"}},
        "swap_keep",
        "LimitedSwap",
    ),
    (
        "foreign-variable",
        with_("hostvars.cp1.kube_version", "v1.30.0"),
        "kube_version",
        "slipway_kubernetes_version",
    ),
    (
        "unknown-variable",
        with_("hostvars.cp1.slipway_kubernetes_verison", "1.36.4"),
        "slipway_kubernetes_verison",
        "slipway_kubernetes_version",
    ),
]


def run(case) -> list[validation.Problem]:
    problems, _warnings = validation.validate(
        case["groups"], case["hostvars"], case["settings"], (), case.get("roles", {})
    )
    return problems


def test_the_good_inventory_is_clean():
    assert run(GOOD) == []


@pytest.mark.parametrize(("check", "case", "variable", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_input_has_its_message(check, case, variable, words):
    problems = run(case)
    assert [p.id for p in problems] == [check], [p.line() for p in problems]
    problem = problems[0]
    assert problem.variable == variable
    assert words in problem.message + problem.fix
    assert problem.fix  # every problem says how to fix it
    assert problem.line().startswith(f"[{check}] {variable}: ")


def test_controller_python_dependency(monkeypatch):
    monkeypatch.setitem(validate_cluster.CONTROLLER_REQUIREMENTS, "slipway_no_such_library", (1, 0))
    problems = validate_cluster.controller_problems()
    assert [(p.id, p.variable) for p in problems] == [("controller-python", "slipway_no_such_library")]
    assert "pip install" in problems[0].fix or "setup" in problems[0].fix


def test_even_control_plane_count_is_a_warning():
    case = with_("groups.control_plane", ["cp1", "cp2"])
    case["groups"]["k8s_cluster"] += ["cp2"]
    case["hostvars"]["cp2"] = {"slipway_node_ip": "192.0.2.12"}
    problems, warnings = validation.validate(case["groups"], case["hostvars"], case["settings"])
    assert problems == []
    assert "odd number" in warnings[0]


def test_every_check_has_a_case():
    sources = (REPO / "plugins/module_utils/validation.py").read_text() + (
        REPO / "plugins/action/validate_cluster.py"
    ).read_text()
    ids = set(re.findall(r'Problem\(\s*"([a-z0-9-]+)"', sources))
    covered = {c[0] for c in CASES} | {"controller-python"}
    assert ids == covered
    assert len(ids) >= 30
