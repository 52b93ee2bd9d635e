#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: package_hold
short_description: Hold or release a set of Debian packages in one module call
description:
  - Sets the dpkg selection of several packages at once, C(hold) so that C(apt upgrade) and
    unattended upgrades leave them at their version, or C(install) to release them; where
    M(ansible.builtin.dpkg_selections) takes one package per call.
  - Reads the current selections with one C(dpkg --get-selections) and changes only the packages
    whose selection differs, with one C(dpkg --set-selections).
  - A package that dpkg does not know (not installed, never selected) is an error naming it,
    since holding it would hold nothing; in check mode it is reported as a change with a
    warning (a check run before the packages are installed).
version_added: 0.3.0
author: Slipway developers
options:
  names:
    description: The packages.
    type: list
    elements: str
    required: true
  hold:
    description: C(true) holds the packages; C(false) sets them back to C(install).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One line per package whose selection changes.
  platform:
    platforms: linux
requirements:
  - dpkg on the managed node (Debian, Ubuntu)
seealso:
  - module: ansible.builtin.dpkg_selections
"""

EXAMPLES = r"""
- name: Kube packages | Hold them at this version
  slipway.cluster.package_hold:
    names: [kubeadm, kubelet, kubectl, cri-tools]
    hold: true
"""

RETURN = r"""
changed_packages:
  description: Packages whose selection changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [kubeadm, kubelet]
not_installed:
  description: Packages dpkg does not know yet (only in check mode; a real run fails on them).
  returned: always
  type: list
  elements: str
selections:
  description: Selection of each package after the call (as predicted in check mode).
  returned: always
  type: dict
  sample: {kubeadm: hold, kubelet: hold, kubectl: hold}
"""

from ansible.module_utils.basic import AnsibleModule


def parse_selections(text: str) -> dict[str, str]:
    """``dpkg --get-selections`` output: package (``name`` or ``name:arch``) -> selection."""
    selections = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2:
            selections[fields[0].split(":", 1)[0]] = fields[1]
    return selections


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            hold=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    names = module.params["names"]
    if not names:
        module.fail_json(msg="names: give at least one package")
    wanted = "hold" if module.params["hold"] else "install"
    dpkg = module.get_bin_path("dpkg", required=True)
    rc, out, err = module.run_command([dpkg, "--get-selections", *names])
    current = parse_selections(out)
    unknown = [name for name in names if name not in current]
    if unknown and module.check_mode:
        # a check run before the packages' installation: they would be installed, then held
        module.warn(f"not installed yet, so not checked: {', '.join(unknown)}")
        current.update(dict.fromkeys(unknown, "(not installed)"))
    elif unknown:
        module.fail_json(
            msg=f"names: dpkg does not know {', '.join(unknown)}; install the package(s) before holding them",
            stderr=err,
            rc=rc,
        )
    changing = [name for name in names if current[name] != wanted]
    result = dict(
        changed=bool(changing),
        changed_packages=changing,
        not_installed=unknown,
        selections={name: wanted if name in changing else current[name] for name in names},
    )
    if module._diff and changing:
        result["diff"] = dict(
            before="".join(f"{name} {current[name]}\n" for name in changing),
            after="".join(f"{name} {wanted}\n" for name in changing),
        )
    if changing and not module.check_mode:
        data = "".join(f"{name} {wanted}\n" for name in changing)
        rc, out, err = module.run_command([dpkg, "--set-selections"], data=data)
        if rc != 0:
            module.fail_json(
                msg=f"dpkg --set-selections failed: {err.strip()}", rc=rc, stdout=out, stderr=err
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
