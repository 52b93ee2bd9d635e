# SPDX-License-Identifier: Apache-2.0
"""playbooks/control-plane.yml for real, each control plane rendered on the controller.

Schema validation of every manifest for every supported minor (kubernetes-validate),
file modes, idempotence, and a changed extra argument changing exactly one manifest
per node, as check mode predicted.
"""

from __future__ import annotations

import json
import stat

import pytest
import yaml

from .control_plane_helpers import changed_count, manifests, playbook, write_inventory

kubernetes_validate = pytest.importorskip("kubernetes_validate")

NODES = {"cp1": "192.0.2.11"}
MINORS = ("1.34.2", "1.35.2", "1.36.4")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = {}
    for version in MINORS:
        root = tmp_path_factory.mktemp(f"cp{version}")
        inventory = write_inventory(root, NODES, slipway_kubernetes_version=version)
        for name in ("pki.yml", "control-plane.yml"):
            proc = playbook(inventory, name)
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        out[version] = (root, inventory)
    return out


@pytest.mark.parametrize("version", MINORS)
def test_every_manifest_validates_against_its_minor(rendered, version):
    root, _ = rendered[version]
    minor = ".".join(version.split(".")[:2])
    for node in NODES:
        pods = manifests(root, node)
        assert sorted(pods) == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        for name, pod in pods.items():
            try:
                kubernetes_validate.validate(pod, minor, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{node}/{name} for {minor}: {exc}")
            assert pod["spec"]["containers"][0]["image"].endswith(
                f":v{version}" if name != "etcd" else pod["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
            )


def test_modes_and_the_hardening_files(rendered):
    root, _ = rendered["1.36.4"]
    base = root / "nodes" / "cp1"
    for path in (base / "manifests").glob("*.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((base / "manifests").stat().st_mode) == 0o700
    encryption = yaml.safe_load((base / "encryption" / "config.yaml").read_text())
    assert stat.S_IMODE((base / "encryption" / "config.yaml").stat().st_mode) == 0o600
    assert encryption["kind"] == "EncryptionConfiguration"
    assert next(iter(encryption["resources"][0]["providers"][0])) == "secretbox"
    policy = yaml.safe_load((base / "audit" / "policy.yaml").read_text())
    assert policy["kind"] == "Policy"
    apiserver = manifests(root, "cp1")["kube-apiserver"]
    command = apiserver["spec"]["containers"][0]["command"]
    assert f"--encryption-provider-config={base}/encryption/config.yaml" in command
    assert f"--audit-policy-file={base}/audit/policy.yaml" in command
    assert "--profiling=false" in command
    assert "--tls-min-version=VersionTLS12" in command
    assert len(apiserver["metadata"]["annotations"]["slipway.io/config-hash"]) == 64


def test_second_run_changes_nothing(rendered):
    _root, inventory = rendered["1.36.4"]
    again = playbook(inventory, "control-plane.yml")
    assert again.returncode == 0, again.stdout[-3000:]
    assert changed_count(again) == 0, again.stdout[-3000:]
    check = playbook(inventory, "control-plane.yml", "--check")
    assert changed_count(check) == 0, check.stdout[-3000:]


def test_one_extra_argument_changes_one_manifest_per_node_as_predicted(rendered):
    root, inventory = rendered["1.36.4"]
    before = {
        node: {p.name: p.read_bytes() for p in (root / "nodes" / node / "manifests").glob("*.yaml")}
        for node in NODES
    }
    extra = json.dumps({"control_plane_extra_args": {"kube-scheduler": {"v": "2"}}})
    predicted = playbook(inventory, "control-plane.yml", "--check", "--diff", "-e", extra)
    assert predicted.returncode == 0, predicted.stdout[-3000:]
    # Per node one task (file_set) changes two files: the manifest itself and
    # kubeadm-config.yaml, whose extraArgs describe the same flag.
    assert changed_count(predicted) == len(NODES)
    assert predicted.stdout.count("+    - --v=2") == len(NODES)
    assert predicted.stdout.count("+++ after: /") == 2 * len(NODES), predicted.stdout[-3000:]
    unchanged = {
        node: {p.name: p.read_bytes() for p in (root / "nodes" / node / "manifests").glob("*.yaml")}
        for node in NODES
    }
    assert unchanged == before  # check mode wrote nothing
    real = playbook(inventory, "control-plane.yml", "-e", extra)
    assert real.returncode == 0, real.stdout[-3000:]
    assert changed_count(real) == changed_count(predicted)
    for node in NODES:
        after = {p.name: p.read_bytes() for p in (root / "nodes" / node / "manifests").glob("*.yaml")}
        assert {name for name in after if after[name] != before[node][name]} == {"kube-scheduler.yaml"}
    # The replaced manifest is backed up in the staging directory, never in the manifest
    # directory (the kubelet would run every file there).
    staged = root / "nodes" / "cp1" / "tmp" / "slipway-manifests"
    assert len([p for p in staged.iterdir() if p.name.startswith("kube-scheduler.yaml.")]) == 1
    assert sorted(p.name for p in (root / "nodes" / "cp1" / "manifests").iterdir()) == [
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
    ]
    steady = playbook(inventory, "control-plane.yml", "-e", extra)
    assert changed_count(steady) == 0


def test_kube_vip_endpoint(rendered):
    root, inventory = rendered["1.36.4"]
    extra = json.dumps(
        {
            "slipway_control_plane_endpoint_mode": "kube_vip",
            "slipway_control_plane_endpoint": "192.0.2.10:6443",
        }
    )
    for name in ("pki.yml", "control-plane.yml"):
        proc = playbook(inventory, name, "-e", extra)
        assert proc.returncode == 0, proc.stdout[-3000:]
    pods = manifests(root, "cp1")
    kubernetes_validate.validate(pods["kube-vip"], "1.36", strict=True)
    env = {e["name"]: e["value"] for e in pods["kube-vip"]["spec"]["containers"][0]["env"]}
    assert env["address"] == "192.0.2.10"
    kubeadm = list(yaml.safe_load_all((root / "nodes" / "cp1" / "kubeadm-config.yaml").read_text()))
    assert kubeadm[1]["controlPlaneEndpoint"] == "192.0.2.10:6443"
    from cryptography import x509  # noqa: PLC0415

    cert = x509.load_pem_x509_certificate((root / "nodes" / "cp1" / "pki" / "apiserver.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.0.2.10" in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}


def test_local_lb_on_workers(tmp_path):
    root = tmp_path / "lb"
    inventory = write_inventory(
        root,
        {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13"},
        slipway_control_plane_endpoint_mode="local_lb",
    )
    doc = yaml.safe_load(inventory.read_text())
    worker = root / "nodes" / "w1"
    cluster = doc["all"]["children"]["k8s_cluster"]
    cluster["children"]["workers"]["hosts"] = {
        "w1": {
            "ansible_connection": "local",
            "ansible_python_interpreter": cluster["children"]["control_plane"]["hosts"]["cp1"][
                "ansible_python_interpreter"
            ],
            "slipway_node_ip": "192.0.2.21",
            "api_lb_config_dir": str(worker / "api-lb"),
            "api_lb_manifest_dir": str(worker / "manifests"),
        }
    }
    inventory.write_text(yaml.safe_dump(doc))
    for name in ("pki.yml", "control-plane.yml"):
        proc = playbook(inventory, name, "--limit", "cp1,w1,localhost")
        assert proc.returncode == 0, proc.stdout[-3000:]
    config = (worker / "api-lb" / "nginx.conf").read_text()
    assert [line.strip() for line in config.splitlines() if line.strip().startswith("server 192")] == [
        "server 192.0.2.11:6443;",
        "server 192.0.2.12:6443;",
        "server 192.0.2.13:6443;",
    ]
    assert "listen 127.0.0.1:6443;" in config
    pod = yaml.safe_load((worker / "manifests" / "api-lb.yaml").read_text())
    kubernetes_validate.validate(pod, "1.36", strict=True)
    pki = root / "artifacts" / "pki"
    kubelet_conf = yaml.safe_load((pki / "nodes" / "cp1" / "kubelet.conf").read_text())
    assert kubelet_conf["clusters"][0]["cluster"]["server"] == "https://localhost:6443"
    admin = yaml.safe_load((pki / "admin.conf").read_text())
    assert admin["clusters"][0]["cluster"]["server"] == "https://192.0.2.11:6443"
    kubeadm = list(yaml.safe_load_all((root / "nodes" / "cp1" / "kubeadm-config.yaml").read_text()))
    assert kubeadm[1]["controlPlaneEndpoint"] == "localhost:6443"
    again = playbook(inventory, "control-plane.yml", "--limit", "cp1,w1,localhost")
    assert changed_count(again) == 0, again.stdout[-3000:]
