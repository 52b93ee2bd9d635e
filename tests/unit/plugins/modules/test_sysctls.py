# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.sysctls, for real on localhost through ansible, on a directory tree that
imitates /proc/sys (proc_root): check mode predicts and writes nothing, one call sets the live
values and the persist file, a second call changes nothing, a drifted live value is corrected
without rewriting the file, an old file of another layout is replaced after a backup, a missing
sysctl and a value the kernel refuses fail naming the key, and bad input is refused.

molecule/kernel runs the module on lab hosts against the real /proc/sys."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_pki_modules import REPO
from test_pki_modules import run as run_module

HEADER = "# Managed by Slipway (role kernel)\n"


def run(args: dict, *flags: str) -> dict:
    result = run_module("sysctls", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result


def shown_diff(args: dict, *flags: str) -> str:
    """What ``--diff`` shows a user (default callback)."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
    )
    argv = ["ansible", "localhost", "-m", "slipway.cluster.sysctls", "-a", json.dumps(args)]
    argv += ["-e", f"ansible_python_interpreter={sys.executable}", "--diff", *flags]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False).stdout


@pytest.fixture
def node(tmp_path) -> tuple[Path, Path, dict]:
    """A fake /proc/sys with the role's five sysctls at 0 and a multi-value one, and the args."""
    proc = tmp_path / "proc" / "sys"
    for key in (
        "net/bridge/bridge-nf-call-iptables",
        "net/bridge/bridge-nf-call-ip6tables",
        "net/ipv4/ip_forward",
        "net/ipv6/conf/all/forwarding",
        "net/ipv6/conf/default/forwarding",
        "net/ipv4/conf/eth0.1/rp_filter",
    ):
        (proc / key).parent.mkdir(parents=True, exist_ok=True)
        (proc / key).write_text("0\n")
    (proc / "net/ipv4/tcp_rmem").write_text("4096\t131072\t6291456\n")
    conf = tmp_path / "etc" / "sysctl.d" / "99-kubernetes.conf"
    args = {
        "settings": {
            "net.bridge.bridge-nf-call-iptables": 1,
            "net.bridge.bridge-nf-call-ip6tables": "1",
            "net.ipv4.ip_forward": True,
            "net.ipv6.conf.all.forwarding": 1,
            "net.ipv6.conf.default.forwarding": 1,
            "net/ipv4/conf/eth0.1/rp_filter": 2,
            "net.ipv4.tcp_rmem": "4096  87380\t6291456",
        },
        "file": str(conf),
        "proc_root": str(proc),
    }
    return proc, conf, args


EXPECTED_FILE = HEADER + (
    "net.bridge.bridge-nf-call-ip6tables=1\n"
    "net.bridge.bridge-nf-call-iptables=1\n"
    "net.ipv4.conf.eth0/1.rp_filter=2\n"
    "net.ipv4.ip_forward=1\n"
    "net.ipv4.tcp_rmem=4096 87380 6291456\n"
    "net.ipv6.conf.all.forwarding=1\n"
    "net.ipv6.conf.default.forwarding=1\n"
)
ALL = [
    "net.bridge.bridge-nf-call-ip6tables",
    "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.conf.eth0/1.rp_filter",
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_rmem",
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.conf.default.forwarding",
]


def live(proc: Path) -> dict[str, str]:
    return {str(p.relative_to(proc)): p.read_text() for p in sorted(proc.rglob("*")) if p.is_file()}


def test_check_then_apply_then_nothing(node):
    proc, conf, args = node
    before = live(proc)

    predicted = run(args, "--check")
    assert predicted["failed"] is False, predicted
    assert predicted["changed"] is True
    assert predicted["changed_live"] == ALL
    assert predicted["file_changed"] is True
    assert live(proc) == before, "check mode wrote a live value"
    assert not conf.exists(), "check mode wrote the file"
    assert not conf.parent.exists()
    shown = shown_diff(args, "--check")
    assert "+net.ipv4.tcp_rmem=4096 87380 6291456" in shown
    assert "-net.ipv4.ip_forward = 0" in shown
    assert "+net.ipv4.ip_forward = 1" in shown

    applied = run(args)
    assert applied["changed"] is True, applied
    assert applied["changed_live"] == predicted["changed_live"]
    assert applied["file_changed"] is True
    assert "backup_file" not in applied  # nothing to back up
    assert (proc / "net/ipv4/ip_forward").read_text() == "1\n"
    assert (proc / "net/ipv4/conf/eth0.1/rp_filter").read_text() == "2\n"
    assert (proc / "net/ipv4/tcp_rmem").read_text() == "4096 87380 6291456\n"
    assert conf.read_text() == EXPECTED_FILE
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert stat.S_IMODE(conf.parent.stat().st_mode) == 0o755

    for flags in (("--check",), ()):
        again = run(args, *flags)
        assert again["changed"] is False, again
        assert again["changed_live"] == []
        assert again["file_changed"] is False
    assert sorted(p.name for p in conf.parent.iterdir()) == [conf.name]  # no temporary file, no backup


def test_kernel_tab_separated_value_is_no_change(node):
    """The kernel prints tcp_rmem with tabs; the wanted value with spaces is the same."""
    proc, _conf, args = node
    run(args)
    (proc / "net/ipv4/tcp_rmem").write_text("4096\t87380\t6291456\n")
    assert run(args)["changed"] is False


def test_drifted_live_value_is_corrected_without_rewriting_the_file(node):
    proc, conf, args = node
    run(args)
    inode = conf.stat().st_ino
    (proc / "net/ipv4/ip_forward").write_text("0\n")
    shown = shown_diff(args, "--check")
    assert "-net.ipv4.ip_forward = 0" in shown
    assert "+net.ipv4.ip_forward = 1" in shown
    assert str(conf) not in shown  # only the live value differs
    fixed = run(args)
    assert fixed["changed"] is True
    assert fixed["changed_live"] == ["net.ipv4.ip_forward"]
    assert fixed["file_changed"] is False
    assert (proc / "net/ipv4/ip_forward").read_text() == "1\n"
    assert conf.stat().st_ino == inode
    assert run(args)["changed"] is False


def test_old_layout_is_replaced_after_a_backup_and_mode_drift_fixed(node):
    proc, conf, args = node
    conf.parent.mkdir(parents=True)
    old = "net.bridge.bridge-nf-call-iptables=1\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n"
    conf.write_text(old)  # as ansible.posix.sysctl left it
    replaced = run(args | {"live": False})
    assert replaced["changed"] is True
    assert replaced["changed_live"] == []  # live false: only the file
    assert (proc / "net/ipv4/ip_forward").read_text() == "0\n"
    assert conf.read_text() == EXPECTED_FILE
    backup = Path(replaced["backup_file"])
    assert backup.parent == conf.parent
    assert backup.name.startswith("99-kubernetes.conf.")
    assert not backup.name.endswith(".conf")  # sysctl --system reads only *.conf
    assert backup.read_text() == old

    conf.chmod(0o600)
    inode = conf.stat().st_ino
    fixed = run(args | {"live": False})
    assert (fixed["changed"], fixed["file_changed"]) == (True, True)
    assert "backup_file" not in fixed
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert conf.stat().st_ino == inode
    assert run(args | {"live": False})["changed"] is False


def test_live_false_needs_no_sysctl(tmp_path):
    conf = tmp_path / "persist.conf"
    args = {"settings": {"vm.max_map_count": 262144}, "file": str(conf), "proc_root": str(tmp_path / "none")}
    result = run(args | {"live": False})
    assert (result["failed"], result["changed"]) == (False, True)
    assert conf.read_text() == HEADER + "vm.max_map_count=262144\n"


def test_missing_sysctl_fails_naming_it_and_writes_nothing(node):
    proc, conf, args = node
    before = live(proc)
    args["settings"]["net.bridge.bridge-nf-call-arptables"] = 1
    failed = run(args)
    assert failed["failed"] is True
    assert failed["changed"] is False
    assert "net.bridge.bridge-nf-call-arptables does not exist" in failed["msg"]
    assert "kernel_modules" in failed["msg"]
    assert "kernel_sysctls" in failed["msg"]
    assert live(proc) == before
    assert not conf.exists()


def test_refused_value_fails_naming_key_and_value(node):
    """/dev/full refuses every write (ENOSPC), as the kernel refuses a bad value (EINVAL)."""
    proc, conf, args = node
    (proc / "net/ipv4/ip_forward").unlink()
    (proc / "net/ipv4/ip_forward").symlink_to("/dev/full")
    failed = run(args)
    assert failed["failed"] is True
    assert "refused net.ipv4.ip_forward=1" in failed["msg"], failed["msg"]
    assert failed["changed_live"] == ALL[:3]  # written before it, in order
    assert not conf.exists(), "a refused value must not be persisted for the next boot"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"net.ipv4.ip_forward": ""}, "settings.net.ipv4.ip_forward: the value is empty"),
        ({"net.ipv4.ip_forward": [1]}, "must be a number or a string"),
        ({"net.ipv4.*.forwarding": 1}, "globs and the sysctl.d '-' prefix are not supported"),
        ({"-net.ipv4.ip_forward": 1}, "is not a sysctl name"),
        ({"net..ipv4": 1}, "is not a sysctl name"),
        ({"net.ipv4//x": 1}, "is not a sysctl name"),
        ({"net.ipv4 ip_forward": 1}, "is not a sysctl name"),
        ({"net.ipv4.ip_forward": 1, "net/ipv4/ip_forward": 0}, "net.ipv4.ip_forward is given twice"),
    ],
)
def test_bad_input_is_refused(node, settings, message):
    _proc, conf, args = node
    failed = run(args | {"settings": settings})
    assert failed["failed"] is True
    assert message in failed["msg"], failed["msg"]
    assert not conf.exists()


def test_relative_file_and_a_directory_are_refused(node):
    _proc, conf, args = node
    relative = run(args | {"file": "sysctl.d/x.conf"})
    assert "must be an absolute path" in relative["msg"]
    conf.mkdir(parents=True)
    clash = run(args)
    assert clash["failed"] is True
    assert "not a regular file" in clash["msg"]
    directory = run(args | {"settings": {"net.ipv4": 1}, "file": str(conf.parent / "y.conf")})
    assert "is a directory of sysctls" in directory["msg"]
