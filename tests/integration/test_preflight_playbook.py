# SPDX-License-Identifier: Apache-2.0
"""Every bad input of the validation through the real playbook: it stops and no host is touched.

A value outside a role's declared choices is refused by Ansible's role argument
validation, on the controller as well, before our checks run; the test accepts that
message when it names the variable.

The inventory's hosts point at 127.0.0.1 on a port nothing listens on, so any task that
tried to reach a host would report it UNREACHABLE: the test requires the failure message
of the check, no UNREACHABLE line, and a recap where no host ran a task on the host.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.plugins.module_utils.test_validation import CASES, GOOD

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there


def write_inventory(path: Path, case: dict) -> Path:
    port = closed_port()
    hosts = {
        host: {"ansible_host": "127.0.0.1", "ansible_port": port, **case["hostvars"].get(host, {})}
        for host in case["groups"]["all"]
    }
    changed = {k: v for k, v in case["settings"].items() if GOOD["settings"].get(k, object()) != v}
    groups = {
        name: {"hosts": {h: {} for h in case["groups"].get(name, [])}}
        for name in ("k8s_cluster", "control_plane", "workers")
    }
    groups["k8s_cluster"]["hosts"] = {h: {} for h in case["groups"]["k8s_cluster"]}
    doc = {"all": {"hosts": hosts, "vars": {**changed, **case.get("roles", {})}, "children": groups}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("check", "case", "variable", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_stops_before_any_host(tmp_path, check, case, variable, words):
    inventory = write_inventory(tmp_path / "hosts.yml", case)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory),
            "playbooks/preflight.yml",
            "-e",
            "preflight_check_package_source=false",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    ours = f"[{check}] {variable}: " in out and "no host was touched" in out
    # Choices declared in a role's argument_specs are refused by Ansible's own role
    # argument validation, which runs on the controller first; it names the variable too.
    spec = f"value of {variable} must be one of" in out or f"argument '{variable}' is of type" in out
    assert ours or spec, out[-3000:]
    assert "UNREACHABLE" not in out
    for host, unreachable in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)", out, re.M):
        assert unreachable == "0", host
