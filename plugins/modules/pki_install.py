#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: pki_install
short_description: Put a node's certificates, keys and kubeconfigs in place in one module call
description:
  - Installs a set of files that the controller holds (a node's share of the PKI made by
    M(slipway.cluster.pki_ca), M(slipway.cluster.pki_cert) and M(slipway.cluster.kubeconfig))
    on the managed node with one module call, where M(ansible.builtin.copy) would need two or
    three round trips per file.
  - An action plugin reads each O(files[].src) on the controller and hands the bytes to the
    module; the content option is C(no_log), so it never appears in results, logs or C(-vvv).
  - A file is rewritten only when its bytes differ (SHA-256); owner, group and mode are
    corrected in place otherwise. A file that is replaced is first backed up beside itself
    when O(backup) is true (the default), so no key or certificate is silently lost.
  - Every write is atomic, through a temporary file in the destination directory that is
    created with mode 0600 and given its final mode and owner before it is renamed over the
    destination, so a key is never readable by others, not even for an instant.
version_added: 0.2.0
author: Slipway developers
options:
  files:
    description: The files to install.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description:
          - Path of the file on the controller (absolute, or found like M(ansible.builtin.copy)'s
            C(src) in a role's C(files/)). Read by the action plugin.
        type: path
      content:
        description:
          - The file's bytes, base64-encoded. Set by the action plugin from O(files[].src);
            give it directly only when calling the module without the action plugin.
        type: str
      dest:
        description: Absolute path on the managed node.
        type: path
        required: true
      mode:
        description: Mode of the file, as a quoted octal string such as C("0600").
        type: raw
        required: true
  owner:
    description: Owner of every file.
    type: str
    default: root
  group:
    description: Group of every file.
    type: str
    default: root
  directory_mode:
    description: Mode of the destination directories the module has to create.
    type: raw
    default: "0755"
  backup:
    description: Back up a file beside itself (timestamped name) before its content is replaced.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: >-
      One line per file that would change, with the SHA-256 of certificates and kubeconfigs;
      keys are named only.
  platform:
    platforms: posix
notes:
  - Runs as an action plugin plus a module; C(src) is read on the controller, never on the node.
seealso:
  - module: slipway.cluster.pki_cert
  - module: slipway.cluster.kubeconfig
"""

EXAMPLES = r"""
- name: PKI | Install this node's files
  slipway.cluster.pki_install:
    files:
      - {src: /home/me/.slipway/pki/ca.crt, dest: /etc/kubernetes/pki/ca.crt, mode: "0644"}
      - {src: /home/me/.slipway/pki/ca.key, dest: /etc/kubernetes/pki/ca.key, mode: "0600"}
  register: pki_install_result
"""

RETURN = r"""
changed_files:
  description: Destinations whose content, owner, group or mode changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/kubernetes/pki/apiserver.crt, /etc/kubernetes/pki/apiserver.key]
replaced_files:
  description: Destinations whose content was replaced (a subset of RV(changed_files)).
  returned: always
  type: list
  elements: str
backups:
  description: Backup file per replaced destination that existed before.
  returned: always
  type: dict
  sample: {/etc/kubernetes/pki/apiserver.crt: /etc/kubernetes/pki/apiserver.crt.12345.2026-12-01@10:00:00~}
created_directories:
  description: Directories the module created.
  returned: always
  type: list
  elements: str
"""

import base64
import binascii
import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError

SECRET_SUFFIXES = (".key",)


def _describe(dest: str, data: bytes) -> str:
    if dest.endswith(SECRET_SUFFIXES):
        return f"{dest} (key material, not shown)\n"
    return f"{dest} sha256:{hashlib.sha256(data).hexdigest()}\n"


class Installer:
    """Installs the entries one by one, collecting the result and the diff."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.uid, self.gid = node_files.ids(module.params["owner"], module.params["group"])
        self.directory_mode = node_files.parse_mode(module.params["directory_mode"], "directory_mode")
        self.result = dict(
            changed=False, changed_files=[], replaced_files=[], backups={}, created_directories=[]
        )
        self.before: list[str] = []
        self.after: list[str] = []

    @staticmethod
    def _decode(entry: dict, where: str) -> bytes:
        if not os.path.isabs(entry["dest"]):
            raise NodeFileError(f"{where}: dest must be an absolute path")
        if entry.get("content") is None:
            raise NodeFileError(f"{where}: no content; call the module through its action plugin with src")
        try:
            return base64.b64decode(entry["content"], validate=True)
        except (binascii.Error, ValueError):
            raise NodeFileError(f"{where}: content is not valid base64") from None

    def _parents(self, dest: str) -> None:
        for directory in node_files.missing_parents(dest):
            if directory in self.result["created_directories"]:
                continue
            self.result["created_directories"].append(directory)
            if not self.module.check_mode:
                node_files.make_directory(directory, self.directory_mode, self.uid, self.gid)

    def install(self, index: int, entry: dict) -> None:
        dest = entry["dest"]
        where = f"files[{index}] ({dest})"
        data = self._decode(entry, where)
        mode = node_files.parse_mode(entry["mode"], where)
        self._parents(dest)
        current = node_files.read_regular(dest, where)
        if current != data:
            self.result["changed_files"].append(dest)
            self.result["replaced_files"].append(dest)
            self.before.append(_describe(dest, current) if current is not None else f"{dest} (absent)\n")
            self.after.append(_describe(dest, data))
            if self.module.check_mode:
                return
            if current is not None and self.module.params["backup"]:
                self.result["backups"][dest] = node_files.backup(dest)
            node_files.write_atomic(dest, data, mode, self.uid, self.gid)
            return
        differ = node_files.attributes_differ(dest, mode, self.uid, self.gid)
        if differ is None:
            return
        self.result["changed_files"].append(dest)
        self.before.append(f"{dest} mode {differ[0]:04o} owner {differ[1]}:{differ[2]}\n")
        self.after.append(f"{dest} mode {mode:04o} owner {self.uid}:{self.gid}\n")
        if not self.module.check_mode:
            os.chown(dest, self.uid, self.gid)
            os.chmod(dest, mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    src=dict(type="path"),
                    content=dict(type="str", no_log=True),
                    dest=dict(type="path", required=True),
                    mode=dict(type="raw", required=True),
                ),
            ),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            directory_mode=dict(type="raw", default="0755"),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        installer = Installer(module)
        for index, entry in enumerate(module.params["files"]):
            installer.install(index, entry)
    except NodeFileError as error:
        module.fail_json(msg=str(error))
    result = installer.result
    result["changed"] = bool(result["changed_files"] or result["created_directories"])
    if module._diff:
        result["diff"] = dict(
            before_header="node files",
            after_header="node files",
            before="".join(installer.before),
            after="".join(installer.after),
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
