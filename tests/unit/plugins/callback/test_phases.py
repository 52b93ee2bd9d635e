# SPDX-License-Identifier: Apache-2.0
"""The phases callback: its summary table, and a real run with it enabled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.slipway.cluster.plugins.callback.phases import Phase, summarize

REPO = Path(__file__).resolve().parents[4]


def test_summary_lists_each_phase_with_counts_and_the_kubeconfig():
    phases = [
        Phase(name="Preflight", started=0.0, ended=1.5, tasks=2, changed=0),
        Phase(name="PKI", started=1.5, ended=4.0, tasks=5, changed=3),
    ]
    lines = summarize(phases, "/tmp/admin.conf")
    table = "\n".join(lines)
    assert "Preflight" in table
    assert "PKI" in table
    pki_line = next(line for line in lines if line.startswith("PKI"))
    assert pki_line.split()[1:4] == ["2.5s", "5", "3"]
    assert lines[-2] == "Admin kubeconfig: /tmp/admin.conf"
    assert lines[-1] == "Next: export KUBECONFIG=/tmp/admin.conf; kubectl get nodes"


def test_summary_of_a_failed_run_names_hosts_and_no_kubeconfig():
    phase = Phase(name="Prepare nodes", started=0.0, ended=3.0, tasks=4)
    phase.failed_hosts.add("worker2")
    phase.unreachable_hosts.add("worker1")
    lines = summarize([phase], "/tmp/admin.conf")
    assert "failed on worker1, worker2" in lines[3]
    assert not any("Admin kubeconfig" in line for line in lines)
    assert lines[-1].startswith("Next: read the first failure above")


@pytest.mark.parametrize("fail", [False, True])
def test_real_run_prints_phases_and_summary(tmp_path, fail):
    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        f"""---
- name: First phase
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Change something
      ansible.builtin.copy:
        content: "x"
        dest: "{tmp_path}/file"
        mode: "0600"
    - name: Record the kubeconfig
      ansible.builtin.set_fact:
        slipway_admin_kubeconfig: "{kubeconfig}"
- name: Second phase
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Maybe fail
      ansible.builtin.fail:
        msg: planned failure
      when: {str(fail).lower()}
"""
    )
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="slipway.cluster.phases",
    )
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=REPO,
    )
    out = proc.stdout
    assert "PHASE 1: First phase" in out
    assert "PHASE 2: Second phase" in out
    assert "Slipway run summary" in out
    first = next(line for line in out.splitlines() if line.startswith("First phase "))
    assert first.split()[3:5] == ["2", "1"]  # tasks, changed
    if fail:
        assert proc.returncode != 0
        assert "failed on localhost" in out
        assert "Admin kubeconfig" not in out
    else:
        assert proc.returncode == 0, out + proc.stderr
        assert f"Admin kubeconfig: {kubeconfig}" in out
