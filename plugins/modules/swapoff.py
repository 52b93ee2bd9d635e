#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: swapoff
short_description: Turn swap off now and keep it off across reboots, except what the user keeps
description:
  - Turns off every active swap area (C(/proc/swaps)) with C(swapoff), comments out (never deletes)
    the swap lines of C(/etc/fstab) with the marker C(#slipway-swapoff#), masks every systemd swap
    unit and C(swap.target), and disables zram swap set up at boot (zram-tools, zram-config and
    systemd's zram-generator).
  - A unit whose file the administrator wrote in C(/etc/systemd/system) cannot be masked without
    replacing that file; it is disabled instead (and C(swap.target), masked, no longer pulls it in).
  - Swap areas named in O(keep) are left alone, by path or by C(UUID=)/C(LABEL=) spec; when
    O(keep) is not empty C(swap.target) is not masked, since the kept swap needs it at boot.
  - An active area whose path does not exist on this host (a swap file deleted while in use, or
    an area of another container on the same kernel) cannot be turned off by path; it is reported
    in RV(left_on) with a warning instead of failing.
  - Idempotent by reading the state. A second run finds nothing active, the lines commented and
    the units masked, and reports no change.
version_added: 0.1.0
author: Slipway developers
options:
  keep:
    description: Swap areas to leave on and enabled (device or file paths, or fstab specs like C(UUID=...)).
    type: list
    elements: str
    default: []
  fstab:
    description: The fstab file to disable swap lines in.
    type: path
    default: /etc/fstab
  proc_swaps:
    description: Where the kernel lists active swap areas.
    type: path
    default: /proc/swaps
  systemd:
    description: Mask systemd swap units and C(swap.target) so nothing activates swap at boot.
    type: bool
    default: true
  zram:
    description: Disable zram swap set up at boot (zram-tools, zram-config, zram-generator).
    type: bool
    default: true
  backup:
    description: Copy fstab aside (C(<file>.<UTC time>.bak), same mode) before changing it.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The fstab text before and after, and the lists of areas and units.
  platform:
    platforms: linux
"""

EXAMPLES = r"""
- name: Swap off, now and at boot
  slipway.cluster.swapoff:

- name: Swap off except the swap partition the user keeps
  slipway.cluster.swapoff:
    keep: ["UUID=0bfb5a17-1728-4b0a-ad52-5849464665fb"]
"""

RETURN = r"""
swapped_off:
  description: Areas turned off now.
  type: list
  elements: str
  returned: always
fstab_disabled:
  description: Specs of the fstab lines commented out.
  type: list
  elements: str
  returned: always
masked:
  description: systemd units masked.
  type: list
  elements: str
  returned: always
disabled:
  description: Enabled units whose file is the administrator's own in C(/etc/systemd/system); disabled.
  type: list
  elements: str
  returned: always
zram_generator_disabled:
  description: Whether the zram-generator override file was written.
  type: bool
  returned: always
kept:
  description: Active areas left on because O(keep) names them.
  type: list
  elements: str
  returned: always
left_on:
  description: Active areas whose path does not exist here.
  type: list
  elements: str
  returned: always
backup_file:
  description: The fstab backup, when one was made.
  type: str
  returned: when fstab changed and O(backup) is true
"""

import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import swap


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def write_atomic(module: AnsibleModule, path: str, text: str) -> None:
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".slipway-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    module.atomic_move(tmp, path)


def systemd_units(module: AnsibleModule) -> dict[str, str]:
    """Every swap unit systemd knows (files and loaded units) with its state."""
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return {}
    units: dict[str, str] = {}
    for argv in (
        [systemctl, "list-units", "--type=swap", "--all", "--plain", "--no-legend", "--no-pager"],
        # The pattern is not redundant: without one, systemd works out the state of
        # every unit file on the host before filtering by type (0.5 s against 0.01 s).
        [systemctl, "list-unit-files", "--type=swap", "--plain", "--no-legend", "--no-pager", "*.swap"],
    ):
        rc, out, err = module.run_command(argv)
        # list-unit-files exits 1, silently, when no unit matches.
        if rc != 0 and (err.strip() or out.strip()):
            module.fail_json(msg=f"{' '.join(argv)} failed (rc {rc}): {err.strip()}")
        for unit, state in swap.parse_unit_list(out).items():
            units[unit] = "masked" if "masked" in (state, units.get(unit)) else state
    return units


def unit_state(module: AnsibleModule, systemctl: str, unit: str) -> str:
    """``masked``, ``enabled``, ... or ``not-found``; ``is-enabled`` is read-only."""
    _rc, out, _err = module.run_command([systemctl, "is-enabled", unit])
    return out.strip() or "not-found"


def plan_areas(module: AnsibleModule, keep: list[str], result: dict) -> None:
    """Sort the active areas into swapped_off, kept and left_on."""
    for area in swap.parse_proc_swaps(read(module.params["proc_swaps"])):
        path = area["path"]
        if swap.is_kept(path, keep):
            result["kept"].append(path)
        elif area["deleted"] or not os.path.exists(path):
            result["left_on"].append(path)
            module.warn(f"swap area {path} is active but does not exist on this host; left on")
        else:
            result["swapped_off"].append(path)


def plan_units(module: AnsibleModule, systemctl: str | None, keep: list[str], result: dict) -> None:
    """Units to mask, or to disable when the administrator's own file in /etc would be replaced."""
    p = module.params

    def plan(unit: str, state: str) -> None:
        if state in ("masked", "not-found"):
            return
        if not swap.admin_unit(unit):
            result["masked"].append(unit)
        elif state == "enabled":
            result["disabled"].append(unit)

    if systemctl and p["systemd"]:
        for unit, state in sorted(systemd_units(module).items()):
            if not swap.is_kept(swap.unit_to_path(unit), keep):
                plan(unit, state)
        if not keep and unit_state(module, systemctl, "swap.target") != "masked":
            result["masked"].append("swap.target")
    if systemctl and p["zram"]:
        for unit in swap.ZRAM_SERVICES:
            plan(unit, unit_state(module, systemctl, unit))


def apply(module: AnsibleModule, systemctl: str | None, after: str, result: dict) -> None:
    p = module.params
    for path in result["swapped_off"]:
        rc, _out, err = module.run_command([module.get_bin_path("swapoff", required=True), path])
        if rc != 0:
            module.fail_json(msg=f"swapoff {path} failed: {err.strip()}", **result)
    if result["fstab_disabled"]:
        if p["backup"]:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            result["backup_file"] = f"{p['fstab']}.{stamp}.bak"
            shutil.copy2(p["fstab"], result["backup_file"])
        write_atomic(module, p["fstab"], after)
    if result["zram_generator_disabled"]:
        os.makedirs(os.path.dirname(swap.ZRAM_GENERATOR_CONF), exist_ok=True)
        write_atomic(module, swap.ZRAM_GENERATOR_CONF, swap.ZRAM_GENERATOR_TEXT)
    for verb in ("disable", "mask"):
        units = result["disabled" if verb == "disable" else "masked"]
        if units:
            rc, _out, err = module.run_command([systemctl, verb, *units])
            if rc != 0:
                module.fail_json(msg=f"systemctl {verb} {' '.join(units)} failed: {err.strip()}", **result)
    if result["fstab_disabled"] and systemctl:
        module.run_command([systemctl, "daemon-reload"], check_rc=True)


def run(module: AnsibleModule) -> dict:
    p = module.params
    keep = p["keep"]
    result = {
        "changed": False,
        "swapped_off": [],
        "fstab_disabled": [],
        "masked": [],
        "disabled": [],
        "zram_generator_disabled": False,
        "kept": [],
        "left_on": [],
    }
    plan_areas(module, keep, result)
    before = read(p["fstab"])
    after, result["fstab_disabled"] = swap.disable_fstab(before, keep)
    systemctl = module.get_bin_path("systemctl") if p["systemd"] or p["zram"] else None
    plan_units(module, systemctl, keep, result)
    generator = p["zram"] and any(os.path.exists(g) for g in swap.ZRAM_GENERATORS)
    result["zram_generator_disabled"] = bool(
        generator and read(swap.ZRAM_GENERATOR_CONF) != swap.ZRAM_GENERATOR_TEXT
    )
    pending = result["swapped_off"] + result["masked"] + result["disabled"]
    result["changed"] = bool(pending or result["fstab_disabled"] or result["zram_generator_disabled"])
    if module._diff:
        result["diff"] = [
            {"before_header": p["fstab"], "after_header": p["fstab"], "before": before, "after": after},
            {
                "before_header": "swap areas on, units not masked or disabled",
                "after_header": "swap areas on, units not masked or disabled",
                "before": "".join(f"{x}\n" for x in pending),
                "after": "",
            },
        ]
    if result["changed"] and not module.check_mode:
        apply(module, systemctl, after, result)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "keep": {"type": "list", "elements": "str", "default": []},
            "fstab": {"type": "path", "default": "/etc/fstab"},
            "proc_swaps": {"type": "path", "default": "/proc/swaps"},
            "systemd": {"type": "bool", "default": True},
            "zram": {"type": "bool", "default": True},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
