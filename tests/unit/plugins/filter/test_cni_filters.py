# SPDX-License-Identifier: Apache-2.0
"""The cni filters: module_utils/cni.py behind Ansible's error type, and through a real template."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter import cni as cni_filter
from ansible_collections.slipway.cluster.plugins.module_utils import cni

REPO = Path(__file__).resolve().parents[4]
SETTINGS = {"cni": "calico", "pod_subnet": "10.244.0.0/16", "first_node_ip": "192.0.2.11"}


def test_the_filters_are_registered():
    assert set(cni_filter.FilterModule().filters()) == {
        "cni_plan",
        "cni_cilium_values",
        "cni_calico_resources",
    }


def test_the_filters_return_what_module_utils_renders():
    assert cni_filter.cni_plan(SETTINGS) == cni.plan(SETTINGS)
    assert cni_filter.cni_calico_resources(SETTINGS) == cni.calico_resources(SETTINGS)
    cilium = {**SETTINGS, "cni": "cilium"}
    assert cni_filter.cni_cilium_values(cilium) == cni.cilium_values(cilium)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({**SETTINGS, "pool_cidr": "192.168.0.0/16"}, "cni_pool_cidr: 192.168.0.0/16 is not inside"),
        ({**SETTINGS, "cni": "flannel"}, "slipway_cni"),
        ("not a dict", "expects the settings dictionary"),
    ],
)
def test_bad_settings_raise_a_filter_error_naming_the_variable(settings, words):
    for function in (cni_filter.cni_plan, cni_filter.cni_calico_resources):
        with pytest.raises(AnsibleFilterError, match=words):
            function(settings)


def test_through_ansible_by_its_fqcn():
    """The filter as the role calls it: by its FQCN, from a plain checkout."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    expression = "{{ {'cni': 'calico', 'pod_subnet': '10.244.0.0/16'} | slipway.cluster.cni_plan }}"
    proc = subprocess.run(
        ["ansible", "localhost", "-m", "ansible.builtin.debug", "-a", f"msg={expression}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = json.loads(proc.stdout[proc.stdout.index("{") :])["msg"]
    assert [step["file"] for step in plan["steps"]] == [
        "10-operator-crds.yaml",
        "20-tigera-operator.yaml",
        "30-custom-resources.yaml",
    ]


def test_the_plugin_documentation_parses():
    """DOCUMENTATION, EXAMPLES and RETURN are YAML (ansible-doc shows the page)."""
    import yaml  # noqa: PLC0415

    doc = yaml.safe_load(cni_filter.DOCUMENTATION)
    assert doc["name"] == "cni_plan"
    assert set(doc["options"]) == {"_input"}
    assert yaml.safe_load(cni_filter.EXAMPLES)[0]["ansible.builtin.set_fact"]
    assert "_value" in yaml.safe_load(cni_filter.RETURN)
