# SPDX-License-Identifier: Apache-2.0
"""The quality gates of ``tools/slipway.py test``, run in order, all of them every time.

Each gate is a command; a gate fails on a non-zero exit (pytest's exit 5, "no
tests collected", is a failure too).  The summary at the end names each gate
with its time, and the last line counts them.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .env import REPO


@dataclass
class Gate:
    name: str
    argv: list[str]
    cwd: Path = REPO
    env_extra: dict[str, str] = field(default_factory=dict)


def playbooks() -> list[Path]:
    return sorted(p for p in (REPO / "playbooks").glob("*.yml") if p.is_file())


def scenarios() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def gates(selected: set[str] | None, pytest_args: list[str]) -> list[Gate]:
    syntax = [
        Gate(
            f"syntax-check {p.relative_to(REPO)}",
            [
                "ansible-playbook",
                "--syntax-check",
                "-i",
                "inventory/sample/hosts.yml",
                str(p.relative_to(REPO)),
            ],
        )
        for p in playbooks()
    ]
    all_gates = [
        Gate("ruff", ["ruff", "check", "."]),
        Gate("ruff-format", ["ruff", "format", "--check", "."]),
        Gate("yamllint", ["yamllint", "--strict", "."]),
        Gate("ansible-lint", ["ansible-lint", "--profile", "production"]),
        *syntax,
        *[Gate(f"molecule {name}", ["molecule", "test", "-s", name]) for name in scenarios()],
        Gate("pytest", ["python", "-m", "pytest", *pytest_args]),
    ]
    if not selected:
        return all_gates
    return [g for g in all_gates if g.name.split(" ")[0] in selected or g.name in selected]


def run_gates(
    env: dict[str, str], selected: set[str] | None = None, pytest_args: list[str] | None = None
) -> int:
    results: list[tuple[str, bool, float]] = []
    for gate in gates(selected, pytest_args or []):
        print(f"\n==> {gate.name}: {' '.join(gate.argv)}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(gate.argv, cwd=gate.cwd, env={**env, **gate.env_extra}, check=False)
        elapsed = time.monotonic() - started
        ok = proc.returncode == 0
        if not ok:
            print(f"==> {gate.name} FAILED (exit {proc.returncode})", flush=True)
        results.append((gate.name, ok, elapsed))
    print("\n==> summary")
    for name, ok, elapsed in results:
        print(f"  {'PASS' if ok else 'FAIL'}  {elapsed:7.1f}s  {name}")
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"gates: {passed} passed, {failed} failed", flush=True)
    if os.environ.get("CI") == "true" and not results:
        return 1
    return 0 if failed == 0 and results else 1
