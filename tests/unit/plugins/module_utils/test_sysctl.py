# SPDX-License-Identifier: Apache-2.0
"""Sysctl planning on plain data: names in both notations, values as the kernel prints them,
the persisted file's text (read back by procps' own parser rules), live reads and writes on a
fake /proc/sys."""

from __future__ import annotations

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import sysctl
from ansible_collections.slipway.cluster.plugins.module_utils.sysctl import SysctlError

VLAN_PATH = "net/ipv4/conf/eth0.1/rp_filter"  # interface eth0.1: a dot inside a component
BAD_NAMES = ["", "  ", None, 3, "net.*.x", "-net.ipv4.ip_forward", "net..x", ".net", "net."]
BAD_NAMES += ["net/../etc", "a b", "a=b", "net.//.x", "net./x", "net.x/", "/net/x"]


@pytest.mark.parametrize(
    ("key", "dotted", "path"),
    [
        ("net.ipv4.ip_forward", "net.ipv4.ip_forward", "net/ipv4/ip_forward"),
        (" net.ipv4.ip_forward ", "net.ipv4.ip_forward", "net/ipv4/ip_forward"),
        ("net/ipv4/ip_forward", "net.ipv4.ip_forward", "net/ipv4/ip_forward"),
        ("net/ipv4/conf/eth0.1/rp_filter", "net.ipv4.conf.eth0/1.rp_filter", VLAN_PATH),
        ("net.ipv4.conf.eth0/1.rp_filter", "net.ipv4.conf.eth0/1.rp_filter", VLAN_PATH),
        ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-iptables", None),
        ("kernel", "kernel", "kernel"),
    ],
)
def test_names_in_both_notations(key, dotted, path):
    assert sysctl.name(key) == dotted
    if path:
        assert sysctl.relative_path(dotted) == path


@pytest.mark.parametrize("key", BAD_NAMES)
def test_bad_names_are_refused(key):
    with pytest.raises(SysctlError, match="settings"):
        sysctl.name(key)


def test_slash_first_names_never_climb_out_of_proc_root():
    # In slash form a ".." component is refused like any empty dotted component.
    for key in ("net/../../etc/passwd", "../x", "net/./x"):
        with pytest.raises(SysctlError):
            sysctl.name(key)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (1, "1"),
        (0, "0"),
        (True, "1"),
        (False, "0"),
        ("1", "1"),
        (" 1\n", "1"),
        ("yes", "1"),
        ("On", "1"),
        ("false", "0"),
        ("4096\t87380  6291456", "4096 87380 6291456"),
        ("cubic", "cubic"),
        (262144, "262144"),
        (0.5, "0.5"),
    ],
)
def test_values_as_the_kernel_prints_them(raw, value):
    assert sysctl.value("x.y", raw) == value


@pytest.mark.parametrize(
    ("raw", "message"), [("", "empty"), (" \t", "empty"), (None, "number"), ({}, "number")]
)
def test_bad_values_are_refused(raw, message):
    with pytest.raises(SysctlError, match=rf"settings\.x\.y: .*{message}"):
        sysctl.value("x.y", raw)


def test_wanted_refuses_the_same_sysctl_twice_and_non_dicts():
    assert sysctl.wanted({"a.b": 1, "a/c": "2"}) == {"a.b": "1", "a.c": "2"}
    assert sysctl.wanted({}) == {}
    with pytest.raises(SysctlError, match=r"a\.b is given twice"):
        sysctl.wanted({"a.b": 1, "a/b": 1})
    with pytest.raises(SysctlError, match="dict"):
        sysctl.wanted(["a.b=1"])


def parse_like_procps(text: str) -> dict[str, str]:
    """sysctl --system's reading: '#' and ';' comments, 'key = value' with optional spaces."""
    result = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip()
    return result


def test_file_text_is_sorted_with_a_header_and_reads_back():
    values = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "a.b": "1 2 3"}
    text = sysctl.file_text(values)
    assert text == (
        "# Managed by Slipway (role kernel)\n"
        "a.b=1 2 3\n"
        "net.bridge.bridge-nf-call-iptables=1\n"
        "net.ipv4.ip_forward=1\n"
    )
    assert parse_like_procps(text) == values
    assert sysctl.file_text({}) == "# Managed by Slipway (role kernel)\n"


def test_plan_live_reads_normalised_and_lists_the_missing(tmp_path):
    (tmp_path / "net/ipv4").mkdir(parents=True)
    (tmp_path / "net/ipv4/ip_forward").write_text("1\n")
    (tmp_path / "net/ipv4/tcp_rmem").write_text("4096\t87380\t6291456\n")
    (tmp_path / "net/ipv4/tcp_wmem").write_text("4096\t16384\t4194304\n")
    values = {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.tcp_rmem": "4096 87380 6291456",
        "net.ipv4.tcp_wmem": "4096 65536 4194304",
        "net.bridge.bridge-nf-call-iptables": "1",
    }
    differ, missing = sysctl.plan_live(str(tmp_path), values)
    assert differ == {"net.ipv4.tcp_wmem": "4096 16384 4194304"}
    assert missing == ["net.bridge.bridge-nf-call-iptables"]
    message = sysctl.missing_message(missing, str(tmp_path))
    assert "net.bridge.bridge-nf-call-iptables does not exist" in message
    assert "kernel_modules" in message
    assert "kernel_sysctls" in message
    with pytest.raises(SysctlError, match="directory"):
        sysctl.read_live(str(tmp_path), "net.ipv4")


def test_write_live_and_a_refused_write(tmp_path):
    (tmp_path / "net/ipv4").mkdir(parents=True)
    (tmp_path / "net/ipv4/ip_forward").write_text("0\n")
    sysctl.write_live(str(tmp_path), "net.ipv4.ip_forward", "1")
    assert sysctl.read_live(str(tmp_path), "net.ipv4.ip_forward") == "1"
    (tmp_path / "net/ipv4/refused").symlink_to("/dev/full")  # every write fails, like EINVAL
    with pytest.raises(SysctlError, match=r"refused net\.ipv4\.refused=7"):
        sysctl.write_live(str(tmp_path), "net.ipv4.refused", "7")
