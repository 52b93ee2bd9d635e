# SPDX-License-Identifier: Apache-2.0
"""Swap planning on plain text: /proc/swaps, fstab, unit names, kept areas."""

from __future__ import annotations

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import swap

PROC_SWAPS = """Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority
/dev/vda2                               partition\t2097148\t\t0\t\t-2
/swap\\040file                           file\t\t1048572\t\t0\t\t-3
/swapfile\\040(deleted)                  file\t\t1048572\t\t0\t\t-4
/dev/zram0                              partition\t4194300\t\t0\t\t100
"""

FSTAB = """# /etc/fstab
UUID=1111 / ext4 defaults 0 1
UUID=2222 none swap sw 0 0
/swap\\040file none swap sw 0 0
# /old-swap none swap sw 0 0
LABEL=keepme none swap sw 0 0
"""


def test_proc_swaps_parsed_with_escapes_and_deleted_files():
    areas = swap.parse_proc_swaps(PROC_SWAPS)
    assert [a["path"] for a in areas] == ["/dev/vda2", "/swap file", "/swapfile", "/dev/zram0"]
    assert [a["deleted"] for a in areas] == [False, False, True, False]
    assert [a["type"] for a in areas] == ["partition", "file", "file", "partition"]


def test_proc_swaps_header_only_means_no_swap():
    assert swap.parse_proc_swaps("Filename\tType\tSize\tUsed\tPriority\n") == []


def test_fstab_lines_commented_not_deleted_and_kept_ones_untouched():
    after, disabled = swap.disable_fstab(FSTAB, keep=["LABEL=keepme"], resolve=lambda s: s)
    assert disabled == ["UUID=2222", "/swap file"]
    lines = after.splitlines()
    assert len(lines) == len(FSTAB.splitlines())
    assert f"{swap.FSTAB_MARK}UUID=2222 none swap sw 0 0" in lines
    assert f"{swap.FSTAB_MARK}/swap\\040file none swap sw 0 0" in lines
    assert "LABEL=keepme none swap sw 0 0" in lines
    assert "UUID=1111 / ext4 defaults 0 1" in lines
    assert "# /old-swap none swap sw 0 0" in lines


def test_fstab_second_pass_changes_nothing():
    once, _ = swap.disable_fstab(FSTAB, keep=[], resolve=lambda s: s)
    twice, disabled = swap.disable_fstab(once, keep=[], resolve=lambda s: s)
    assert twice == once
    assert disabled == []


def test_kept_by_resolved_path():
    table = {"UUID=2222": "/dev/vda2"}
    assert swap.is_kept("/dev/vda2", ["UUID=2222"], resolve=lambda s: table.get(s, s))
    assert not swap.is_kept("/dev/vda3", ["UUID=2222"], resolve=lambda s: table.get(s, s))
    assert not swap.is_kept("/dev/vda2", [], resolve=lambda s: s)


@pytest.mark.parametrize(
    ("unit", "path"),
    [
        ("dev-vda2.swap", "/dev/vda2"),
        ("swapfile.swap", "/swapfile"),
        ("var-lib-containerd-swap\\x2dnode1.swap", "/var/lib/containerd/swap-node1"),
        ("dev-zram0.swap", "/dev/zram0"),
    ],
)
def test_unit_names_unescape_to_paths(unit, path):
    assert swap.unit_to_path(unit) == path


def test_unit_list_parsing():
    out = "dev-vda2.swap generated -\nswapfile.swap masked enabled\n"
    assert swap.parse_unit_list(out) == {"dev-vda2.swap": "generated", "swapfile.swap": "masked"}
