# SPDX-License-Identifier: Apache-2.0
"""The join filters wrap module_utils/join.py and raise AnsibleFilterError on bad input."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter.discovery import discovery_hash
from ansible_collections.slipway.cluster.plugins.filter.join import FilterModule
from ansible_collections.slipway.cluster.plugins.module_utils import pki

FILTERS = FilterModule().filters()


def test_every_filter_is_exported():
    assert set(FILTERS) == {
        "join_configuration",
        "join_metadata_check",
        "join_metadata_plan",
        "join_metadata_commands",
        "bootstrap_token_secret",
        "smoke_nodes",
        "smoke_pods",
        "smoke_checks",
    }


def test_join_configuration_pins_the_hash_openssl_computes(tmp_path):
    key = pki.generate_key("RSA-2048")
    pem = pki.cert_to_pem(pki.make_ca(key, "kubernetes", 1))
    ca = tmp_path / "ca.crt"
    ca.write_bytes(pem)
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(ca)], capture_output=True, check=True
    )
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=pub.stdout, capture_output=True, check=True
    )
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex"], input=der.stdout, capture_output=True, check=True
    )
    expected = "sha256:" + digest.stdout.decode().split()[-1]
    config = FILTERS["join_configuration"](
        {
            "endpoint": "10.0.0.1:6443",
            "token": "abcdef.0123456789abcdef",
            "ca_cert_hashes": [discovery_hash(pem.decode())],
            "node_name": "w1",
        }
    )
    text = yaml.safe_dump(config)
    assert yaml.safe_load(text)["discovery"]["bootstrapToken"]["caCertHashes"] == [expected]


def test_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="join_configuration"):
        FILTERS["join_configuration"]({"token": "bad"})
    with pytest.raises(AnsibleFilterError, match=r"NodeList"):
        FILTERS["join_metadata_commands"](["not", "a", "list"], {}, "/k")


def test_plan_and_check_read_hostvars():
    hostvars = {
        "cp1": {"inventory_hostname": "cp1"},
        "w1": {
            "inventory_hostname": "w1",
            "slipway_node_name": "worker-one",
            "slipway_node_labels": {"disk": "ssd"},
        },
        "w2": {"inventory_hostname": "w2", "slipway_node_taints": [{"key": "k", "effect": "Nope"}]},
    }
    plan = FILTERS["join_metadata_plan"](hostvars, ["cp1", "w1"], ["cp1"])
    assert set(plan) == {"cp1", "worker-one"}
    assert plan["worker-one"]["labels"] == {"disk": "ssd"}
    assert plan["cp1"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    problems = FILTERS["join_metadata_check"](hostvars, ["cp1", "w1", "w2"])
    assert len(problems) == 1
    assert "w2: slipway_node_taints[0] effect 'Nope'" in problems[0]


def test_plugin_documentation_parses():
    from ansible_collections.slipway.cluster.plugins.filter import join as plugin  # noqa: PLC0415

    doc = yaml.safe_load(plugin.DOCUMENTATION)
    assert doc["name"] == "join_configuration"
    assert yaml.safe_load(plugin.EXAMPLES)
    assert yaml.safe_load(plugin.RETURN)["_value"]["type"] == "dict"
