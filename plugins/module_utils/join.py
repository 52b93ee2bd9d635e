# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Cluster membership: kubeadm's JoinConfiguration, bootstrap-token Secrets, node labels
and taints reconciled from the inventory, and the smoke check's reading of the cluster.

Pure functions (no I/O), unit-tested in tests/unit/plugins/module_utils/test_join.py.
Facts: kubernetes-bootstrap-facts.md section 5 (token format and Secret, discovery hash,
join steps, mark-control-plane).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

TOKEN_RE = re.compile(r"\A([a-z0-9]{6})\.([a-z0-9]{16})\Z")
HASH_RE = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# kubeadm's default token group (facts 5.1); kubeadm's RBAC (5.4) is bound to it.
TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"  # noqa: S105 a group name, not a secret

# What kubeadm's mark-control-plane phase puts on a control plane (facts 5.6).
CONTROL_PLANE_LABELS = {
    "node-role.kubernetes.io/control-plane": "",
    "node.kubernetes.io/exclude-from-external-load-balancers": "",
}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}

_NAME_RE = re.compile(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
_DNS_LABEL_RE = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


class JoinError(ValueError):
    """Bad input: the message names the variable and the fix."""


def _qualified_name_problem(key: str) -> str:
    """'' when ``key`` is a valid Kubernetes label or taint key (qualified name), else why not."""
    if not isinstance(key, str) or not key:
        return "is empty"
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not all(_DNS_LABEL_RE.match(p) for p in prefix.split("."))):
        return f"has the prefix {prefix!r}, which is not a DNS subdomain (lowercase, dots, at most 253)"
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        return (
            f"has the name part {name!r}: at most 63 characters, letters, digits, '-', '_' or '.',"
            " starting and ending with a letter or digit"
        )
    return ""


def _value_problem(value) -> str:
    if not isinstance(value, str):
        return f"is a {type(value).__name__}: quote it so that it is a string"
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        return (
            "is not a label value: at most 63 characters, letters, digits, '-', '_' or '.',"
            " starting and ending with a letter or digit (or empty)"
        )
    return ""


def check_metadata(host: str, labels, taints) -> list[str]:
    """Problems of one host's slipway_node_labels / slipway_node_taints, each naming the fix."""
    return _check_labels(host, labels) + _check_taints(host, taints)


def _check_labels(host: str, labels) -> list[str]:
    problems = []
    if labels is not None:
        if not isinstance(labels, dict):
            problems.append(
                f"{host}: slipway_node_labels must be a mapping of label to value, e.g. {{disk: ssd}};"
                f" got a {type(labels).__name__}"
            )
        else:
            for key, value in labels.items():
                why = _qualified_name_problem(key)
                if why:
                    problems.append(f"{host}: slipway_node_labels key {key!r} {why}")
                why = _value_problem(value)
                if why:
                    problems.append(f"{host}: slipway_node_labels[{key!r}] value {value!r} {why}")
    return problems


def _check_taints(host: str, taints) -> list[str]:
    problems = []
    if taints is not None:
        if not isinstance(taints, list):
            problems.append(
                f"{host}: slipway_node_taints must be a list of {{key, value, effect}},"
                f" e.g. [{{key: dedicated, value: gpu, effect: NoSchedule}}]; got a {type(taints).__name__}"
            )
            return problems
        seen = set()
        for index, taint in enumerate(taints):
            where = f"{host}: slipway_node_taints[{index}]"
            if not isinstance(taint, dict):
                problems.append(f"{where} must be a mapping {{key, value, effect}}")
                continue
            unknown = sorted(set(taint) - {"key", "value", "effect"})
            if unknown:
                problems.append(f"{where} has unknown fields {unknown}: only key, value and effect")
            why = _qualified_name_problem(taint.get("key", ""))
            if why:
                problems.append(f"{where} key {taint.get('key')!r} {why}")
            why = _value_problem(taint.get("value", ""))
            if why:
                problems.append(f"{where} value {taint.get('value')!r} {why}")
            if taint.get("effect") not in TAINT_EFFECTS:
                problems.append(
                    f"{where} effect {taint.get('effect')!r} is not one of {', '.join(TAINT_EFFECTS)}"
                )
            identity = (taint.get("key"), taint.get("effect"))
            if identity in seen:
                problems.append(f"{where} repeats key {identity[0]!r} with effect {identity[1]!r}")
            seen.add(identity)
    return problems


def desired_metadata(labels, taints, control_plane: bool) -> dict:
    """Labels and taints one node should carry.

    A control plane gets kubeadm's mark-control-plane labels, and its taint unless
    slipway_node_taints is set (then the list replaces it, as kubeadm's
    nodeRegistration.taints does: [] leaves the control plane schedulable).
    """
    wanted_labels = dict(CONTROL_PLANE_LABELS) if control_plane else {}
    wanted_labels.update(labels or {})
    if taints is None:
        wanted_taints = [dict(CONTROL_PLANE_TAINT)] if control_plane else []
    else:
        wanted_taints = [
            {k: v for k, v in t.items() if k in ("key", "value", "effect") and (k != "value" or v)}
            for t in taints
        ]
    managed = sorted(
        {t["key"] for t in wanted_taints} | ({CONTROL_PLANE_TAINT["key"]} if control_plane else set())
    )
    return {"labels": wanted_labels, "taints": wanted_taints, "managed_taint_keys": managed}


def _taint_arg(taint: dict) -> str:
    value = taint.get("value") or ""
    return f"{taint['key']}={value}:{taint['effect']}" if value else f"{taint['key']}:{taint['effect']}"


def node_index(nodes_json) -> dict:
    """``kubectl get nodes -o json`` -> {name: node object}."""
    if isinstance(nodes_json, str):
        import json  # noqa: PLC0415

        nodes_json = json.loads(nodes_json) if nodes_json.strip() else {}
    if not isinstance(nodes_json, dict):
        raise JoinError("expected the output of kubectl get nodes -o json (a NodeList)")
    return {item["metadata"]["name"]: item for item in nodes_json.get("items", [])}


def metadata_commands(nodes_json, wanted: dict, kubeconfig: str) -> dict:
    """kubectl commands that bring each node's labels and taints to ``wanted``.

    ``wanted``: node name -> desired_metadata(). Returns {commands: [{node, argv, what}],
    missing: [names without a Node object]}. Only keys Slipway manages are touched: labels
    it sets, taints whose key it sets (and the control-plane taint on control planes).
    """
    nodes = node_index(nodes_json)
    commands, missing = [], []
    base = ["kubectl", "--kubeconfig", kubeconfig]
    for name in sorted(wanted):
        desired = wanted[name]
        node = nodes.get(name)
        if node is None:
            missing.append(name)
            continue
        current_labels = node.get("metadata", {}).get("labels") or {}
        label_args = [
            f"{key}={value}"
            for key, value in sorted(desired["labels"].items())
            if current_labels.get(key) != value
        ]
        if label_args:
            commands.append(
                {
                    "node": name,
                    "argv": [*base, "label", "node", name, "--overwrite", *label_args],
                    "what": "labels " + ", ".join(label_args),
                }
            )
        current_taints = node.get("spec", {}).get("taints") or []
        have = {(t["key"], t["effect"]): t.get("value") or "" for t in current_taints}
        want = {(t["key"], t["effect"]): t.get("value") or "" for t in desired["taints"]}
        taint_args = [
            _taint_arg({"key": k, "effect": e, "value": v})
            for (k, e), v in sorted(want.items())
            if have.get((k, e)) != v
        ]
        taint_args += [
            f"{k}:{e}-"
            for (k, e) in sorted(have)
            if k in desired["managed_taint_keys"] and (k, e) not in want
        ]
        if taint_args:
            commands.append(
                {
                    "node": name,
                    "argv": [*base, "taint", "node", name, "--overwrite", *taint_args],
                    "what": "taints " + ", ".join(taint_args),
                }
            )
    return {"commands": commands, "missing": missing}


def join_configuration(settings: dict) -> dict:
    """kubeadm's JoinConfiguration (v1beta4) for one worker.

    settings: endpoint (host:port), token, ca_cert_hashes (list), node_name, cri_socket,
    kubelet_args (flag name -> value, what role kubelet writes to kubeadm-flags.env),
    skip_phases (list), ignore_preflight_errors (list); redact: true leaves the token out.
    """
    token = settings.get("token")
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise JoinError("the bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}")
    hashes = settings.get("ca_cert_hashes") or []
    if not hashes or not all(isinstance(h, str) and HASH_RE.match(h) for h in hashes):
        raise JoinError(
            "ca_cert_hashes must be a non-empty list of sha256:<64 hex> (the discovery_hash filter)"
        )
    endpoint = settings.get("endpoint")
    if not isinstance(endpoint, str) or not re.match(r"\A(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):\d+\Z", endpoint):
        raise JoinError(f"the API server endpoint must be host:port (IPv6 in brackets), got {endpoint!r}")
    node_name = settings.get("node_name")
    if not node_name:
        raise JoinError("node_name is required")
    registration = {
        "name": str(node_name),
        "criSocket": settings.get("cri_socket") or "unix:///var/run/containerd/containerd.sock",
        # Labels and taints are set from the first control plane after the join
        # (metadata_commands): kubelet flags would only apply at registration and
        # would differ from the kubeadm-flags.env role kubelet keeps.
        "taints": [],
        "kubeletExtraArgs": [
            {"name": str(k), "value": str(v)} for k, v in (settings.get("kubelet_args") or {}).items()
        ],
    }
    if settings.get("ignore_preflight_errors"):
        registration["ignorePreflightErrors"] = list(settings["ignore_preflight_errors"])
    config = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "caCertPath": "/etc/kubernetes/pki/ca.crt",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": endpoint,
                "token": token,
                "caCertHashes": list(hashes),
            },
        },
        "nodeRegistration": registration,
    }
    if settings.get("skip_phases"):
        config["skipPhases"] = list(settings["skip_phases"])
    if settings.get("redact"):
        # The record kept on the node after the join: everything but the token.
        del config["discovery"]["bootstrapToken"]["token"]
    return config


def bootstrap_token_secret(token: str, ttl_minutes: int, now: datetime, description: str = "") -> dict:
    """The Secret kubeadm's ``token create`` makes (facts 5.1), expiring ``ttl_minutes`` after ``now``."""
    match = TOKEN_RE.match(token or "")
    if not match:
        raise JoinError("the bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}")
    if not isinstance(ttl_minutes, int) or isinstance(ttl_minutes, bool) or ttl_minutes < 1:
        raise JoinError(f"join_token_ttl_minutes must be a positive number of minutes, got {ttl_minutes!r}")
    if not isinstance(now, datetime):
        raise JoinError("now must be a datetime (now(utc=true))")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    expiration = (now + timedelta(minutes=ttl_minutes)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {
        "token-id": match.group(1),
        "token-secret": match.group(2),
        "expiration": expiration,
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": TOKEN_GROUP,
    }
    if description:
        data["description"] = description
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"bootstrap-token-{match.group(1)}", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": data,
    }


def smoke_nodes(nodes_json, expected: list) -> dict:
    """Ready state of the cluster's nodes: {ready, not_ready, missing, unexpected}."""
    nodes = node_index(nodes_json)
    ready, not_ready = [], []
    for name, node in sorted(nodes.items()):
        conditions = node.get("status", {}).get("conditions") or []
        state = next((c for c in conditions if c.get("type") == "Ready"), {})
        if state.get("status") == "True":
            ready.append(name)
        else:
            not_ready.append(f"{name} ({state.get('reason') or 'no Ready condition'})")
    return {
        "ready": ready,
        "not_ready": not_ready,
        "missing": sorted(set(expected) - set(nodes)),
        "unexpected": sorted(set(nodes) - set(expected)),
    }


def smoke_pods(pods_json) -> dict:
    """Pods of a PodList: {running: [ns/name], not_running: ['ns/name (why)'], pods: [{name, node, ip}]}."""
    if isinstance(pods_json, str):
        import json  # noqa: PLC0415

        pods_json = json.loads(pods_json) if pods_json.strip() else {}
    running, not_running, placed = [], [], []
    for pod in (pods_json or {}).get("items", []):
        meta, status = pod.get("metadata", {}), pod.get("status", {})
        ident = f"{meta.get('namespace')}/{meta.get('name')}"
        phase = status.get("phase")
        statuses = status.get("containerStatuses") or []
        ready = phase == "Running" and statuses and all(s.get("ready") for s in statuses)
        if phase == "Succeeded":
            continue
        if ready:
            running.append(ident)
            placed.append(
                {
                    "name": meta.get("name"),
                    "node": pod.get("spec", {}).get("nodeName"),
                    "ip": status.get("podIP"),
                }
            )
        else:
            reasons = [
                s.get("state", {}).get("waiting", {}).get("reason")
                for s in statuses
                if s.get("state", {}).get("waiting")
            ]
            not_running.append(f"{ident} ({phase}{', ' + ', '.join(reasons) if reasons else ''})")
    return {
        "running": running,
        "not_running": not_running,
        "pods": sorted(placed, key=lambda p: p["node"] or ""),
    }


def smoke_checks(pods: list, service: str, port: int) -> list:
    """Connections to test: each pod to one pod on the next node (a ring), and each pod to the Service."""
    by_node = {}
    for pod in pods:
        by_node.setdefault(pod["node"], pod)
    ordered = [by_node[n] for n in sorted(by_node)]
    checks = []
    if len(ordered) > 1:
        for index, pod in enumerate(ordered):
            peer = ordered[(index + 1) % len(ordered)]
            host = f"[{peer['ip']}]" if ":" in (peer["ip"] or "") else peer["ip"]
            checks.append(
                {
                    "kind": "pod-to-pod",
                    "pod": pod["name"],
                    "target": f"{host}:{port}",
                    "what": f"{pod['node']} -> {peer['node']} ({peer['ip']})",
                }
            )
    for pod in ordered:
        checks.append(
            {
                "kind": "pod-to-service",
                "pod": pod["name"],
                "target": f"{service}:{port}",
                "what": f"{pod['node']} -> {service}",
            }
        )
    return checks
