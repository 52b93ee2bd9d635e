# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.kernel_modules, for real on localhost through ansible, on a directory that
imitates /sys/module (sys_module_root) and a fake modprobe first on PATH that logs its arguments
and creates /sys/module/<name>: an absent module is loaded by name, one present (in /sys/module or
through its marker) is not, the modules-load.d file is written exactly as the kernel role's copy
task wrote it, kept when equal, replaced after a backup when not, check mode predicts and does
nothing, and a modprobe that fails fails naming the module.

molecule/kernel runs the module on lab hosts against the real kernel."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_pki_modules import run as run_module

HEADER = "# Managed by Slipway (role kernel)\n"
FAKE_MODPROBE = """#!/bin/sh
echo "$@" >> "{log}"
case "$1" in
  no_such_*) echo "modprobe: FATAL: Module $1 not found in directory /lib/modules/6.1.0" >&2; exit 1 ;;
esac
mkdir -p "{root}/$1"
"""


def run(args: dict, *flags: str) -> dict:
    result = run_module("kernel_modules", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result


@pytest.fixture
def node(tmp_path, monkeypatch) -> tuple[Path, Path, Path, dict]:
    """A fake /sys/module holding overlay, a marker for a built-in br_netfilter (absent until a
    test makes it), a fake modprobe first on PATH, and the args."""
    root = tmp_path / "sys" / "module"
    (root / "overlay").mkdir(parents=True)
    marker = tmp_path / "proc" / "sys" / "net" / "bridge" / "bridge-nf-call-iptables"
    marker.parent.mkdir(parents=True)
    bin_dir, log = tmp_path / "bin", tmp_path / "modprobe.log"
    bin_dir.mkdir()
    modprobe = bin_dir / "modprobe"
    modprobe.write_text(FAKE_MODPROBE.format(log=log, root=root))
    modprobe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    conf = tmp_path / "etc" / "modules-load.d" / "kubernetes.conf"
    args = {
        "names": ["overlay", "br_netfilter"],
        "markers": {"br_netfilter": str(marker), "unused": "/nonexistent"},
        "path": str(conf),
        "sys_module_root": str(root),
    }
    return root, marker, conf, args


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "modprobe.log"
    return log.read_text().splitlines() if log.exists() else []


EXPECTED_FILE = HEADER + "overlay\nbr_netfilter\n"  # the role's copy task: header, names as given


def test_absent_module_is_loaded_by_name_and_the_file_written(node, tmp_path):
    root, _marker, conf, args = node
    predicted = run(args, "--check")
    assert predicted["failed"] is False, predicted
    assert (predicted["changed"], predicted["loaded"], predicted["written"]) == (True, ["br_netfilter"], True)
    assert calls(tmp_path) == [], "check mode ran modprobe"
    assert not conf.parent.exists(), "check mode wrote the file"

    applied = run(args)
    assert applied["failed"] is False, applied
    assert (applied["changed"], applied["loaded"], applied["written"]) == (True, ["br_netfilter"], True)
    assert calls(tmp_path) == ["br_netfilter"]  # overlay is in /sys/module: not probed
    assert (root / "br_netfilter").is_dir()
    assert "backup_file" not in applied  # nothing to back up
    assert conf.read_text() == EXPECTED_FILE
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert stat.S_IMODE(conf.parent.stat().st_mode) == 0o755

    for flags in (("--check",), ()):
        again = run(args, *flags)
        assert (again["changed"], again["loaded"], again["written"]) == (False, [], False), again
    assert calls(tmp_path) == ["br_netfilter"]
    assert sorted(p.name for p in conf.parent.iterdir()) == [conf.name]  # no temporary file, no backup


def test_present_through_its_marker_is_not_probed(node, tmp_path):
    _root, marker, conf, args = node
    marker.write_text("1\n")  # br_netfilter built in: no /sys/module entry, its sysctl exists
    result = run(args)
    assert result["loaded"] == []
    assert calls(tmp_path) == []
    assert conf.read_text() == EXPECTED_FILE


def test_file_as_the_copy_task_wrote_it_is_kept(node, tmp_path):
    _root, marker, conf, args = node
    marker.write_text("1\n")
    conf.parent.mkdir(parents=True)
    conf.write_text(EXPECTED_FILE)
    conf.chmod(0o644)
    inode = conf.stat().st_ino
    result = run(args)
    assert (result["changed"], result["written"]) == (False, False), result
    assert "backup_file" not in result
    assert conf.stat().st_ino == inode
    assert sorted(p.name for p in conf.parent.iterdir()) == [conf.name]


def test_differing_file_is_replaced_after_a_backup_and_mode_drift_fixed(node):
    _root, marker, conf, args = node
    marker.write_text("1\n")
    conf.parent.mkdir(parents=True)
    old = "overlay\nnf_conntrack\n"
    conf.write_text(old)
    conf.chmod(0o600)
    replaced = run(args)
    assert (replaced["changed"], replaced["loaded"], replaced["written"]) == (True, [], True)
    assert conf.read_text() == EXPECTED_FILE
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    backup = Path(replaced["backup_file"])
    assert backup.parent == conf.parent
    assert backup.name.startswith("kubernetes.conf.")
    assert not backup.name.endswith(".conf")  # systemd-modules-load reads only *.conf
    assert backup.read_text() == old

    conf.chmod(0o600)
    inode = conf.stat().st_ino
    fixed = run(args)
    assert (fixed["changed"], fixed["written"]) == (True, True)
    assert "backup_file" not in fixed
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert conf.stat().st_ino == inode
    assert run(args)["changed"] is False


def test_backup_false_replaces_without_a_copy(node):
    _root, marker, conf, args = node
    marker.write_text("1\n")
    conf.parent.mkdir(parents=True)
    conf.write_text("overlay\n")
    result = run(args | {"backup": False})
    assert (result["changed"], result["written"]) == (True, True)
    assert "backup_file" not in result
    assert sorted(p.name for p in conf.parent.iterdir()) == [conf.name]
    assert conf.read_text() == EXPECTED_FILE


def test_empty_names_write_the_header_only(node, tmp_path):
    _root, _marker, conf, args = node
    result = run(args | {"names": []})
    assert (result["changed"], result["loaded"]) == (True, [])
    assert conf.read_text() == HEADER
    assert calls(tmp_path) == []


def test_modprobe_failure_names_the_module_and_writes_nothing(node, tmp_path):
    root, _marker, conf, args = node
    args["names"] = ["br_netfilter", "no_such_module", "vxlan"]
    failed = run(args)
    assert failed["failed"] is True
    assert "modprobe no_such_module failed" in failed["msg"], failed["msg"]
    assert "Module no_such_module not found" in failed["msg"]  # modprobe's own words
    assert "kernel_modules" in failed["msg"]  # the fix
    assert failed["loaded"] == ["br_netfilter"]  # loaded before it, in order
    assert failed["changed"] is True
    assert calls(tmp_path) == ["br_netfilter", "no_such_module"]  # stops at the first failure
    assert not (root / "vxlan").exists()
    assert not conf.exists(), "a module that cannot be loaded must not be listed for the next boot"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"names": ["-r"]}, "'-r' is not a kernel module name"),
        ({"names": ["../overlay"]}, "is not a kernel module name"),
        ({"names": ["overlay", "overlay"]}, "names: overlay given twice"),
        (
            {"markers": {"overlay": "relative/marker"}},
            "markers.overlay: 'relative/marker' must be an absolute path",
        ),
        ({"path": "modules-load.d/kubernetes.conf"}, "must be an absolute path"),
    ],
)
def test_bad_input_is_refused(node, tmp_path, change, message):
    _root, _marker, conf, args = node
    failed = run(args | change)
    assert failed["failed"] is True
    assert message in failed["msg"], failed["msg"]
    assert calls(tmp_path) == []
    assert not conf.exists()


def test_a_directory_at_path_is_refused(node, tmp_path):
    _root, _marker, conf, args = node
    conf.mkdir(parents=True)
    failed = run(args)
    assert failed["failed"] is True
    assert "not a regular file" in failed["msg"]
    assert calls(tmp_path) == []
