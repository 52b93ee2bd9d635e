#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_modules
short_description: Load kernel modules now and list them in one modules-load.d file, in one module call
description:
  - Finds which of O(names) the kernel already has, loads the others with C(modprobe), and writes
    the modules-load.d file O(path) when its content differs, all in one module call, where a
    M(ansible.builtin.find), a loop of M(community.general.modprobe) and a M(ansible.builtin.copy)
    pay a round trip each (one per module for the loop) on every run, no-op runs included.
  - A module is present when C(/sys/module/<name>) exists (loaded, or built in with parameters) or
    when its file in O(markers) exists (a file only the module creates, for a module built into
    the kernel without a C(/sys/module) entry, such as C(br_netfilter)). Only absent modules are
    probed, so kernels with the features built in and no C(/lib/modules) work as well as modular
    ones.
  - A C(modprobe) that fails fails the module naming the module and what to do; the modules loaded
    before it stay loaded, and O(path) is left as it was.
  - O(path) is the module's whole. It holds a C(# Managed by Slipway (role kernel)) header and one
    module name per line in the order given, what systemd-modules-load reads at boot. Other
    content is replaced; the old file is first copied beside itself as
    C(<name>.<pid>.<date>@<time>~) (see O(backup)), a name systemd-modules-load does not read,
    since it reads only C(*.conf) files. The write is atomic (a temporary file in the same
    directory, renamed over it), mode 0644, owner root.
version_added: 0.3.0
author: Slipway developers
options:
  names:
    description:
      - Kernel modules to load now and list in O(path), such as C(overlay) and C(br_netfilter).
      - An empty list loads nothing and writes O(path) with its header only.
    type: list
    elements: str
    required: true
  markers:
    description:
      - Module name to a file whose existence shows the module is active, for modules that have no
        C(/sys/module) entry when built into the kernel.
      - Markers of modules not in O(names) are ignored.
    type: dict
    default: {}
  path:
    description: The modules-load.d file, written whole, such as C(/etc/modules-load.d/kubernetes.conf).
    type: path
    required: true
  backup:
    description: Copy O(path) beside itself before its content is replaced.
    type: bool
    default: true
  sys_module_root:
    description: Where the kernel shows its modules (a directory imitating it, in tests).
    type: path
    default: /sys/module
attributes:
  check_mode:
    support: full
    details: Reports the modules it would load and whether O(path) would be written; runs no C(modprobe).
  diff_mode:
    support: full
    details: The text of O(path) before and after, and one line per module that is loaded.
  platform:
    platforms: linux
notes:
  - In a container, C(/sys/module) is the host kernel's, and C(modprobe) needs the host's
    C(/lib/modules) and the privilege to load modules.
seealso:
  - module: community.general.modprobe
  - module: slipway.cluster.sysctls
"""

EXAMPLES = r"""
- name: Kernel | Load the modules now and at boot (one call)
  slipway.cluster.kernel_modules:
    names: [overlay, br_netfilter]
    markers:
      br_netfilter: /proc/sys/net/bridge/bridge-nf-call-iptables
    path: /etc/modules-load.d/kubernetes.conf
"""

RETURN = r"""
loaded:
  description: Modules loaded with C(modprobe) (or that would be, in check mode), in the order given.
  returned: always
  type: list
  elements: str
  sample: [br_netfilter]
written:
  description: Whether O(path) was written, or its mode or owner corrected (or would be, in check mode).
  returned: always
  type: bool
backup_file:
  description: The copy of O(path) made before its content was replaced.
  returned: when O(path) existed, O(backup) is true and its content was replaced
  type: str
  sample: /etc/modules-load.d/kubernetes.conf.4242.2026-12-02@10:00:00~
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError

HEADER = "# Managed by Slipway (role kernel)"
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def checked_names(names: list[str]) -> list[str]:
    """The names as given, each a module name (no path, no option), none twice."""
    for name in names:
        if not NAME.match(name):
            raise NodeFileError(f"names: {name!r} is not a kernel module name")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise NodeFileError(f"names: {', '.join(twice)} given twice")
    return names


def file_text(names: list[str]) -> bytes:
    """What the kernel role's modules-load.d file holds (the layout of its earlier copy task)."""
    return ("\n".join([HEADER, *names]) + "\n").encode("utf-8")


class KernelModules:
    """The plan (modules to load, the file's new text) and its application."""

    def __init__(self, module: AnsibleModule):
        p = module.params
        self.module, self.root = module, p["sys_module_root"]
        self.names = checked_names(p["names"])
        self.markers = {name: p["markers"][name] for name in self.names if name in p["markers"]}
        for name, marker in self.markers.items():
            if not isinstance(marker, str) or not os.path.isabs(marker):
                raise NodeFileError(f"markers.{name}: {marker!r} must be an absolute path")
        self.missing = [name for name in self.names if not self.present(name)]
        self.file = node_files.ManagedFile(p["path"], file_text(self.names), "path")
        written = self.file.changed
        self.result = {"changed": bool(self.missing) or written, "loaded": self.missing, "written": written}

    def present(self, name: str) -> bool:
        marker = self.markers.get(name)
        return os.path.exists(os.path.join(self.root, name)) or bool(marker and os.path.exists(marker))

    def diff(self) -> list[dict]:
        diff = self.file.diff()
        if self.missing:
            loaded = "".join(f"{name}\n" for name in self.missing)
            diff.append(node_files.diff_entry(f"modules in the running kernel ({self.root})", "", loaded))
        return diff

    def load(self) -> None:
        """modprobe each absent module, in order; the first failure fails the module."""
        loaded: list[str] = []
        if not self.missing:
            return
        modprobe = self.module.get_bin_path("modprobe")
        if modprobe is None:
            self.module.fail_json(
                msg=(
                    f"modprobe not found, needed to load {', '.join(self.missing)}: install kmod, "
                    "or remove them from the names (kernel_modules)"
                ),
                changed=False,
                loaded=loaded,
                written=False,
            )
        for name in self.missing:
            rc, out, err = self.module.run_command([modprobe, name])
            if rc != 0:
                self.module.fail_json(
                    msg=(
                        f"modprobe {name} failed (rc {rc}): {(err or out).strip()}. Install the module "
                        "for the running kernel (its modules package, then reboot into it if the kernel "
                        f"was upgraded), or remove {name} from the names (kernel_modules), or, when it is "
                        "built into the kernel, name a file that shows it in markers "
                        "(kernel_module_markers)"
                    ),
                    changed=bool(loaded),
                    loaded=loaded,
                    written=False,
                )
            loaded.append(name)

    def apply(self) -> None:
        # Modules first: a module that cannot be loaded is then not listed for the next boot.
        self.load()
        self.write()

    def write(self) -> None:
        try:
            saved = self.file.apply(backup_old=self.module.params["backup"])
            if saved:
                self.result["backup_file"] = saved
        except OSError as error:
            self.module.fail_json(
                msg=f"path: writing {self.file.path} failed: {error}",
                changed=bool(self.missing),
                loaded=self.missing,
                written=False,
            )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "markers": {"type": "dict", "default": {}},
            "path": {"type": "path", "required": True},
            "backup": {"type": "bool", "default": True},
            "sys_module_root": {"type": "path", "default": "/sys/module"},
        },
        supports_check_mode=True,
    )
    node_files.run_plan(module, KernelModules)


if __name__ == "__main__":
    main()
