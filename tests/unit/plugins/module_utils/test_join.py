# SPDX-License-Identifier: Apache-2.0
"""Membership logic: JoinConfiguration, token Secret, labels and taints, smoke readings."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import join

TOKEN = "abcdef.0123456789abcdef"  # noqa: S105 a made-up token for the tests
HASH = "sha256:" + "a" * 64
KC = "/etc/kubernetes/admin.conf"


def settings(**over):
    base = {
        "endpoint": "10.0.0.1:6443",
        "token": TOKEN,
        "ca_cert_hashes": [HASH],
        "node_name": "w1",
        "cri_socket": "unix:///run/containerd/containerd.sock",
        "kubelet_args": {"node-ip": "10.0.0.21"},
    }
    base.update(over)
    return base


def test_join_configuration_shape():
    config = join.join_configuration(settings(skip_phases=["preflight"], ignore_preflight_errors=["Swap"]))
    assert config["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert config["kind"] == "JoinConfiguration"
    token = config["discovery"]["bootstrapToken"]
    assert token == {"apiServerEndpoint": "10.0.0.1:6443", "token": TOKEN, "caCertHashes": [HASH]}
    reg = config["nodeRegistration"]
    assert reg["name"] == "w1"
    assert reg["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert reg["taints"] == []
    assert reg["kubeletExtraArgs"] == [{"name": "node-ip", "value": "10.0.0.21"}]
    assert reg["ignorePreflightErrors"] == ["Swap"]
    assert config["skipPhases"] == ["preflight"]


def test_join_configuration_redacted_has_no_token():
    config = join.join_configuration(settings(redact=True))
    assert "token" not in config["discovery"]["bootstrapToken"]
    assert TOKEN not in json.dumps(config)
    assert "skipPhases" not in config


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"token": "ABCDEF.0123456789abcdef"}, "token"),
        ({"token": "abcdef0123456789abcdef"}, "token"),
        ({"token": None}, "token"),
        ({"ca_cert_hashes": []}, "ca_cert_hashes"),
        ({"ca_cert_hashes": ["sha1:" + "a" * 40]}, "ca_cert_hashes"),
        ({"endpoint": "10.0.0.1"}, "host:port"),
        ({"endpoint": "fd00::1:6443"}, "host:port"),
        ({"node_name": ""}, "node_name"),
    ],
)
def test_join_configuration_rejects(over, words):
    with pytest.raises(join.JoinError, match=words):
        join.join_configuration(settings(**over))


def test_join_configuration_ipv6_endpoint():
    assert (
        join.join_configuration(settings(endpoint="[fd00::1]:6443"))["discovery"]["bootstrapToken"][
            "apiServerEndpoint"
        ]
        == "[fd00::1]:6443"
    )


def test_bootstrap_token_secret_matches_kubeadm():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    secret = join.bootstrap_token_secret(TOKEN, 15, now, "slipway join of w1")
    assert secret["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    data = secret["stringData"]
    assert data["token-id"] == "abcdef"
    assert data["token-secret"] == "0123456789abcdef"
    assert data["expiration"] == "2026-01-02T03:19:05Z"
    assert data["usage-bootstrap-authentication"] == "true"
    assert data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"
    assert data["description"] == "slipway join of w1"


@pytest.mark.parametrize("ttl", [0, -5, "15", True])
def test_bootstrap_token_secret_rejects_ttl(ttl):
    with pytest.raises(join.JoinError, match="join_token_ttl_minutes"):
        join.bootstrap_token_secret(TOKEN, ttl, datetime.now(UTC))


@pytest.mark.parametrize(
    ("labels", "taints", "fragment"),
    [
        ({"Disk_": "ssd"}, None, "name part"),
        ({"Example.COM/disk": "ssd"}, None, "prefix"),
        ({"disk": "s" * 64}, None, "label value"),
        ({"disk": 1}, None, "quote it"),
        (["disk=ssd"], None, "mapping"),
        (None, {"key": "a"}, "list"),
        (None, [{"key": "dedicated", "effect": "NoScheduled"}], "effect"),
        (None, [{"key": "dedicated", "effect": "NoSchedule", "operator": "Equal"}], "unknown fields"),
        (None, [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}], "repeats"),
        (None, ["dedicated=gpu:NoSchedule"], "mapping"),
    ],
)
def test_check_metadata_names_the_variable(labels, taints, fragment):
    problems = join.check_metadata("w1", labels, taints)
    assert problems, (labels, taints)
    assert any(fragment in p for p in problems), problems
    assert all(p.startswith("w1: slipway_node_") for p in problems)


def test_check_metadata_accepts_good_values():
    assert (
        join.check_metadata(
            "w1",
            {"disk": "ssd", "example.com/zone": "a-1", "node-role.kubernetes.io/worker": ""},
            [
                {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                {"key": "x", "effect": "NoExecute"},
            ],
        )
        == []
    )
    assert join.check_metadata("w1", None, None) == []


def node(name, labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints} if taints else {}}


def test_metadata_commands_control_plane_gets_kubeadm_marks():
    wanted = {"cp2": join.desired_metadata(None, None, True)}
    plan = join.metadata_commands({"items": [node("cp2")]}, wanted, KC)
    assert plan["missing"] == []
    argvs = [c["argv"] for c in plan["commands"]]
    assert argvs == [
        [
            "kubectl",
            "--kubeconfig",
            KC,
            "label",
            "node",
            "cp2",
            "--overwrite",
            "node-role.kubernetes.io/control-plane=",
            "node.kubernetes.io/exclude-from-external-load-balancers=",
        ],
        [
            "kubectl",
            "--kubeconfig",
            KC,
            "taint",
            "node",
            "cp2",
            "--overwrite",
            "node-role.kubernetes.io/control-plane:NoSchedule",
        ],
    ]


def test_metadata_commands_nothing_when_in_step():
    wanted = {
        "cp1": join.desired_metadata(None, None, True),
        "w1": join.desired_metadata(
            {"disk": "ssd"}, [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}], False
        ),
    }
    nodes = {
        "items": [
            node("cp1", dict(join.CONTROL_PLANE_LABELS, other="x"), [dict(join.CONTROL_PLANE_TAINT)]),
            node("w1", {"disk": "ssd"}, [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
        ]
    }
    assert join.metadata_commands(json.dumps(nodes), wanted, KC) == {"commands": [], "missing": []}


def test_metadata_commands_untaint_control_plane_and_change_value():
    wanted = {
        "cp1": join.desired_metadata(None, [], True),
        "w1": join.desired_metadata(
            {"disk": "nvme"}, [{"key": "gpu", "value": "no", "effect": "NoSchedule"}], False
        ),
        "w2": join.desired_metadata(None, None, False),
    }
    nodes = {
        "items": [
            node("cp1", dict(join.CONTROL_PLANE_LABELS), [dict(join.CONTROL_PLANE_TAINT)]),
            node(
                "w1",
                {"disk": "ssd"},
                [
                    {"key": "gpu", "value": "yes", "effect": "NoSchedule"},
                    {"key": "foreign", "effect": "NoSchedule"},
                ],
            ),
        ]
    }
    plan = join.metadata_commands(nodes, wanted, KC)
    assert plan["missing"] == ["w2"]
    by = {(c["node"], c["argv"][3]): c["argv"][7:] for c in plan["commands"]}
    assert by == {
        ("cp1", "taint"): ["node-role.kubernetes.io/control-plane:NoSchedule-"],
        ("w1", "label"): ["disk=nvme"],
        # the foreign taint is not ours: kept
        ("w1", "taint"): ["gpu=no:NoSchedule"],
    }


def test_smoke_nodes_and_pods():
    nodes = {
        "items": [
            {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {
                "metadata": {"name": "b"},
                "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]},
            },
            {"metadata": {"name": "z"}, "status": {}},
        ]
    }
    report = join.smoke_nodes(json.dumps(nodes), ["a", "b", "c"])
    assert report == {
        "ready": ["a"],
        "not_ready": ["b (KubeletNotReady)", "z (no Ready condition)"],
        "missing": ["c"],
        "unexpected": ["z"],
    }
    pods = {
        "items": [
            {
                "metadata": {"namespace": "s", "name": "p1"},
                "spec": {"nodeName": "b"},
                "status": {"phase": "Running", "podIP": "10.244.1.2", "containerStatuses": [{"ready": True}]},
            },
            {
                "metadata": {"namespace": "s", "name": "p2"},
                "spec": {"nodeName": "a"},
                "status": {"phase": "Running", "podIP": "10.244.0.2", "containerStatuses": [{"ready": True}]},
            },
            {
                "metadata": {"namespace": "s", "name": "p3"},
                "spec": {"nodeName": "c"},
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {"ready": False, "state": {"waiting": {"reason": "ImagePullBackOff"}}}
                    ],
                },
            },
            {"metadata": {"namespace": "s", "name": "job"}, "status": {"phase": "Succeeded"}},
        ]
    }
    got = join.smoke_pods(pods)
    assert got["running"] == ["s/p1", "s/p2"]
    assert got["not_running"] == ["s/p3 (Pending, ImagePullBackOff)"]
    checks = join.smoke_checks(got["pods"], "svc.ns.svc.cluster.local", 8080)
    assert [(c["kind"], c["pod"], c["target"]) for c in checks] == [
        ("pod-to-pod", "p2", "10.244.1.2:8080"),
        ("pod-to-pod", "p1", "10.244.0.2:8080"),
        ("pod-to-service", "p2", "svc.ns.svc.cluster.local:8080"),
        ("pod-to-service", "p1", "svc.ns.svc.cluster.local:8080"),
    ]


def test_smoke_checks_single_node_and_ipv6():
    pods = [{"name": "p", "node": "a", "ip": "fd00::5"}]
    assert [c["kind"] for c in join.smoke_checks(pods, "s", 80)] == ["pod-to-service"]
    two = [*pods, {"name": "q", "node": "b", "ip": "fd00::6"}]
    assert join.smoke_checks(two, "s", 80)[0]["target"] == "[fd00::6]:80"
