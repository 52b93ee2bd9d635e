# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Readable runs: progress by phase and a closing summary."""

from __future__ import annotations

DOCUMENTATION = r"""
name: phases
type: aggregate
short_description: Shows a Slipway run phase by phase and ends with a summary
description:
  - Each play is a phase. When a phase starts, prints its number and name; when the run ends,
    prints a table with the time each phase took, how many tasks ran and changed, and the hosts
    that failed, followed by where the admin kubeconfig is and what to run next.
  - An aggregate callback, so it adds to whatever stdout callback is configured.
  - Enable it with C(callbacks_enabled = slipway.cluster.phases) in C(ansible.cfg) or
    C(ANSIBLE_CALLBACKS_ENABLED=slipway.cluster.phases).
requirements:
  - enable in configuration
options:
  kubeconfig_hint:
    description:
      - Path printed as the admin kubeconfig in the summary. When unset, the summary uses the last
        value any task set as the fact C(slipway_admin_kubeconfig) (C(playbooks/pki.yml) sets it),
        when that file exists.
    type: path
    env:
      - name: SLIPWAY_ADMIN_KUBECONFIG
    ini:
      - section: callback_phases
        key: kubeconfig_hint
"""

import os
import time
from dataclasses import dataclass, field

from ansible.plugins.callback import CallbackBase


@dataclass
class Phase:
    name: str
    started: float
    ended: float | None = None
    tasks: int = 0
    ok: int = 0
    changed: int = 0
    failed_hosts: set[str] = field(default_factory=set)
    unreachable_hosts: set[str] = field(default_factory=set)

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started


def summarize(phases: list[Phase], kubeconfig: str | None) -> list[str]:
    """The closing lines: a table of phases, then the kubeconfig and the next step."""
    lines = ["", "Slipway run summary", f"{'phase':<40} {'time':>8} {'tasks':>6} {'changed':>8}  result"]
    total = 0.0
    failed = False
    for phase in phases:
        total += phase.seconds
        bad = sorted(phase.failed_hosts | phase.unreachable_hosts)
        failed = failed or bool(bad)
        result = "failed on " + ", ".join(bad) if bad else "ok"
        lines.append(
            f"{phase.name[:40]:<40} {phase.seconds:>7.1f}s {phase.tasks:>6} {phase.changed:>8}  {result}"
        )
    lines.append(f"{'total':<40} {total:>7.1f}s")
    if failed:
        lines.append("Next: read the first failure above; it names the variable or host to fix, then re-run.")
        return lines
    if kubeconfig:
        lines.append(f"Admin kubeconfig: {kubeconfig}")
        lines.append(f"Next: export KUBECONFIG={kubeconfig}; kubectl get nodes")
    else:
        lines.append("Next: re-running the same command changes nothing when the cluster is as described.")
    return lines


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "slipway.cluster.phases"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.phases: list[Phase] = []
        self._kubeconfig: str | None = None

    def _current(self) -> Phase | None:
        return self.phases[-1] if self.phases else None

    def _close_current(self) -> None:
        current = self._current()
        if current and current.ended is None:
            current.ended = time.monotonic()

    def v2_playbook_on_play_start(self, play):
        self._close_current()
        name = play.get_name().strip() or "unnamed play"
        self.phases.append(Phase(name=name, started=time.monotonic()))
        self._display.banner(f"PHASE {len(self.phases)}: {name}")

    def v2_playbook_on_task_start(self, task, is_conditional):
        current = self._current()
        if current:
            current.tasks += 1

    def v2_runner_on_ok(self, result):
        current = self._current()
        if current:
            current.ok += 1
            if result._result.get("changed", False):
                current.changed += 1
        facts = result._result.get("ansible_facts") or {}
        if facts.get("slipway_admin_kubeconfig"):
            self._kubeconfig = str(facts["slipway_admin_kubeconfig"])

    def v2_runner_on_failed(self, result, ignore_errors=False):
        current = self._current()
        if current and not ignore_errors:
            current.failed_hosts.add(result._host.get_name())

    def v2_runner_on_unreachable(self, result):
        current = self._current()
        if current:
            current.unreachable_hosts.add(result._host.get_name())

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        kubeconfig = self.get_option("kubeconfig_hint") or self._kubeconfig
        if kubeconfig and not os.path.exists(kubeconfig):
            kubeconfig = None
        for line in summarize(self.phases, kubeconfig):
            self._display.display(line)
