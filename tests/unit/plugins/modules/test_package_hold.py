# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.package_hold through Ansible on localhost, against a stand-in dpkg that
keeps its selections in a file (the machine's own dpkg is never touched): check mode
predicts, one call holds every package with one --set-selections, a second call changes
nothing, release works, unknown packages are refused naming them."""

from __future__ import annotations

import os
import stat

import pytest
from test_pki_modules import run as run_module

FAKE_DPKG = """#!/usr/bin/env python3
import os, sys
state = os.environ["FAKE_DPKG_STATE"]
sel = dict(line.split() for line in open(state).read().splitlines() if line.strip())
with open(state + ".calls", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1] == "--get-selections":
    for name in sys.argv[2:]:
        if name in sel:
            print(f"{name}\\t\\t\\t{sel[name]}")
        else:
            print(f"dpkg: no packages found matching {name}", file=sys.stderr)
elif sys.argv[1] == "--set-selections":
    for line in sys.stdin.read().split("\\n"):
        if not line.strip():
            continue  # run_command ends the data with a newline; dpkg skips blank lines too
        name, value = line.split()
        sel[name] = value
    open(state, "w").write("".join(f"{n} {v}\\n" for n, v in sel.items()))
"""


@pytest.fixture
def dpkg(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dpkg"
    fake.write_text(FAKE_DPKG)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "selections"
    state.write_text("kubeadm install\nkubelet install\nkubectl hold\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DPKG_STATE", str(state))
    return state


def calls(state) -> list[str]:
    path = state.with_name(state.name + ".calls")
    return path.read_text().splitlines() if path.exists() else []


def test_hold_check_apply_idempotent_release(dpkg):
    args = {"names": ["kubeadm", "kubelet", "kubectl"]}
    predicted = run_module("package_hold", args, "--check")
    assert predicted["changed"] is True
    assert predicted["changed_packages"] == ["kubeadm", "kubelet"]
    assert "kubeadm install" in dpkg.read_text()  # check mode wrote nothing
    assert not any(c.startswith("--set-selections") for c in calls(dpkg))

    applied = run_module("package_hold", args)
    assert applied["changed"] is True, applied
    assert applied["selections"] == {"kubeadm": "hold", "kubelet": "hold", "kubectl": "hold"}
    assert dpkg.read_text().splitlines() == ["kubeadm hold", "kubelet hold", "kubectl hold"]
    assert [c for c in calls(dpkg) if c.startswith("--set")] == ["--set-selections"]  # one call for all

    again = run_module("package_hold", args)
    assert again["changed"] is False

    released = run_module("package_hold", args | {"hold": False})
    assert released["changed_packages"] == ["kubeadm", "kubelet", "kubectl"]
    assert "hold" not in dpkg.read_text()


def test_unknown_package_is_refused_and_predicted_in_check_mode(dpkg):
    refused = run_module("package_hold", {"names": ["kubeadm", "cri-tools"]})
    assert refused["_rc"] != 0
    assert "dpkg does not know cri-tools" in refused["msg"]
    assert "kubeadm install" in dpkg.read_text()
    predicted = run_module("package_hold", {"names": ["kubeadm", "cri-tools"]}, "--check")
    assert predicted["changed_packages"] == ["kubeadm", "cri-tools"]
    assert predicted["not_installed"] == ["cri-tools"]
