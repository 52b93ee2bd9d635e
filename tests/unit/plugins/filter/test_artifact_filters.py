# SPDX-License-Identifier: Apache-2.0
"""The artifact filters: module_utils/artifacts.py behind Ansible's error type, and through a template."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter import artifacts as flt
from ansible_collections.slipway.cluster.plugins.module_utils import artifacts

REPO = Path(__file__).resolve().parents[4]


def test_the_filters_are_registered():
    assert set(flt.FilterModule().filters()) == {
        "artifacts",
        "artifact_downloads",
        "artifact_images",
        "artifact_checksum",
        "artifact_checksums",
    }


def test_the_filters_return_what_module_utils_lists():
    assert flt.artifacts("1.35.2", cni="calico") == artifacts.artifacts("1.35.2", cni="calico")
    assert flt.artifact_images("1.34.2", "registry.k8s.io", "none", "kube_vip") == artifacts.images(
        "1.34.2", "registry.k8s.io", "none", "kube_vip"
    )
    wanted = {"kubeadm": "1.36.4", "cni_plugins": "1.9.1"}
    assert flt.artifact_downloads(wanted, "amd64", "/srv/o") == artifacts.downloads(wanted, "amd64", "/srv/o")


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: flt.artifacts("1.99.0"), "slipway_kubernetes_version"),
        (lambda: flt.artifacts("1.36.4", arch="mips"), "architecture"),
        (lambda: flt.artifact_images("1.36.4", cni="weave"), "slipway_cni"),
        (lambda: flt.artifact_downloads(["kubeadm"]), "dictionary of name to version"),
        (lambda: flt.artifact_checksum("zz", "kubeadm"), "slipway_offline_source"),
        (lambda: flt.artifact_checksums("zz  kubeadm"), "not a SHA-256"),
    ],
)
def test_bad_input_raises_ansibles_filter_error_naming_the_variable(call, words):
    with pytest.raises(AnsibleFilterError, match=words):
        call()


def test_the_filters_through_ansible_by_fqcn(tmp_path):
    playbook = tmp_path / "p.yml"
    out = tmp_path / "out.json"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - ansible.builtin.copy:
        dest: {out}
        mode: "0600"
        content: >-
          {{{{ {{'images': '1.36.4' | slipway.cluster.artifact_images,
                'downloads': {{'kubelet': '1.36.4'}} | slipway.cluster.artifact_downloads('arm64'),
                'sum': ('ab' * 32) | slipway.cluster.artifact_checksum('kubelet')}} | to_json }}}}
"""
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(out.read_text())
    assert got["images"] == artifacts.images("1.36.4")
    assert got["downloads"] == artifacts.downloads({"kubelet": "1.36.4"}, "arm64")
    assert got["sum"] == "ab" * 32


def test_the_documentation_parses_and_names_every_filter():
    import yaml  # noqa: PLC0415

    doc = yaml.safe_load(flt.DOCUMENTATION)
    text = " ".join(doc["description"])
    for name in flt.FilterModule().filters():
        assert f"C({name})" in text
    for block in (flt.EXAMPLES, flt.RETURN):
        assert yaml.safe_load(block)
