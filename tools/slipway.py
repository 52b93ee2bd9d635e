#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Slipway's development and lab command line.

    python3 tools/slipway.py cluster   # set up, build the lab, run playbooks/cluster.yml on it
    python3 tools/slipway.py test      # set up, run every quality gate and test

Both install what is missing (Debian packages, the pinned virtualenv, the
collections, the lab images) and reuse what is already there.  Other commands:
``setup``, ``lab ...`` (images/up/down/status), ``exec -- CMD`` (run CMD inside
the toolchain environment).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from slipway_tools import env as toolchain
from slipway_tools import gates

LAB_INVENTORY = toolchain.REPO / "inventory" / "lab" / "hosts.yml"


def _lab(env: dict[str, str], argv: list[str]) -> int:
    os.environ.update(env)
    from slipway_tools import lab  # noqa: PLC0415  (needs the toolchain environment first)

    return lab.main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slipway", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install what is missing and reuse what is there")
    test = sub.add_parser("test", help="run every gate: lint, syntax, molecule, pytest")
    test.add_argument(
        "--only", action="append", help="run only this gate (repeatable), e.g. pytest, molecule"
    )
    test.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    cluster = sub.add_parser("cluster", help="bring the lab up and run playbooks/cluster.yml against it")
    cluster.add_argument("-i", "--inventory", default=str(LAB_INVENTORY))
    cluster.add_argument(
        "--offline-lab",
        action="store_true",
        help="no pkgs.k8s.io/GitHub here: stand-in packages and Debian's containerd binaries (tools/lab/)",
    )
    cluster.add_argument("ansible_args", nargs="*", help="extra arguments for ansible-playbook")
    lab = sub.add_parser("lab", help="lab images and hosts (images, up, down, status)")
    lab.add_argument("lab_args", nargs=argparse.REMAINDER)
    standin = sub.add_parser("standin-repo", help="build the signed stand-in package repository tests use")
    standin.add_argument("standin_args", nargs=argparse.REMAINDER)
    mirror = sub.add_parser("release-mirror", help="containerd/runc release layout from Debian binaries")
    mirror.add_argument("mirror_args", nargs=argparse.REMAINDER)
    artifacts = sub.add_parser("artifacts", help="air-gap: list every artifact, or `bundle DEST` to carry")
    artifacts.add_argument("artifacts_args", nargs=argparse.REMAINDER)
    sub.add_parser("component-docs", help="regenerate docs/components/*.md from the renderer")
    run = sub.add_parser("exec", help="run a command inside the toolchain environment")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    started = time.monotonic()
    env = toolchain.setup()
    toolchain.log(f"toolchain ready in {time.monotonic() - started:.0f} s")
    return COMMANDS[args.command](env, args)


def _setup(_env: dict[str, str], _args: argparse.Namespace) -> int:
    return 0


def _test(env: dict[str, str], args: argparse.Namespace) -> int:
    wants_molecule = not args.only or any(name.startswith("molecule") for name in args.only)
    if os.environ.get("CI") == "true" and shutil.which("podman") and _lab(env, ["prune"]) != 0:
        return 1
    if wants_molecule and gates.scenarios():
        if _lab(env, ["images"]) != 0:
            return 1
        env = toolchain.environment(toolchain.venv_dir())
    return gates.run_gates(env, set(args.only or []), args.pytest_args)


def _lab_command(env: dict[str, str], args: argparse.Namespace) -> int:
    return _lab(env, args.lab_args)


def _standin(_env: dict[str, str], args: argparse.Namespace) -> int:
    sys.path.insert(0, str(toolchain.REPO / ".collections"))
    from slipway_tools import standin  # noqa: PLC0415  (imports the collection)

    return standin.main(args.standin_args)


def _release_mirror(_env: dict[str, str], args: argparse.Namespace) -> int:
    from slipway_tools import release_mirror  # noqa: PLC0415

    return release_mirror.main(args.mirror_args)


def _artifacts(_env: dict[str, str], args: argparse.Namespace) -> int:
    sys.path.insert(0, str(toolchain.REPO / ".collections"))
    from slipway_tools import artifacts  # noqa: PLC0415  (imports the collection)

    return artifacts.main(args.artifacts_args)


def _component_docs(_env: dict[str, str], _args: argparse.Namespace) -> int:
    sys.path.insert(0, str(toolchain.REPO / ".collections"))
    from slipway_tools import component_docs  # noqa: PLC0415  (imports the collection)

    return component_docs.main()


def _exec(env: dict[str, str], args: argparse.Namespace) -> int:
    cmd = [c for c in args.cmd if c != "--"] or ["bash"]
    return subprocess.run(cmd, env=env, check=False).returncode


def _cluster(env: dict[str, str], args: argparse.Namespace) -> int:
    if _lab(env, ["up", "-i", args.inventory]) != 0:
        return 1
    env = toolchain.environment(toolchain.venv_dir())
    extra: list[str] = []
    if args.offline_lab:
        offline = toolchain.CACHE / "lab" / "offline"
        offline.mkdir(parents=True, exist_ok=True)
        env = {**env, "SLIPWAY_OFFLINE_DIR": str(offline)}
        sources = ["ansible-playbook", "-i", args.inventory, "tools/lab/offline-sources.yml"]
        if subprocess.run(sources, cwd=toolchain.REPO, env=env, check=False).returncode != 0:
            return 1
        extra = ["-e", "@tools/lab/offline-vars.yml"]
    playbook = ["ansible-playbook", "-i", args.inventory, "playbooks/cluster.yml", *extra, *args.ansible_args]
    return subprocess.run(playbook, cwd=toolchain.REPO, env=env, check=False).returncode


COMMANDS = {
    "setup": _setup,
    "test": _test,
    "lab": _lab_command,
    "exec": _exec,
    "cluster": _cluster,
    "standin-repo": _standin,
    "release-mirror": _release_mirror,
    "component-docs": _component_docs,
    "artifacts": _artifacts,
}

if __name__ == "__main__":
    sys.exit(main())
