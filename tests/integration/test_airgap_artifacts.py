# SPDX-License-Identifier: Apache-2.0
"""The artifact list matches what the roles would download, for every supported minor.

Two derivations side by side: ``tools/slipway.py artifacts list --format json``
(the command users run), and the roles' own variables (containerd's
``__containerd_downloads``, kube_packages' ``__kube_packages_downloads``,
``__kube_packages_versions`` and ``kube_packages_repo_url``, images'
``images_list``, cni's plan and ``__cni_upstream_files``) evaluated by Ansible
from the roles' defaults and vars files on the controller. No host is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.slipway.cluster.plugins.module_utils import versions  # noqa: E402

VAR_FILES = [
    f"roles/{role}/{kind}/main.yml"
    for role in ("slipway", "containerd", "kube_packages", "images", "cni")
    for kind in ("defaults", "vars")
    if (REPO / f"roles/{role}/{kind}/main.yml").exists()
]

PLAYBOOK = """
- name: What the roles would download
  hosts: cp1
  gather_facts: false
  vars_files: {var_files}
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    # The platform check of kube_packages sets this on a node; Debian here.
    __kube_packages_platform: {{package_manager: apt}}
  tasks:
    - name: Architecture, as the roles read it
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Cni plan, as role cni computes it
      ansible.builtin.set_fact:
        __cni_plan: "{{{{ __cni_settings | slipway.cluster.cni_plan }}}}"
    - name: Write them down
      ansible.builtin.copy:
        dest: "{{{{ out }}}}"
        mode: "0600"
        content: >-
          {{{{ {{'containerd': __containerd_downloads,
                'binary': __kube_packages_downloads,
                'packages': __kube_packages_versions,
                'repo': kube_packages_repo_url ~ 'deb/',
                'images': images_list,
                'cni': __cni_upstream_files | map('regex_replace', '^', __cni_plan.source ~ '/') | list}}
             | to_json }}}}
"""


def roles_view(tmp: Path, **extra) -> dict:
    inventory = tmp / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "k8s_cluster": {
                    "children": {"control_plane": {"hosts": {"cp1": {"ansible_connection": "local"}}}}
                }
            }
        )
    )
    playbook = tmp / "view.yml"
    playbook.write_text(PLAYBOOK.format(var_files=json.dumps([str(REPO / f) for f in VAR_FILES])))
    out = tmp / "view.json"
    extra_vars = {"out": str(out), "containerd_archive_components": ["containerd", "runc"], **extra}
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(playbook), "-e", json.dumps(extra_vars)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def listed(*argv: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "slipway.py"), "artifacts", "list", "--format", "json", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def fetches(items: list[dict]) -> list[tuple]:
    return [(i["name"], i["version"], i["url"], i["checksum_url"]) for i in items]


def arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


@pytest.mark.parametrize("minor", versions.SUPPORTED_MINORS)
def test_the_list_is_what_the_roles_download(minor, tmp_path):
    version = versions.RELEASES[minor]["default_patch"]
    roles = roles_view(tmp_path, slipway_kubernetes_version=version)
    entries = listed("--kubernetes-version", version, "--arch", arch())

    def used_by(prefix):
        return [e for e in entries if e["used_by"].startswith(prefix)]

    assert fetches(roles["containerd"]) == fetches(used_by("containerd"))
    assert fetches(roles["binary"]) == fetches(used_by("kube_packages (binary"))
    assert roles["packages"] == {e["name"]: e["version"] for e in used_by("kube_packages (package")}
    assert {roles["repo"]} == {e["url"] for e in used_by("kube_packages (package")}
    assert [(i["ref"], i["file"]) for i in roles["images"]] == [
        (e["ref"], e["file"]) for e in used_by("images")
    ]
    assert roles["cni"] == [e["url"] for e in used_by("cni")]
    # Nothing in the list that no role fetches.
    assert {e["used_by"].split(" ")[0] for e in entries} == {"kube_packages", "containerd", "images", "cni"}


def test_with_an_offline_source_the_roles_read_the_bundles_files(tmp_path):
    """The roles' offline paths are the bundle's layout: <source>/<file> for every listed file."""
    offline = "file:///srv/airgap"
    roles = roles_view(
        tmp_path,
        slipway_offline_source=offline,
        slipway_cni="calico",
        slipway_control_plane_endpoint_mode="local_lb",
    )
    entries = listed("--cni", "calico", "--endpoint-mode", "local_lb", "--arch", arch())
    files = {f"{offline}/{e['file']}" for e in entries if e["kind"] != "package"}
    checksum_files = {f"{offline}/{e['checksum_file']}" for e in entries if "checksum_file" in e}
    for item in roles["containerd"] + roles["binary"]:
        assert item["url"] in files
        assert item["checksum_url"] in checksum_files
    assert {f"{offline}/{i['file']}" for i in roles["images"]} <= files
    assert set(roles["cni"]) <= files
    minor = versions.DEFAULT_MINOR
    assert roles["repo"] == f"{offline}/packages/v{minor}/deb/"
    assert {e["file"] for e in entries if e["kind"] == "package"} == {f"packages/v{minor}/deb/"}
