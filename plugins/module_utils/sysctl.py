# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Pure helpers of the ``sysctls`` module: names, values as the kernel prints them, the
sysctl.d file text, and the plan (which live values and whether the file must change).

No Ansible imports, so the planning is unit tested on plain data.
"""

from __future__ import annotations

import os
import re

#: First line of the persisted file; the file is the module's whole, sorted.
HEADER = "# Managed by Slipway (role kernel)"

#: Accepted like ansible.posix.sysctl does, so ``ip_forward: true`` keeps meaning 1.
TRUE_WORDS = frozenset({"y", "yes", "on", "true", "t"})
FALSE_WORDS = frozenset({"n", "no", "off", "false", "f"})

#: A sysctl prints at most a page or so; never read more than this of a file.
MAX_READ = 1 << 20

#: Characters of a sysctl name: /proc/sys path components (interface names included).
_NAME = re.compile(r"^[A-Za-z0-9_@:+.\-/]+$")


class SysctlError(Exception):
    """Bad input, or a sysctl this host does not have; the message names the key."""


def name(key) -> str:
    """The dotted name of ``key`` as sysctl(8) and sysctl.d(5) read it.

    Either separator may be used; when the first one is a slash, dots are part of the
    component names (``net/ipv4/conf/eth0.1/rp_filter``), and the dotted form writes such
    a dot as a slash (``net.ipv4.conf.eth0/1.rp_filter``).
    """
    if not isinstance(key, str) or not key.strip():
        raise SysctlError(f"settings: a sysctl name must be a non-empty string, not {key!r}")
    key = key.strip()
    if not _NAME.match(key):
        raise SysctlError(
            f"settings: {key!r} is not a sysctl name (letters, digits and _ - . / @ : + only; "
            "globs and the sysctl.d '-' prefix are not supported)"
        )
    first_dot, first_slash = key.find("."), key.find("/")
    if first_slash != -1 and (first_dot == -1 or first_slash < first_dot):
        key = key.translate(str.maketrans("./", "/."))
    # A part is one /proc/sys component whose dots are written as slashes: refuse empty
    # components and any that would become "." or ".." (or start or end with a dot).
    parts = key.split(".")
    if key.startswith("-") or any(not p or p[0] == "/" or p[-1] == "/" or "//" in p for p in parts):
        raise SysctlError(f"settings: {key!r} is not a sysctl name")
    return key


def relative_path(dotted: str) -> str:
    """``net.ipv4.ip_forward`` -> ``net/ipv4/ip_forward`` (a slash in the dotted name is a dot)."""
    return dotted.translate(str.maketrans("./", "/."))


def value(key: str, raw) -> str:
    """A wanted value as the kernel prints it: whitespace runs become one space, booleans 1/0."""
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, (int, float)):
        return str(raw)
    if not isinstance(raw, str):
        raise SysctlError(f"settings.{key}: the value must be a number or a string, not {raw!r}")
    text = normalise(raw)
    if not text:
        raise SysctlError(f"settings.{key}: the value is empty")
    if text.lower() in TRUE_WORDS:
        return "1"
    if text.lower() in FALSE_WORDS:
        return "0"
    return text


def normalise(text: str) -> str:
    """The kernel prints several values separated by tabs (``4096\\t87380\\t6291456``)."""
    return " ".join(text.split())


def wanted(settings: dict) -> dict[str, str]:
    """Dotted name -> normalised value; one sysctl named twice (``a.b`` and ``a/b``) is refused."""
    if not isinstance(settings, dict):
        raise SysctlError(f"settings: give a dict of sysctl name to value, not {settings!r}")
    result: dict[str, str] = {}
    for key, raw in settings.items():
        dotted = name(key)
        if dotted in result:
            raise SysctlError(f"settings: {dotted} is given twice")
        result[dotted] = value(dotted, raw)
    return result


def file_text(values: dict[str, str]) -> str:
    """The persisted file: the header, then ``name=value`` lines sorted by name."""
    lines = [HEADER] + [f"{key}={values[key]}" for key in sorted(values)]
    return "\n".join(lines) + "\n"


def read_live(proc_root: str, dotted: str) -> str | None:
    """The value the kernel prints for ``dotted``, normalised; None when the sysctl does not exist."""
    path = os.path.join(proc_root, relative_path(dotted))
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):
        raise SysctlError(f"{dotted}: {path} is a directory of sysctls, not one sysctl")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return normalise(handle.read(MAX_READ))
    except OSError as error:
        raise SysctlError(f"{dotted}: cannot read {path}: {error.strerror or error}") from None


def missing_message(missing: list[str], proc_root: str) -> str:
    names = ", ".join(missing)
    return (
        f"sysctl {names} does not exist under {proc_root} on this host: load the kernel module that "
        "provides it first (kernel_modules, e.g. br_netfilter for net.bridge.*) or remove it from "
        "kernel_sysctls"
    )


def plan_live(proc_root: str, values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The current value of each sysctl that differs (name -> current), and the missing names."""
    differ: dict[str, str] = {}
    missing: list[str] = []
    for key in sorted(values):
        current = read_live(proc_root, key)
        if current is None:
            missing.append(key)
        elif current != values[key]:
            differ[key] = current
    return differ, missing


def write_live(proc_root: str, dotted: str, text: str) -> None:
    """Write one value; the kernel refuses a bad one when it is written or closed."""
    path = os.path.join(proc_root, relative_path(dotted))
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as error:
        raise SysctlError(
            f"the kernel refused {dotted}={text} (writing {path}): {error.strerror or error}"
        ) from None
