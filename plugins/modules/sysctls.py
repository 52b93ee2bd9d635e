#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: sysctls
short_description: Set a set of sysctls live and persist them in one sysctl.d file, in one module call
description:
  - Reads the live value of every sysctl in O(settings) from C(/proc/sys), writes those that differ,
    and writes the persist file O(file) when its content differs, all in one module call, where a
    loop of M(ansible.posix.sysctl) pays one round trip per sysctl on every run, no-op runs included.
  - Values are compared as the kernel prints them, with runs of whitespace made one space, so a
    multi-value sysctl is given as C("4096 87380 6291456"). Booleans, and the words C(yes), C(on),
    C(true) (and C(no), C(off), C(false)) are 1 and 0, as M(ansible.posix.sysctl) takes them.
  - Names use dots or slashes as sysctl(8) reads them; a dot inside a component (a VLAN interface
    C(eth0.1)) is written as a slash in the dotted form (C(net.ipv4.conf.eth0/1.rp_filter)). Globs
    and the sysctl.d C(-) prefix are not supported.
  - O(file) is the module's whole. It holds a C(# Managed by Slipway (role kernel)) header and one
    C(name=value) line per sysctl sorted by name, the format C(sysctl --system) and
    systemd-sysctl read at boot. Lines of any other layout, or of sysctls no longer given, are
    replaced; the old file is first copied beside itself as C(<name>.<pid>.<date>@<time>~), a name
    that neither reads, since they read only C(*.conf) files. The write is atomic (a temporary
    file in the same directory, renamed over it), mode 0644, owner root.
  - A sysctl that does not exist under O(proc_root) fails the module, naming it, before anything is
    written. Its kernel module has to be loaded first (C(kernel_modules) of the kernel role), or
    the sysctl removed from the settings (C(kernel_sysctls)).
  - A value the kernel refuses fails the module naming the sysctl and the value; the live values
    written before it stay, and O(file) is left as it was so the next boot does not apply it.
  - A value the kernel accepts but prints differently (so the next run would write it again) gives a
    warning that names what the kernel prints.
version_added: 0.3.0
author: Slipway developers
options:
  settings:
    description:
      - Sysctl name to wanted value, such as C(net.ipv4.ip_forward) to C(1).
      - Values are numbers, booleans or strings; write them the way the kernel prints them.
      - An empty dict writes O(file) with its header only.
    type: dict
    required: true
  file:
    description: The persist file, written whole, such as C(/etc/sysctl.d/99-kubernetes.conf).
    type: path
    required: true
  live:
    description:
      - Also set the running kernel, writing C(/proc/sys/<name with dots as slashes>) for each value
        that differs.
      - When false only O(file) is written; the live values are not even read, so the sysctls need
        not exist yet.
    type: bool
    default: true
  proc_root:
    description: Where the kernel shows its sysctls (a directory tree imitating it, in tests).
    type: path
    default: /proc/sys
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The text of O(file) before and after, and one line per live value that changes.
  platform:
    platforms: linux
notes:
  - The live values of the C(net.*) sysctls belong to the network namespace the module runs in
    (a container's own, in a container).
seealso:
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: Kernel | Set sysctls live and persist them
  slipway.cluster.sysctls:
    settings:
      net.bridge.bridge-nf-call-iptables: 1
      net.ipv4.ip_forward: 1
      net.ipv4.tcp_rmem: "4096 87380 6291456"
    file: /etc/sysctl.d/99-kubernetes.conf

- name: Persist only, for the next boot
  slipway.cluster.sysctls:
    settings: {vm.max_map_count: 262144}
    file: /etc/sysctl.d/99-kubernetes.conf
    live: false
"""

RETURN = r"""
changed_live:
  description: Sysctls whose live value was written (or would be, in check mode), dotted names, sorted.
  returned: always
  type: list
  elements: str
  sample: [net.ipv4.ip_forward]
file_changed:
  description: Whether O(file) was written, or its mode or owner corrected (or would be, in check mode).
  returned: always
  type: bool
backup_file:
  description: The copy of O(file) made before its content was replaced.
  returned: when O(file) existed and its content was replaced
  type: str
  sample: /etc/sysctl.d/99-kubernetes.conf.4242.2026-12-02@10:00:00~
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import node_files, sysctl
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError
from ansible_collections.slipway.cluster.plugins.module_utils.sysctl import SysctlError


class Sysctls:
    """The plan (live values that differ, the file's new text) and its application."""

    def __init__(self, module: AnsibleModule):
        p = module.params
        self.module = module
        self.proc_root = p["proc_root"]
        self.values = sysctl.wanted(p["settings"])
        self.live: dict[str, str] = {}  # name -> current value, for the values that differ
        if p["live"]:
            self.live, missing = sysctl.plan_live(self.proc_root, self.values)
            if missing:
                raise SysctlError(sysctl.missing_message(missing, self.proc_root))
        self.file = node_files.ManagedFile(p["file"], sysctl.file_text(self.values).encode("utf-8"), "file")
        file_changed = self.file.changed
        self.result = {
            "changed": bool(self.live) or file_changed,
            "changed_live": sorted(self.live),
            "file_changed": file_changed,
        }

    def diff(self) -> list[dict]:
        diff = self.file.diff()
        if self.live:
            header = f"live values under {self.proc_root}"
            names = sorted(self.live)
            before = "".join(f"{key} = {self.live[key]}\n" for key in names)
            after = "".join(f"{key} = {self.values[key]}\n" for key in names)
            diff.append(node_files.diff_entry(header, before, after))
        return diff

    def apply(self) -> None:
        # Live values first: a value the kernel refuses is then never persisted for the next boot.
        written: list[str] = []
        for key in sorted(self.live):
            want = self.values[key]
            try:
                sysctl.write_live(self.proc_root, key, want)
            except SysctlError as error:
                self.module.fail_json(
                    msg=str(error), changed=bool(written), changed_live=written, file_changed=False
                )
            written.append(key)
            shown = sysctl.read_live(self.proc_root, key)
            if shown != want:
                self.module.warn(
                    f"{key}: the kernel accepted {want!r} but shows {shown!r}; give the value the way "
                    "the kernel prints it, or every run will write it again"
                )
        try:
            saved = self.file.apply()
            if saved:
                self.result["backup_file"] = saved
        except OSError as error:
            self.module.fail_json(
                msg=f"file: writing {self.file.path} failed: {error}",
                changed=bool(written),
                changed_live=written,
                file_changed=False,
            )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "required": True},
            "file": {"type": "path", "required": True},
            "live": {"type": "bool", "default": True},
            "proc_root": {"type": "path", "default": "/proc/sys"},
        },
        supports_check_mode=True,
    )
    node_files.run_plan(module, Sysctls, (SysctlError, NodeFileError))


if __name__ == "__main__":
    main()
