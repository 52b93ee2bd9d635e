# SPDX-License-Identifier: Apache-2.0
"""Every bad input of the validation through the real playbooks: it stops and no host is touched.

Each run gets a generated inventory whose hosts are 127.0.0.1 on a port nothing listens
on, over ``ansible_connection: ssh``, and an ``ansible_ssh_executable`` (an extra var, so
it wins over any inventory) that records each call before running the real ssh. A run
touched no host when: ssh was never started, no UNREACHABLE appears, and the recap lists
every host with changed=0 and unreachable=0. ``test_the_detector_sees_a_contacted_host``
shows that this assertion fails as soon as a play reaches for a host.

The runs are independent processes; a session fixture starts every selected run at once
on a thread pool, and each test waits for its own.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.unit.plugins.module_utils.test_validation import CASES, GOOD

REPO = Path(__file__).resolve().parents[2]
BY_ID = {c[0]: c for c in CASES}
VALIDATED = re.compile(r"Preflight \| Validate the inventory and settings\] \*+\nok: \[")
# Missing controller libraries cannot be faked for a real ansible-playbook (it imports
# them); that case is the unit test's. Too-old versions are faked with dist-info metadata.
PLAYBOOK_CASES = [c[0] for c in CASES if c[0] != "controller-python"]
# The main playbook imports the same preflight play first: a few inputs through it too.
CLUSTER_CASES = [
    "cni",
    "subnet-overlap",
    "version-skew-kubelet",
    "kube-vip-conflict",
    "unknown-role-variable",
]

# The pod network's playbook imports it too: its own checks through it.
NETWORK_CASES = ["cni-pool-outside-pod-subnet", "cni-calico-bgp", "cni-kube-proxy-replacement"]


@dataclass
class Run:
    returncode: int
    out: str
    ssh_log: Path
    hosts: list


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with socket.socket() as probe:  # released on close: make sure nothing took it
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def write_inventory(path: Path, case: dict, port: int) -> list:
    """The case as an inventory file; returns the hosts the preflight play runs for."""
    hosts = {
        host: {
            "ansible_host": "127.0.0.1",
            "ansible_port": port,
            "ansible_connection": "ssh",
            **case["hostvars"].get(host, {}),
        }
        for host in case["groups"]["all"]
    }
    changed = {k: v for k, v in case["settings"].items() if GOOD["settings"].get(k, object()) != v}
    groups = {
        name: {"hosts": {h: {} for h in members}} for name, members in case["groups"].items() if name != "all"
    }
    doc = {"all": {"hosts": hosts, "vars": {**changed, **case.get("roles", {})}, "children": groups}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return list(case["groups"]["k8s_cluster"])  # the preflight play's hosts


def fake_distributions(root: Path, installed: dict) -> str | None:
    """dist-info of the controller versions a case wants, found before the real ones."""
    wanted = {n: v for n, v in installed.items() if v != GOOD["controller"][n]}
    if not wanted:
        return None
    for name, version in wanted.items():
        info = root / "fake-site" / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return str(root / "fake-site")


def run_playbook(workdir: Path, case: dict, playbook: str, port: int) -> Run:
    workdir.mkdir(parents=True)
    ssh_log = workdir / "ssh-calls.log"
    wrapper = workdir / "ssh"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {ssh_log}\nexec ssh "$@"\n')
    wrapper.chmod(0o755)
    hosts = write_inventory(workdir / "hosts.yml", case, port)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("PYTHONPATH", None)
    fake = fake_distributions(workdir, case.get("controller", GOOD["controller"]))
    if fake:
        env["PYTHONPATH"] = fake
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(workdir / "hosts.yml"),
            f"playbooks/{playbook}",
            "-e",
            "preflight_check_package_source=false",
            "-e",
            f"ansible_ssh_executable={wrapper}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, ssh_log, hosts)


def assert_no_host_touched(run: Run) -> None:
    calls = run.ssh_log.read_text() if run.ssh_log.exists() else ""
    assert calls == "", f"ssh was started: {calls}"
    assert "UNREACHABLE" not in run.out, run.out[-3000:]
    recap = {
        host: (int(changed), int(unreachable))
        for host, changed, unreachable in re.findall(
            r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)", run.out, re.M
        )
    }
    assert set(recap) == set(run.hosts), f"recap {recap} does not list every host:\n{run.out[-3000:]}"
    assert all(counts == (0, 0) for counts in recap.values()), recap


@pytest.fixture(scope="session")
def runs(request, tmp_path_factory):
    """Starts every run the selected tests need, all at once; ``runs[(check, playbook)]`` waits for one."""
    port = closed_port()
    root = tmp_path_factory.mktemp("preflight")
    wanted = {("GOOD", "preflight.yml"), ("GOOD", "nodes.yml")}
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "check" in params and "playbook" in params:
            wanted.add((params["check"], params["playbook"]))
    cases = {"GOOD": GOOD} | {c[0]: c[1] for c in CASES}
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        futures = {
            key: pool.submit(run_playbook, root / f"{key[0]}-{key[1]}", cases[key[0]], key[1], port)
            for key in sorted(wanted)
        }
        yield {key: future for key, future in futures.items()}
        for future in futures.values():
            future.cancel()


def check_bad_input(runs, check: str, playbook: str) -> None:
    _check, _case, variable, message, fix = BY_ID[check]
    run = runs[(check, playbook)].result()
    assert run.returncode != 0, run.out[-3000:]
    assert "no host was touched" in run.out, run.out[-3000:]
    line = re.search(rf"\[{re.escape(check)}\] {re.escape(variable)}: (.*?) Fix: (.*)$", run.out, re.M)
    assert line, f"no line for [{check}] {variable}:\n{run.out[-3000:]}"
    assert message in line.group(1)
    assert fix in line.group(2)
    assert_no_host_touched(run)


@pytest.mark.parametrize("playbook", ["preflight.yml"])
@pytest.mark.parametrize("check", PLAYBOOK_CASES)
def test_bad_input_stops_before_any_host(runs, check, playbook):
    check_bad_input(runs, check, playbook)


@pytest.mark.parametrize("playbook", ["cluster.yml"])
@pytest.mark.parametrize("check", CLUSTER_CASES)
def test_bad_input_stops_the_main_playbook_before_any_host(runs, check, playbook):
    check_bad_input(runs, check, playbook)


@pytest.mark.parametrize("playbook", ["network.yml"])
@pytest.mark.parametrize("check", NETWORK_CASES)
def test_bad_cni_input_stops_the_network_playbook_before_any_host(runs, check, playbook):
    check_bad_input(runs, check, playbook)


def test_the_good_inventory_passes_without_touching_a_host(runs):
    run = runs[("GOOD", "preflight.yml")].result()
    assert run.returncode == 0, run.out[-3000:]
    assert VALIDATED.search(run.out), run.out[-3000:]
    assert_no_host_touched(run)


def test_the_detector_sees_a_contacted_host(runs):
    """nodes.yml gathers facts after the preflight play: the assertion above must catch that."""
    run = runs[("GOOD", "nodes.yml")].result()
    assert run.returncode != 0
    assert run.ssh_log.read_text().strip(), "the ssh wrapper was not used"
    with pytest.raises(AssertionError):
        assert_no_host_touched(run)


@pytest.mark.parametrize("inventory", ["inventory/lab/hosts.yml", "inventory/sample/hosts.yml"])
def test_the_shipped_inventories_validate_clean(tmp_path, inventory):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    wrapper = tmp_path / "ssh"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "ssh-calls.log"}\nexit 255\n')
    wrapper.chmod(0o755)
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            inventory,
            "playbooks/validate.yml",
            "-e",
            "preflight_check_package_source=false",
            "-e",
            f"ansible_ssh_executable={wrapper}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert VALIDATED.search(out), out[-3000:]
    assert not (tmp_path / "ssh-calls.log").exists()
