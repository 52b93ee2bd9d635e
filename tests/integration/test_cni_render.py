# SPDX-License-Identifier: Apache-2.0
"""What role cni applies, rendered for each option and checked against upstream's own schemas.

Slipway renders Calico's ``Installation`` and ``APIServer`` (operator.tigera.io/v1)
and Cilium's Helm values; the operator manifests and the Cilium chart are
upstream's. The schemas that judge them ship with the pinned CNI versions:

- Calico: the CRDs in ``operator-crds.yaml`` of the pinned release. Looked for at
  ``$SLIPWAY_CALICO_MANIFESTS`` or ``~/.cache/slipway/cni/calico-<version>/`` (the
  layout of ``cni_artifacts_dir`` and of an offline source).
- Cilium: ``values.schema.json`` inside the pinned chart ``cilium-<version>.tgz``,
  looked for at ``$SLIPWAY_CILIUM_CHART`` or ``~/.cache/slipway/cni/cilium-<version>/``;
  with ``helm`` on the PATH the chart is also rendered and every core kind checked
  with kubernetes-validate.

Neither file is on PyPI, npm or Debian, the only registries the development
machine reaches, so there the schema tests skip and say which file is missing;
no schema is invented. (npm's @kubernetes-models/cilium carries schemas generated
from Cilium's Go types of an older release, 1.19.x, for custom resources Slipway
does not render; it is not used.)
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.slipway.cluster.plugins.module_utils import cni, versions

jsonschema = pytest.importorskip("jsonschema")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

CACHE = Path.home() / ".cache" / "slipway" / "cni"
CILIUM = versions.COMPONENTS["cilium"]
CALICO = versions.COMPONENTS["calico"]
BASE = {
    "pod_subnet": "10.244.0.0/16",
    "service_subnet": "10.96.0.0/12",
    "endpoint_mode": "node",
    "first_node_ip": "192.0.2.11",
    "api_port": 6443,
    "node_count": 3,
}
DUAL = {"pod_subnet": "10.244.0.0/16,fd00:10:244::/56", "service_subnet": "10.96.0.0/12,fd00:10:96::/112"}
CILIUM_OPTIONS = {
    "default": {},
    "kube-proxy-replacement-vip": {
        "kube_proxy_replacement": True,
        "endpoint_mode": "kube_vip",
        "endpoint": "192.0.2.100:6443",
    },
    "native-dual-stack": {**DUAL, "cilium_tunnel": "disabled"},
    "kubernetes-ipam-geneve": {"cilium_ipam_mode": "kubernetes", "cilium_tunnel": "geneve"},
}
CALICO_OPTIONS = {
    "default": {},
    "ipip-bgp": {"calico_encapsulation": "IPIP", "calico_bgp": True, "calico_block_size": 24},
    "vxlan-dual-stack": {**DUAL, "calico_encapsulation": "VXLAN"},
    "none-bgp-no-nat": {"calico_encapsulation": "None", "calico_bgp": True, "calico_nat_outgoing": False},
}


def calico_crds() -> Path | None:
    for directory in (os.environ.get("SLIPWAY_CALICO_MANIFESTS"), CACHE / f"calico-{CALICO}"):
        if directory and (Path(directory) / "operator-crds.yaml").is_file():
            return Path(directory) / "operator-crds.yaml"
    return None


def cilium_chart() -> Path | None:
    for candidate in (
        os.environ.get("SLIPWAY_CILIUM_CHART"),
        CACHE / f"cilium-{CILIUM}" / f"cilium-{CILIUM}.tgz",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def resource_schema(crds: Path, plural: str) -> dict:
    for doc in yaml.safe_load_all(crds.read_text()):
        if doc and doc.get("kind") == "CustomResourceDefinition" and doc["metadata"]["name"] == plural:
            version = next(v for v in doc["spec"]["versions"] if v["name"] == "v1")
            return version["schema"]["openAPIV3Schema"]
    raise AssertionError(f"{crds} has no CRD {plural}")


@pytest.mark.parametrize("option", CALICO_OPTIONS)
def test_calico_resources_render_for_each_option(option):
    settings = {**BASE, "cni": "calico", **CALICO_OPTIONS[option]}
    installation, api_server = cni.calico_resources(settings)
    # What the role writes is YAML documents that read back to the same objects.
    text = "---\n".join(yaml.safe_dump(r, sort_keys=True) for r in (installation, api_server))
    assert list(yaml.safe_load_all(text)) == [installation, api_server]
    pod = [ipaddress.ip_network(p) for p in settings["pod_subnet"].split(",")]
    pools = [ipaddress.ip_network(p["cidr"]) for p in installation["spec"]["calicoNetwork"]["ipPools"]]
    assert sorted(n.version for n in pools) == sorted(n.version for n in pod)
    assert all(any(n.version == p.version and n.subnet_of(p) for p in pod) for n in pools)


@pytest.mark.parametrize("option", CALICO_OPTIONS)
def test_calico_resources_follow_the_crds_of_the_pinned_release(option):
    crds = calico_crds()
    if crds is None:
        pytest.skip(
            f"operator-crds.yaml of Calico v{CALICO} (CRDs installations.operator.tigera.io and "
            "apiservers.operator.tigera.io) is not here: set SLIPWAY_CALICO_MANIFESTS to a directory "
            f"holding it, or put it in {CACHE}/calico-{CALICO}/ (no reachable registry ships it)"
        )
    installation, api_server = cni.calico_resources({**BASE, "cni": "calico", **CALICO_OPTIONS[option]})
    jsonschema.validate(installation, resource_schema(crds, "installations.operator.tigera.io"))
    jsonschema.validate(api_server, resource_schema(crds, "apiservers.operator.tigera.io"))


@pytest.mark.parametrize("option", CILIUM_OPTIONS)
def test_cilium_values_follow_the_charts_schema(option):
    chart = cilium_chart()
    if chart is None:
        pytest.skip(
            f"the Cilium chart cilium-{CILIUM}.tgz (its values.schema.json) is not here: set "
            f"SLIPWAY_CILIUM_CHART to it, or put it in {CACHE}/cilium-{CILIUM}/ "
            "(no reachable registry ships it)"
        )
    with tarfile.open(chart) as archive:
        schema = json.load(io.TextIOWrapper(archive.extractfile("cilium/values.schema.json")))
        chart_yaml = yaml.safe_load(archive.extractfile("cilium/Chart.yaml"))
    assert chart_yaml["version"] == CILIUM, f"{chart} is Cilium {chart_yaml['version']}, the pin is {CILIUM}"
    jsonschema.validate(cni.cilium_values({**BASE, "cni": "cilium", **CILIUM_OPTIONS[option]}), schema)


@pytest.mark.parametrize("option", CILIUM_OPTIONS)
def test_the_rendered_cilium_chart_has_valid_core_kinds(option, tmp_path):
    chart = cilium_chart()
    if chart is None or shutil.which("helm") is None:
        pytest.skip(f"needs helm on the PATH and the chart cilium-{CILIUM}.tgz (SLIPWAY_CILIUM_CHART)")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(cni.cilium_values({**BASE, "cni": "cilium", **CILIUM_OPTIONS[option]})))
    rendered = subprocess.run(
        ["helm", "template", "cilium", str(chart), "--namespace", "kube-system", "--values", str(values)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    kinds = 0
    for doc in yaml.safe_load_all(rendered):
        group = doc["apiVersion"].split("/")[0] if doc else ""
        if not doc or ("." in group and not group.endswith("k8s.io")):
            continue
        kubernetes_validate.validate(doc, versions.DEFAULT_MINOR, strict=True)
        kinds += 1
    assert kinds > 5
