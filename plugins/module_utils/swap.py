# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Pure helpers of the ``swapoff`` module: read /proc/swaps and fstab, plan what to disable.

No Ansible imports, so the planning is unit tested on plain text.
"""

from __future__ import annotations

import os

#: Prefix put in front of an fstab swap line we disable; removing it restores the line.
FSTAB_MARK = "#slipway-swapoff# "

#: Units that set up zram swap at boot: zram-tools (Debian), zram-config (Ubuntu), and
#: the per-device service of systemd's zram-generator.
ZRAM_SERVICES = ("zramswap.service", "zram-config.service")
ZRAM_GENERATORS = (
    "/usr/lib/systemd/system-generators/zram-generator",
    "/lib/systemd/system-generators/zram-generator",
)
#: An empty file of this name overrides the distribution's zram-generator defaults
#: and makes the generator create no device (zram-generator.conf(5)).
ZRAM_GENERATOR_CONF = "/etc/systemd/zram-generator.conf"
ZRAM_GENERATOR_TEXT = "# Managed by Slipway (role swap): no zram swap, the kubelet runs without swap.\n"


def unescape_octal(text: str) -> str:
    r"""/proc/swaps and fstab write spaces and tabs as ``\040`` and ``\011``."""
    out, i = [], 0
    while i < len(text):
        digits = text[i + 1 : i + 4]
        if text[i] == "\\" and len(digits) == 3 and digits.isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_proc_swaps(text: str) -> list[dict]:
    """Active swap areas: ``[{"path": ..., "type": "partition|file", "deleted": bool}]``."""
    areas = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 2:
            continue
        path = unescape_octal(fields[0])
        deleted = path.endswith(" (deleted)")
        if deleted:
            path = path[: -len(" (deleted)")]
        areas.append({"path": path, "type": fields[1], "deleted": deleted})
    return areas


def fstab_swap_lines(text: str) -> list[tuple[int, str]]:
    """``(index, spec)`` of every enabled fstab line whose type is swap."""
    found = []
    for index, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) >= 3 and fields[2] == "swap":
            found.append((index, unescape_octal(fields[0])))
    return found


def resolve_spec(spec: str, dev_root: str = "/dev/disk") -> str:
    """``UUID=x`` / ``LABEL=x`` / ``PARTUUID=x`` / a path -> the real path when it can be found."""
    for key, directory in (
        ("UUID=", "by-uuid"),
        ("LABEL=", "by-label"),
        ("PARTUUID=", "by-partuuid"),
        ("PARTLABEL=", "by-partlabel"),
    ):
        if spec.startswith(key):
            link = os.path.join(dev_root, directory, spec[len(key) :])
            return os.path.realpath(link) if os.path.exists(link) else spec
    return os.path.realpath(spec) if spec.startswith("/") else spec


def is_kept(spec: str, keep: list[str], resolve=resolve_spec) -> bool:
    """True when ``spec`` names the same swap as an entry of ``keep`` (by text or real path)."""
    if not keep:
        return False
    wanted = set(keep) | {resolve(k) for k in keep}
    return spec in wanted or resolve(spec) in wanted


def disable_fstab(text: str, keep: list[str], resolve=resolve_spec) -> tuple[str, list[str]]:
    """Comment out (never delete) the swap lines not kept; return the new text and the specs."""
    lines = text.splitlines(keepends=True)
    disabled = []
    for index, spec in fstab_swap_lines(text):
        if is_kept(spec, keep, resolve):
            continue
        lines[index] = FSTAB_MARK + lines[index]
        disabled.append(spec)
    return "".join(lines), disabled


def unit_to_path(unit: str) -> str:
    r"""``dev-vda2.swap`` -> ``/dev/vda2``; ``swapfile.swap`` -> ``/swapfile`` (systemd-escape --path)."""
    name = unit[: -len(".swap")] if unit.endswith(".swap") else unit
    out, i = [], 0
    while i < len(name):
        if name.startswith("\\x", i) and i + 4 <= len(name):
            out.append(chr(int(name[i + 2 : i + 4], 16)))
            i += 4
        elif name[i] == "-":
            out.append("/")
            i += 1
        else:
            out.append(name[i])
            i += 1
    return "/" + "".join(out)


def parse_unit_list(text: str) -> dict[str, str]:
    """``systemctl list-unit-files --plain --no-legend`` -> ``{unit: state}``;
    ``list-units`` lines (``unit load active sub ...``) give their load state."""
    units = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            units[fields[0]] = fields[1]
    return units


def admin_unit(unit: str, unit_dir: str = "/etc/systemd/system") -> bool:
    """True when ``unit`` is a file (or a link to one) the administrator placed in /etc.

    ``systemctl mask`` refuses such units; a mask is itself a link to /dev/null there.
    """
    path = os.path.join(unit_dir, unit)
    if not os.path.lexists(path):
        return False
    return not (os.path.islink(path) and os.readlink(path) == "/dev/null")
