# SPDX-License-Identifier: Apache-2.0
"""Every check of the preflight validation: one bad input each, its id, variable, message and fix.

A good inventory validates clean; each case changes one thing and must yield exactly
one problem. Tests also check that the ids raised in the code, the ids in ``CHECKS``,
the ids exercised here and the ids in docs/validation.md are one and the same set,
so a new check needs a case and a line of documentation.
"""

from __future__ import annotations

import copy
import importlib.metadata
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.slipway.cluster.plugins.action import validate_cluster
from ansible_collections.slipway.cluster.plugins.module_utils import validation, versions

REPO = Path(__file__).resolve().parents[4]
DEFAULTS = yaml.safe_load((REPO / "roles/slipway/defaults/main.yml").read_text())
ROLE_VARIABLES = {r: v for r, v in validate_cluster.role_variables().items() if r != "slipway"}

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
    # installed controller distributions; None: missing
    "controller": {name: ".".join(map(str, v)) for name, v in validation.CONTROLLER_REQUIREMENTS.items()},
}

DELETE = object()


def with_(*changes):
    """A copy of GOOD with values replaced: with_(("settings.slipway_cni", "flannel"), ...)."""
    case = copy.deepcopy(GOOD)
    for path, value in changes:
        *parents, last = path.split(".")
        node = case
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return case


def three_control_planes(*changes):
    """GOOD with cp2 and cp3 added to control_plane, then the changes."""
    return with_(
        ("groups.all", ["cp1", "cp2", "cp3", "w1"]),
        ("groups.k8s_cluster", ["cp1", "cp2", "cp3", "w1"]),
        ("groups.control_plane", ["cp1", "cp2", "cp3"]),
        ("hostvars.cp2", {"slipway_node_ip": "192.0.2.12"}),
        ("hostvars.cp3", {"slipway_node_ip": "192.0.2.13"}),
        *changes,
    )


DUAL_SERVICE = "10.96.0.0/12,fd00:10:96::/112"

# id, bad input, variable named, words that must appear in the message, words in the fix
CASES = [
    ("group-control-plane", with_(("groups.control_plane", [])), "control_plane", "no host", "control_plane"),
    ("group-k8s-cluster", with_(("groups.k8s_cluster", ["cp1"])), "k8s_cluster", "w1 not in", "children"),
    ("group-overlap", with_(("groups.workers", ["w1", "cp1"])), "workers", "cp1 also in", "one group"),
    (
        "foreign-group",
        with_(("groups.kube_control_plane", ["cp1"])),
        "kube_control_plane",
        "another installer",
        "control_plane",
    ),
    (
        "node-name-invalid",
        with_(("hostvars.cp1.slipway_node_name", "CP_1")),
        "slipway_node_name (cp1)",
        "'CP_1'",
        "lowercase",
    ),
    (
        "node-name-duplicate",
        with_(("hostvars.w1.slipway_node_name", "cp1")),
        "slipway_node_name (w1)",
        "node name of cp1",
        "its own",
    ),
    (
        "node-metadata",
        with_(("hostvars.w1.slipway_node_taints", [{"key": "gpu", "effect": "NoWhere"}])),
        "slipway_node_labels / slipway_node_taints (w1)",
        "NoWhere",
        "NoSchedule",
    ),
    (
        "node-ip-invalid",
        with_(("hostvars.cp1.slipway_node_ip", "300.1.1.1")),
        "slipway_node_ip (cp1)",
        "300.1.1.1",
        "slipway_node_ip",
    ),
    (
        "node-ip-duplicate",
        with_(("hostvars.w1.slipway_node_ip", "192.0.2.11")),
        "slipway_node_ip (w1)",
        "address of cp1",
        "its own",
    ),
    (
        "node-ip-family",
        with_(("hostvars.w1.slipway_node_ip", "2001:db8::21")),
        "slipway_node_ip (w1)",
        "IPv6, but the cluster networks are IPv4",
        "IPv4 slipway_node_ip",
    ),
    (
        "cidr-invalid",
        with_(("settings.slipway_pod_subnet", "10.244.0.0/33")),
        "slipway_pod_subnet",
        "not a CIDR",
        "a.b.c.d/n",
    ),
    (
        "cidr-host-bits",
        with_(("settings.slipway_pod_subnet", "10.244.1.0/16")),
        "slipway_pod_subnet",
        "host bits",
        "10.244.0.0/16",
    ),
    (
        "cidr-dual-stack",
        with_(("settings.slipway_pod_subnet", "10.244.0.0/16,10.245.0.0/16")),
        "slipway_pod_subnet",
        "same IP family",
        "IPv6",
    ),
    (
        "stack-mismatch",
        with_(("settings.slipway_pod_subnet", "10.244.0.0/16,fd00:10:244::/56")),
        "slipway_service_subnet",
        "(IPv4) differ from slipway_pod_subnet's (IPv4,IPv6)",
        "same families",
    ),
    (
        "service-subnet-size",
        with_(("settings.slipway_service_subnet", "172.0.0.0/8")),
        "slipway_service_subnet",
        "16777216 addresses",
        "/12",
    ),
    (
        "pod-subnet-size",
        with_(("settings.slipway_pod_subnet", "10.244.0.0/30")),
        "slipway_pod_subnet",
        "/24",
        "10.244.0.0/16",
    ),
    (
        "pod-subnet-node-mask",
        with_(
            ("settings.slipway_pod_subnet", "10.244.0.0/16,fd00:244::/32"),
            ("settings.slipway_service_subnet", DUAL_SERVICE),
        ),
        "slipway_pod_subnet",
        "more than 16 bits",
        "/48",
    ),
    (
        "pod-subnet-nodes",
        with_(("settings.slipway_pod_subnet", "10.244.0.0/24")),
        "slipway_pod_subnet",
        "1 node pod range(s) of /24, but the inventory has 2 nodes",
        "larger",
    ),
    (
        "subnet-overlap",
        with_(("settings.slipway_pod_subnet", "10.96.0.0/16")),
        "slipway_pod_subnet",
        "overlaps",
        "non-overlapping",
    ),
    (
        "node-in-cluster-network",
        with_(("hostvars.cp1.slipway_node_ip", "10.244.3.3")),
        "slipway_pod_subnet",
        "10.244.3.3 of cp1",
        "node network",
    ),
    (
        "kubernetes-version-format",
        with_(("settings.slipway_kubernetes_version", "1.36")),
        "slipway_kubernetes_version",
        "X.Y.Z",
        versions.DEFAULT_KUBERNETES_VERSION,
    ),
    (
        "kubernetes-version-prerelease",
        with_(("settings.slipway_kubernetes_version", "1.36.0-rc.1")),
        "slipway_kubernetes_version",
        "pre-release",
        "released",
    ),
    (
        "kubernetes-version",
        with_(("settings.slipway_kubernetes_version", "1.31.4")),
        "slipway_kubernetes_version",
        "minor 1.31",
        "/".join(versions.SUPPORTED_MINORS),
    ),
    (
        "version-skew-control-plane",
        three_control_planes(("hostvars.cp2.slipway_kubernetes_version", "1.36.2")),
        "slipway_kubernetes_version",
        "cp2 1.36.2",
        "group_vars/all",
    ),
    (
        "version-skew-kubelet",
        with_(
            ("settings.slipway_kubernetes_version", "1.35.2"),
            ("hostvars.w1.slipway_kubernetes_version", "1.36.4"),
        ),
        "slipway_kubernetes_version (w1)",
        "newer than the control plane",
        "upgrade the control planes first",
    ),
    (
        "setting-differs",
        with_(("hostvars.w1.slipway_pod_subnet", "10.245.0.0/16")),
        "slipway_pod_subnet",
        "'10.245.0.0/16' on w1",
        "once for all hosts",
    ),
    ("cni", with_(("settings.slipway_cni", "flannel")), "slipway_cni", "'flannel'", "cilium"),
    (
        "key-algorithm",
        with_(("settings.slipway_key_algorithm", "DSA")),
        "slipway_key_algorithm",
        "'DSA'",
        "RSA-2048",
    ),
    ("api-port", with_(("settings.slipway_api_port", 70000)), "slipway_api_port", "'70000'", "6443"),
    (
        "api-port-conflict",
        with_(("settings.slipway_api_port", 10250)),
        "slipway_api_port",
        "kubelet API",
        "6443",
    ),
    (
        "dns-domain",
        with_(("settings.slipway_dns_domain", "Cluster_Local")),
        "slipway_dns_domain",
        "'Cluster_Local'",
        "cluster.local",
    ),
    (
        "cluster-name",
        with_(("settings.slipway_cluster_name", "My Cluster")),
        "slipway_cluster_name",
        "'My Cluster'",
        "lowercase",
    ),
    (
        "endpoint",
        with_(("settings.slipway_control_plane_endpoint", "https://k8s:6443")),
        "slipway_control_plane_endpoint",
        "host[:port]",
        "k8s.example.org:6443",
    ),
    (
        "endpoint-loopback",
        with_(("settings.slipway_control_plane_endpoint", "127.0.0.1:6443")),
        "slipway_control_plane_endpoint",
        "loopback",
        "local_lb",
    ),
    (
        "endpoint-mode",
        with_(("settings.slipway_control_plane_endpoint_mode", "haproxy")),
        "slipway_control_plane_endpoint_mode",
        "'haproxy'",
        "kube_vip",
    ),
    (
        "endpoint-required",
        with_(("settings.slipway_control_plane_endpoint_mode", "external")),
        "slipway_control_plane_endpoint",
        "mode external",
        "host:port",
    ),
    (
        "kube-vip-address",
        with_(
            ("settings.slipway_control_plane_endpoint_mode", "kube_vip"),
            ("settings.slipway_control_plane_endpoint", "api.example.org:6443"),
        ),
        "slipway_control_plane_endpoint",
        "not an IP",
        "VIP",
    ),
    (
        "kube-vip-conflict",
        with_(
            ("settings.slipway_control_plane_endpoint_mode", "kube_vip"),
            ("settings.slipway_control_plane_endpoint", "192.0.2.11:6443"),
        ),
        "slipway_control_plane_endpoint",
        "slipway_node_ip of cp1",
        "free address",
    ),
    (
        "kube-vip-port",
        with_(
            ("settings.slipway_control_plane_endpoint_mode", "kube_vip"),
            ("settings.slipway_control_plane_endpoint", "192.0.2.100:8443"),
        ),
        "slipway_control_plane_endpoint",
        "port 8443 differs from slipway_api_port 6443",
        "192.0.2.100:6443",
    ),
    (
        "cert-san-invalid",
        with_(("settings.slipway_apiserver_cert_sans", ["api.example.org", "Not A Name"])),
        "slipway_apiserver_cert_sans",
        "'Not A Name'",
        "YAML list",
    ),
    (
        "renewal-window",
        with_(("settings.slipway_cert_renewal_days", 400)),
        "slipway_cert_renewal_days",
        "400 days",
        "smaller",
    ),
    (
        "ca-validity",
        with_(("settings.slipway_ca_validity_days", 100)),
        "slipway_ca_validity_days",
        "expire",
        "at least",
    ),
    (
        "validity-days",
        with_(("settings.slipway_cert_validity_days", "a year")),
        "slipway_cert_validity_days",
        "'a year'",
        "integers",
    ),
    (
        "swap-behavior",
        with_(("settings.slipway_swap_behavior", "on")),
        "slipway_swap_behavior",
        "'on'",
        "NoSwap",
    ),
    (
        "runtime-endpoint",
        with_(("settings.slipway_container_runtime_endpoint", "/run/containerd/containerd.sock")),
        "slipway_container_runtime_endpoint",
        "unix://",
        "unix:///var/run/containerd/containerd.sock",
    ),
    (
        "image-repository",
        with_(("settings.slipway_image_repository", "https://registry.k8s.io")),
        "slipway_image_repository",
        "registry path",
        "without a scheme",
    ),
    (
        "package-url",
        with_(("settings.slipway_package_base_url", "pkgs.k8s.io")),
        "slipway_package_base_url",
        "'pkgs.k8s.io'",
        "https://pkgs.k8s.io",
    ),
    (
        "offline-source",
        with_(("settings.slipway_offline_source", "/nonexistent/slipway-bundle")),
        "slipway_offline_source",
        "/nonexistent/slipway-bundle",
        "docs/roles/kube_packages.md",
    ),
    (
        "offline-source-packages",
        with_(("settings.slipway_offline_source", "/")),
        "kube_packages_install_method",
        "cannot use the controller directory /",
        "kube_packages_install_method: binary",
    ),
    (
        "offline-source-binaries",
        with_(("settings.slipway_offline_source", "/"), ("roles.kube_packages_install_method", "binary")),
        "slipway_offline_source",
        "has no binaries/ directory",
        "artifacts bundle",
    ),
    (
        "containerd-method",
        with_(("roles.containerd_install_method", "snap")),
        "containerd_install_method",
        "'snap'",
        "archive",
    ),
    (
        "containerd-version",
        with_(("roles.containerd_version", "latest")),
        "containerd_version",
        "'latest'",
        "X.Y.Z",
    ),
    (
        "containerd-too-old",
        with_(("roles.containerd_version", "1.7.20")),
        "containerd_version",
        "1.7.20 is not supported with Kubernetes 1.36.4",
        "containerd_allow_unsupported_version",
    ),
    (
        "containerd-version-ignored",
        with_(("roles.containerd_install_method", "distro"), ("roles.containerd_version", "2.3.4")),
        "containerd_version",
        "ignores it",
        "archive",
    ),
    (
        "swap-keep-limited",
        with_(("roles.swap_keep", ["/dev/vda3"]), ("settings.slipway_swap_behavior", "LimitedSwap")),
        "swap_keep",
        "LimitedSwap",
        "remove swap_keep",
    ),
    (
        "foreign-variable",
        with_(("hostvars.cp1.kube_version", "v1.30.0")),
        "kube_version",
        "another installer",
        "slipway_kubernetes_version",
    ),
    (
        "removed-variable",
        with_(("hostvars.cp1.control_plane_endpoint_mode", "kube_vip")),
        "control_plane_endpoint_mode",
        "replaced",
        "slipway_control_plane_endpoint_mode",
    ),
    (
        "unknown-variable",
        with_(("hostvars.cp1.slipway_kubernetes_verison", "1.36.4")),
        "slipway_kubernetes_verison",
        "not a Slipway variable",
        "did you mean slipway_kubernetes_version?",
    ),
    (
        "unknown-role-variable",
        with_(("hostvars.cp1.containerd_verison", "2.3.4")),
        "containerd_verison",
        "role containerd",
        "did you mean containerd_version?",
    ),
    (
        "cni-pool-invalid",
        with_(("roles.cni_pool_cidr", "10.244.0.0/33")),
        "cni_pool_cidr",
        "'10.244.0.0/33' is not a network",
        "one network per IP family",
    ),
    (
        "cni-pool-outside-pod-subnet",
        with_(("roles.cni_pool_cidr", "10.0.0.0/8")),
        "cni_pool_cidr",
        "10.0.0.0/8 is not inside slipway_pod_subnet 10.244.0.0/16; Cilium would give pods",
        "leave cni_pool_cidr empty",
    ),
    (
        "cni-pool-families",
        with_(("roles.cni_pool_cidr", "10.244.0.0/17,10.244.128.0/17")),
        "cni_pool_cidr",
        "needs exactly one pool network per IP family",
        "one network per family",
    ),
    (
        "cni-kube-proxy-replacement",
        with_(("settings.slipway_cni", "calico"), ("roles.cni_kube_proxy_replacement", True)),
        "cni_kube_proxy_replacement",
        "slipway_cni is calico",
        "slipway_cni: cilium",
    ),
    (
        "cni-cilium-ipam-mode",
        with_(("roles.cni_cilium_ipam_mode", "multi-pool")),
        "cni_cilium_ipam_mode",
        "'multi-pool' is not an IPAM mode",
        "cluster-pool or kubernetes",
    ),
    (
        "cni-cilium-tunnel",
        with_(("roles.cni_cilium_tunnel", "wireguard")),
        "cni_cilium_tunnel",
        "'wireguard' is not a tunnel protocol",
        "vxlan, geneve, disabled",
    ),
    (
        "cni-cilium-mask-size",
        with_(("roles.cni_cilium_mask_size", 12)),
        "cni_cilium_mask_size",
        "/12 per node does not fit the pool 10.244.0.0/16",
        "between /16 and /30",
    ),
    (
        "cni-calico-encapsulation",
        with_(("settings.slipway_cni", "calico"), ("roles.cni_calico_encapsulation", "Geneve")),
        "cni_calico_encapsulation",
        "'Geneve' is not a Calico encapsulation",
        "VXLANCrossSubnet",
    ),
    (
        "cni-calico-bgp",
        with_(("settings.slipway_cni", "calico"), ("roles.cni_calico_encapsulation", "IPIP")),
        "cni_calico_bgp",
        "encapsulation IPIP needs BGP",
        "cni_calico_bgp: true",
    ),
    (
        "cni-calico-block-size",
        with_(("settings.slipway_cni", "calico"), ("roles.cni_calico_block_size", 18)),
        "cni_calico_block_size",
        "/18 is not a block size for the pool 10.244.0.0/16",
        "between /20 and /32",
    ),
    (
        "controller-python",
        with_(("controller.cryptography", None)),
        "cryptography",
        "missing on the controller",
        "requirements-dev.txt",
    ),
    (
        "controller-python-version",
        with_(("controller.ansible-core", "2.18.6")),
        "ansible-core",
        "2.18.6 on the controller is older than 2.19",
        "pip install 'ansible-core>=2.19'",
    ),
]
CASE_IDS = [c[0] for c in CASES]


def fake_versions(installed: dict):
    def version_of(name: str) -> str:
        if installed.get(name) is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed[name]

    return version_of


def run(case) -> tuple[list[validation.Problem], list[str]]:
    problems, warnings = validation.validate(
        case["groups"],
        case["hostvars"],
        case["settings"],
        (),
        case.get("roles", {}),
        role_variables=ROLE_VARIABLES,
    )
    problems += validation.controller_problems(fake_versions(case.get("controller", GOOD["controller"])))
    return problems, warnings


def test_the_good_inventory_is_clean():
    assert run(GOOD) == ([], [])


@pytest.mark.parametrize(("check", "case", "variable", "message", "fix"), CASES, ids=CASE_IDS)
def test_each_bad_input_has_its_message(check, case, variable, message, fix):
    problems, _warnings = run(case)
    assert [p.id for p in problems] == [check], [p.line() for p in problems]
    problem = problems[0]
    assert problem.variable == variable
    assert message in problem.message, problem.message
    assert fix in problem.fix, problem.fix
    assert problem.line() == f"[{check}] {variable}: {problem.message} Fix: {problem.fix}"
    assert validation.CHECKS[check]  # documented in the table


def test_every_case_is_its_own_input():
    """No two cases share a bad input: each id is exercised once, by a different change."""
    assert len(CASE_IDS) == len(set(CASE_IDS))
    inputs = [yaml.safe_dump({k: v for k, v in c[1].items()}, sort_keys=True) for c in CASES]
    assert len(inputs) == len(set(inputs))


def test_every_check_has_a_case_and_a_line_in_the_docs():
    source = (REPO / "plugins/module_utils/validation.py").read_text()
    raised = set(re.findall(r'Problem\(\s*"([a-z0-9-]+)"', source))
    # The CNI's rules live beside its renderer; validation turns each Issue into a Problem.
    raised |= set(re.findall(r'Issue\(\s*"([a-z0-9-]+)"', (REPO / "plugins/module_utils/cni.py").read_text()))
    docs = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (REPO / "docs/validation.md").read_text(), re.M))
    assert raised == set(validation.CHECKS)
    assert set(CASE_IDS) == set(validation.CHECKS)
    assert docs == set(validation.CHECKS)
    assert len(validation.CHECKS) >= 32


def test_the_action_plugin_raises_no_check_of_its_own():
    """Every id comes from module_utils, so the table and the tests above see all of them."""
    source = (REPO / "plugins/action/validate_cluster.py").read_text()
    assert not re.findall(r'Problem\(\s*"', source)


def test_an_even_control_plane_count_is_a_warning():
    case = three_control_planes(
        ("groups.all", ["cp1", "cp2", "w1"]),
        ("groups.k8s_cluster", ["cp1", "cp2", "w1"]),
        ("groups.control_plane", ["cp1", "cp2"]),
    )
    del case["hostvars"]["cp3"]
    problems, warnings = run(case)
    assert problems == []
    assert len(warnings) == 1
    assert "2 hosts" in warnings[0]
    assert "odd number" in warnings[0]


def test_more_than_seven_etcd_members_is_a_warning():
    planes = [f"cp{i}" for i in range(1, 10)]
    case = with_(
        ("groups.all", [*planes, "w1"]),
        ("groups.k8s_cluster", [*planes, "w1"]),
        ("groups.control_plane", planes),
        (
            "hostvars",
            {h: {"slipway_node_ip": f"192.0.2.{10 + i}"} for i, h in enumerate(planes, 1)}
            | {"w1": {"slipway_node_ip": "192.0.2.41"}},
        ),
    )
    problems, warnings = run(case)
    assert problems == []
    assert [w for w in warnings if "9 members" in w and "at most 7" in w]


def test_an_allowed_unsupported_containerd_is_a_warning():
    case = with_(("roles.containerd_version", "1.7.20"), ("roles.containerd_allow_unsupported_version", True))
    problems, warnings = run(case)
    assert problems == []
    assert "containerd_allow_unsupported_version" in warnings[0]


@pytest.mark.parametrize(
    "change",
    [
        ("settings.slipway_pod_subnet", "10.244.0.0/16,fd00:10:244::/56"),
        ("settings.slipway_control_plane_endpoint", "[2001:db8::10]:6443"),
        ("settings.slipway_control_plane_endpoint", "api.example.org"),
        ("settings.slipway_apiserver_cert_sans", ["*.example.org", "2001:db8::1", "10.0.0.1"]),
        ("roles.control_plane_extra_args", {"kube-controller-manager": {"node-cidr-mask-size": "26"}}),
        ("hostvars.w1.slipway_kubernetes_version", "1.34.2"),
        ("roles.containerd_version", "2.3.4"),
        ("roles.cni_pool_cidr", "10.244.128.0/17"),
        ("roles.cni_kube_proxy_replacement", True),
        ("roles.cni_cilium_tunnel", "disabled"),
        ("roles.cni_cilium_ipam_mode", "kubernetes"),
        ("settings.slipway_cni", "none"),
    ],
    ids=lambda c: c[0] if isinstance(c, str) else "",
)
def test_good_variations_stay_clean(change):
    case = with_(change)
    if "slipway_pod_subnet" in change[0]:
        case["settings"]["slipway_service_subnet"] = DUAL_SERVICE
    problems, _warnings = run(case)
    assert problems == [], [p.line() for p in problems]


def test_a_lower_node_mask_makes_a_small_pod_subnet_fit():
    small = ("settings.slipway_pod_subnet", "10.244.0.0/24")
    assert [p.id for p in run(with_(small))[0]] == ["pod-subnet-nodes"]
    masked = with_(
        small, ("roles.control_plane_extra_args", {"kube-controller-manager": {"node-cidr-mask-size": "26"}})
    )
    assert run(masked)[0] == []


def test_the_controller_requirements_are_met_here():
    """The real controller of this checkout passes its own check (importlib.metadata, no fakes)."""
    assert validation.controller_problems() == []


def test_role_variables_come_from_every_roles_argument_specs():
    roles = validate_cluster.role_variables()
    assert "slipway_kubernetes_version" in roles["slipway"]
    assert "containerd_version" in roles["containerd"]
    assert {"preflight_skip", "preflight_check_package_source"} <= roles["preflight"]


def test_role_variables_are_checked_per_host():
    """A group sets the distro method, one host the archive with an old version: only that host is named."""
    case = with_(
        ("roles.containerd_install_method", "distro"),
        ("hostvars.w1.containerd_install_method", "archive"),
        ("hostvars.w1.containerd_version", "1.7.20"),
    )
    problems, _warnings = run(case)
    assert [(p.id, p.variable) for p in problems] == [("containerd-too-old", "containerd_version (w1)")]


@pytest.mark.parametrize(
    "changes",
    [
        [
            ("settings.slipway_cni", "calico"),
            ("roles.cni_calico_encapsulation", "IPIP"),
            ("roles.cni_calico_bgp", True),
        ],
        [
            ("settings.slipway_cni", "calico"),
            ("roles.cni_calico_block_size", 24),
            ("roles.cni_calico_bgp", True),
        ],
        # kubernetes IPAM takes each node's podCIDR from kubeadm: a pool setting is not used, not checked
        [("roles.cni_cilium_ipam_mode", "kubernetes"), ("roles.cni_pool_cidr", "10.0.0.0/8")],
        # dual-stack: one pool network per family, both inside the pod subnet
        [
            ("settings.slipway_pod_subnet", "10.244.0.0/16,fd00:10:244::/56"),
            ("settings.slipway_service_subnet", DUAL_SERVICE),
            ("roles.cni_pool_cidr", "10.244.0.0/17,fd00:10:244::/64"),
        ],
    ],
    ids=["calico-ipip-bgp", "calico-block-24", "cilium-kubernetes-ipam", "dual-stack-pool"],
)
def test_good_cni_variations_stay_clean(changes):
    problems, _warnings = run(with_(*changes))
    assert problems == [], [p.line() for p in problems]


def test_a_calico_ipip_pool_cannot_carry_ipv6():
    case = with_(
        ("settings.slipway_cni", "calico"),
        ("settings.slipway_pod_subnet", "10.244.0.0/16,fd00:10:244::/56"),
        ("settings.slipway_service_subnet", DUAL_SERVICE),
        ("roles.cni_calico_encapsulation", "IPIPCrossSubnet"),
        ("roles.cni_calico_bgp", True),
    )
    problems, _warnings = run(case)
    assert [(p.id, p.variable) for p in problems] == [
        ("cni-calico-encapsulation", "cni_calico_encapsulation")
    ]
    assert "IPv4 only" in problems[0].message


def test_kube_proxy_replacement_through_one_control_plane_is_a_warning():
    case = three_control_planes(("roles.cni_kube_proxy_replacement", True))
    problems, warnings = run(case)
    assert problems == []
    assert [w for w in warnings if "first control plane only" in w]
    kube_vip = three_control_planes(
        ("roles.cni_kube_proxy_replacement", True),
        ("settings.slipway_control_plane_endpoint_mode", "kube_vip"),
        ("settings.slipway_control_plane_endpoint", "192.0.2.100:6443"),
    )
    assert not [w for w in run(kube_vip)[1] if "first control plane only" in w]


def test_a_cni_variable_set_on_one_host_names_it():
    problems, _warnings = run(with_(("hostvars.cp1.cni_pool_cidr", "10.0.0.0/8")))
    assert [(p.id, p.variable) for p in problems] == [("cni-pool-outside-pod-subnet", "cni_pool_cidr (cp1)")]
