# SPDX-License-Identifier: Apache-2.0
"""The smoke role's manifests render and validate against Kubernetes' schemas."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "smoke"


def render(**over) -> list[dict]:
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(over)
    # YAML, not HTML: nothing to escape (Ansible's template lookup does not escape either).
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 YAML, not HTML
    template = env.from_string((ROLE / "templates" / "smoke.yaml.j2").read_text())
    return [doc for doc in yaml.safe_load_all(template.render(**values)) if doc]


@pytest.mark.parametrize("minor", ["1.34", "1.35", "1.36"])
def test_manifests_validate_strictly(minor):
    docs = render()
    assert [d["kind"] for d in docs] == ["Namespace", "DaemonSet", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, minor, strict=True)


def test_values_reach_the_objects():
    docs = {d["kind"]: d for d in render(smoke_namespace="check", smoke_port=9090, smoke_image="r/agnhost:9")}
    assert {d["metadata"]["name"] for k, d in docs.items() if k != "Namespace"} == {"slipway-smoke"}
    assert docs["Namespace"]["metadata"]["name"] == "check"
    container = docs["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "r/agnhost:9"
    assert container["args"] == ["netexec", "--http-port=9090"]
    assert docs["Service"]["spec"]["ports"][0]["port"] == 9090
    # runs on tainted control planes too
    assert docs["DaemonSet"]["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_bad_values_fail_validation():
    docs = render(smoke_port="not-a-port")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(docs[2], "1.35", strict=True)
