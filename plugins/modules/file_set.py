#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: file_set
short_description: Put a role's directories and text files in place in one module call
description:
  - Creates or corrects a set of directories and writes a set of text files on the managed node
    with one module call, where a loop of M(ansible.builtin.file), M(ansible.builtin.copy) or
    M(ansible.builtin.template) tasks pays two or three round trips per item on every run,
    including the runs where nothing changes.
  - The content is given by the task (rendered on the controller, typically with
    P(ansible.builtin.template#lookup) or a filter), so it never has to be copied as a file first.
  - A file is rewritten only when its bytes differ; owner, group and mode are corrected in place
    otherwise. A file whose content is replaced is first backed up, beside itself or in
    O(files[].backup_dir) (for a directory whose every file is read, such as the kubelet's
    static-pod manifest directory), so nothing is silently lost.
  - Every write is atomic, through a temporary file in the destination directory, mode 0600 from its
    creation, optionally checked with O(files[].validate), given its final mode and owner, then
    renamed over the destination.
  - For secrets use M(slipway.cluster.pki_install) instead, which never shows content; this
    module shows text diffs.
version_added: 0.3.0
author: Slipway developers
options:
  directories:
    description: Directories to create, or whose mode, owner and group to correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      mode:
        description: Mode of the directory, as a quoted octal string such as C("0700").
        type: raw
        required: true
  files:
    description: Text files to write, after the directories are in place.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path of the file on the managed node.
        type: path
        required: true
      content:
        description: The whole content of the file (UTF-8 text).
        type: str
        required: true
      mode:
        description: Mode of the file, as a quoted octal string such as C("0644").
        type: raw
        required: true
      backup_dir:
        description:
          - Directory for the backup of this file when its content is replaced, instead of beside
            it. Must exist, or be one of O(directories).
        type: path
      validate:
        description:
          - Command that checks the new content before it replaces the file; C(%s) is the path of
            the temporary file. A non-zero exit fails the module and leaves the file as it was.
        type: str
  owner:
    description: Owner of every directory and file.
    type: str
    default: root
  group:
    description: Group of every directory and file.
    type: str
    default: root
  directory_mode:
    description: Mode of missing parent directories of a file that the module has to create.
    type: raw
    default: "0755"
  backup:
    description: Back up a file before its content is replaced.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One text diff per file whose content would change; one line per changed directory or mode.
  platform:
    platforms: posix
seealso:
  - module: slipway.cluster.pki_install
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Kubelet | Its directory and files
  slipway.cluster.file_set:
    directories:
      - {path: /var/lib/kubelet, mode: "0700"}
    files:
      - dest: /var/lib/kubelet/config.yaml
        content: "{{ kubelet_config | to_nice_yaml }}"
        mode: "0644"
  notify: Kubelet files changed

- name: Static pods, backups outside the directory the kubelet reads
  slipway.cluster.file_set:
    directories:
      - {path: /etc/kubernetes/manifests, mode: "0700"}
      - {path: /etc/kubernetes/tmp/slipway-manifests, mode: "0700"}
    files:
      - dest: /etc/kubernetes/manifests/etcd.yaml
        content: "{{ etcd_pod | to_nice_yaml }}"
        mode: "0600"
        backup_dir: /etc/kubernetes/tmp/slipway-manifests
"""

RETURN = r"""
changed_files:
  description: Files whose content, owner, group or mode changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/kubelet/config.yaml]
replaced_files:
  description: Files whose content was written (a subset of RV(changed_files)).
  returned: always
  type: list
  elements: str
backups:
  description: Backup file per replaced file that existed before.
  returned: always
  type: dict
  sample:
    /etc/kubernetes/manifests/etcd.yaml: /etc/kubernetes/tmp/slipway-manifests/etcd.yaml.42.2026-12-02@10:00~
created_directories:
  description: Directories the module created (listed ones and missing parents).
  returned: always
  type: list
  elements: str
changed_directories:
  description: Existing directories whose mode, owner or group was corrected.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError


class FileSet:
    def __init__(self, module: AnsibleModule):
        self.module = module
        params = module.params
        self.uid, self.gid = node_files.ids(params["owner"], params["group"])
        self.parent_mode = node_files.parse_mode(params["directory_mode"], "directory_mode")
        self.check = module.check_mode
        self.result = dict(
            changed=False,
            changed_files=[],
            replaced_files=[],
            backups={},
            created_directories=[],
            changed_directories=[],
        )
        self.diff: list[dict] = []
        self.planned: set[str] = set()  # directories created, or to be created in check mode

    def _exists(self, path: str) -> bool:
        return path in self.planned or os.path.isdir(path)

    def _create(self, path: str, mode: int) -> None:
        self.result["created_directories"].append(path)
        self.planned.add(path)
        self.diff.append(
            dict(before_header=path, after_header=path, before="(absent)\n", after=f"directory {mode:04o}\n")
        )
        if not self.check:
            node_files.make_directory(path, mode, self.uid, self.gid)

    def _parents(self, path: str) -> None:
        for parent in node_files.missing_parents(path):
            if not self._exists(parent):
                self._create(parent, self.parent_mode)

    def directory(self, index: int, entry: dict) -> None:
        path = entry["path"]
        where = f"directories[{index}] ({path})"
        if not os.path.isabs(path):
            raise NodeFileError(f"{where}: path must be absolute")
        mode = node_files.parse_mode(entry["mode"], where)
        if os.path.lexists(path) and not os.path.isdir(path):
            raise NodeFileError(f"{where}: exists and is not a directory; move it away first")
        self._parents(path)
        if not self._exists(path):
            self._create(path, mode)
            return
        if path in self.planned:
            return
        current = node_files.attributes_differ(path, mode, self.uid, self.gid)
        if current is None:
            return
        self.result["changed_directories"].append(path)
        self._attribute_diff(path, current, mode)
        if not self.check:
            os.chown(path, self.uid, self.gid)
            os.chmod(path, mode)

    def _attribute_diff(self, path: str, current: tuple[int, int, int], mode: int) -> None:
        self.diff.append(
            dict(
                before_header=path,
                after_header=path,
                before=f"mode {current[0]:04o} owner {current[1]}:{current[2]}\n",
                after=f"mode {mode:04o} owner {self.uid}:{self.gid}\n",
            )
        )

    def _validate(self, command: str, tmp: str, where: str) -> None:
        if "%s" not in command:
            raise NodeFileError(f"{where}: validate must contain %s (the file to check)")
        rc, out, err = self.module.run_command(command % tmp)
        if rc != 0:
            raise NodeFileError(f"{where}: validate failed (exit {rc}): {(err or out).strip()[-2000:]}")

    def file(self, index: int, entry: dict) -> None:
        dest = entry["dest"]
        where = f"files[{index}] ({dest})"
        if not os.path.isabs(dest):
            raise NodeFileError(f"{where}: dest must be an absolute path")
        mode = node_files.parse_mode(entry["mode"], where)
        data = entry["content"].encode("utf-8")
        backup_dir = entry.get("backup_dir")
        if backup_dir and not self._exists(backup_dir):
            raise NodeFileError(f"{where}: backup_dir {backup_dir} does not exist; add it to directories")
        self._parents(dest)
        current = None if os.path.dirname(dest) in self.planned else node_files.read_regular(dest, where)
        if current != data:
            self.result["changed_files"].append(dest)
            self.result["replaced_files"].append(dest)
            self.diff.append(
                dict(
                    before_header=dest,
                    after_header=dest,
                    before=node_files.diff_text(current),
                    after=node_files.diff_text(data),
                )
            )
            if self.check:  # like copy and template, check mode writes nothing, not even to validate
                return
            tmp = node_files.write_temporary(os.path.dirname(dest), data)
            try:
                if entry.get("validate"):
                    self._validate(entry["validate"], tmp, where)
                if current is not None and self.module.params["backup"]:
                    self.result["backups"][dest] = node_files.backup(dest, backup_dir)
            except BaseException:
                os.unlink(tmp)
                raise
            node_files.commit(tmp, dest, mode, self.uid, self.gid)
            return
        differ = node_files.attributes_differ(dest, mode, self.uid, self.gid)
        if differ is None:
            return
        self.result["changed_files"].append(dest)
        self._attribute_diff(dest, differ, mode)
        if not self.check:
            os.chown(dest, self.uid, self.gid)
            os.chmod(dest, mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(path=dict(type="path", required=True), mode=dict(type="raw", required=True)),
            ),
            files=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    dest=dict(type="path", required=True),
                    content=dict(type="str", required=True),
                    mode=dict(type="raw", required=True),
                    backup_dir=dict(type="path"),
                    validate=dict(type="str"),
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
        fileset = FileSet(module)
        for index, entry in enumerate(module.params["directories"]):
            fileset.directory(index, entry)
        for index, entry in enumerate(module.params["files"]):
            fileset.file(index, entry)
    except NodeFileError as error:
        module.fail_json(msg=str(error))
    result = fileset.result
    result["changed"] = bool(
        result["changed_files"] or result["created_directories"] or result["changed_directories"]
    )
    if module._diff and fileset.diff:
        result["diff"] = fileset.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
