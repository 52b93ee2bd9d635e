# SPDX-License-Identifier: Apache-2.0
"""swapoff run for real through ansible on files: check mode predicts, the second run changes nothing.

systemd and zram handling are off here (they act on the machine); molecule/node_prep
exercises them, with real swap areas, on lab hosts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.plugins.modules.test_pki_modules import run

FSTAB = "UUID=1 / ext4 defaults 0 1\n/swap.img none swap sw 0 0\nLABEL=keep none swap sw 0 0\n"
NO_SWAP = "Filename\tType\tSize\tUsed\tPriority\n"


@pytest.fixture
def files(tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text(FSTAB)
    swaps = tmp_path / "swaps"
    swaps.write_text(NO_SWAP)
    return tmp_path, {"fstab": str(fstab), "proc_swaps": str(swaps), "systemd": False, "zram": False}


def test_check_mode_predicts_then_run_then_nothing(files):
    tmp, args = files
    args["keep"] = ["LABEL=keep"]
    predicted = run("swapoff", args, "--check", "--diff")
    assert predicted["changed"] is True
    assert predicted["fstab_disabled"] == ["/swap.img"]
    assert (tmp / "fstab").read_text() == FSTAB  # check mode wrote nothing
    done = run("swapoff", args)
    assert done["changed"] is True
    assert done["fstab_disabled"] == predicted["fstab_disabled"]
    text = (tmp / "fstab").read_text()
    assert "#slipway-swapoff# /swap.img none swap sw 0 0" in text
    assert "\nLABEL=keep none swap sw 0 0" in text
    backup = done["backup_file"]
    assert Path(backup).read_text() == FSTAB
    again = run("swapoff", args)
    assert again["changed"] is False
    assert again["fstab_disabled"] == []


def test_foreign_active_area_is_left_on_with_a_warning(files):
    tmp, args = files
    (tmp / "swaps").write_text(NO_SWAP + "/nonexistent/swapfile file 1024 0 -2\n")
    result = run("swapoff", args | {"fstab": str(tmp / "missing-fstab")})
    assert result["_rc"] == 0
    assert result["left_on"] == ["/nonexistent/swapfile"]
    assert result["swapped_off"] == []
    assert result["changed"] is False
