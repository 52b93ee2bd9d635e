#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: archive_install
short_description: Unpack release archives whose files must match, checked cheaply on every run
description:
  - Installs the files of one or more C(.tar.gz) release archives already on the managed node
    (containerd, the CNI plugins, crictl) into their destination directories, in one module call.
  - M(ansible.builtin.unarchive) decompresses and compares the whole archive on every run. This
    module keeps a record per archive (the archive's SHA-256 and the SHA-256 and mode of each
    file it put in place) and on later runs only hashes the installed files against that
    record; the archive is opened only when the archive changed or an installed file differs
    (edited, replaced, removed, mode changed), and then only the files that differ are written.
  - Only regular files and directories are accepted; an archive with an absolute path, a C(..)
    component, a link or a device is refused before anything is written.
  - Each file is written atomically (a temporary file in its directory, renamed over the old
    one), so a running binary is never truncated in place.
version_added: 0.3.0
author: Slipway developers
options:
  archives:
    description: The archives to install.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description: Path of the archive on the managed node (gzip-compressed tar).
        type: path
        required: true
      dest:
        description: Directory the archive's paths are relative to; created when missing.
        type: path
        required: true
  record_dir:
    description: Directory of the records, one JSON file per archive (named after it).
    type: path
    default: /var/lib/slipway/archives
  owner:
    description: Owner of the installed files and created directories.
    type: str
    default: root
  group:
    description: Group of the installed files and created directories.
    type: str
    default: root
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One line per file that would be written or whose mode would change.
  platform:
    platforms: posix
seealso:
  - module: ansible.builtin.unarchive
"""

EXAMPLES = r"""
- name: Containerd | Unpack the release archives
  slipway.cluster.archive_install:
    archives:
      - src: /var/cache/slipway/containerd-2.1.4-linux-amd64.tar.gz
        dest: /usr/local
"""

RETURN = r"""
written:
  description: Installed paths whose content was (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/containerd]
modes_fixed:
  description: Installed paths whose mode, owner or group was (or would be) corrected.
  returned: always
  type: list
  elements: str
opened:
  description: Archives that had to be opened (the record did not prove the files in place).
  returned: always
  type: list
  elements: str
records:
  description: Records written (or that would be), one per opened archive.
  returned: always
  type: list
  elements: str
"""

import hashlib
import json
import os
import tarfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError

CHUNK = 1 << 20


def sha256_file(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return digest.hexdigest()


def member_path(name: str, where: str) -> str:
    """The archive member's path, normalised; refused when it could leave the destination."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise NodeFileError(f"{where}: member {name!r} leaves the destination; archive refused")
    return "/".join(parts)


def record_path(record_dir: str, src: str) -> str:
    return os.path.join(record_dir, os.path.basename(src) + ".json")


def load_record(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def record_holds(record: dict, archive_sha: str, dest: str, uid: int, gid: int) -> bool:
    """Whether the record is for this archive and every file it lists is still in place."""
    if record.get("archive_sha256") != archive_sha or record.get("dest") != dest:
        return False
    files = record.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, wanted in files.items():
        path = os.path.join(dest, rel)
        if os.path.islink(path) or sha256_file(path) != wanted.get("sha256"):
            return False
        if node_files.attributes_differ(path, wanted.get("mode", -1), uid, gid) is not None:
            return False
    return True


class Installer:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.uid, self.gid = node_files.ids(module.params["owner"], module.params["group"])
        self.record_dir = module.params["record_dir"]
        self.result = dict(changed=False, written=[], modes_fixed=[], opened=[], records=[])
        self.diff: list[str] = []

    def _directory(self, path: str) -> None:
        for directory in [*node_files.missing_parents(path), path]:
            if not os.path.isdir(directory) and not self.module.check_mode:
                node_files.make_directory(directory, 0o755, self.uid, self.gid)

    def install(self, index: int, entry: dict) -> None:
        src, dest = entry["src"], entry["dest"]
        where = f"archives[{index}] ({src})"
        if not os.path.isabs(src) or not os.path.isabs(dest):
            raise NodeFileError(f"{where}: src and dest must be absolute paths")
        archive_sha = sha256_file(src)
        if archive_sha is None:
            raise NodeFileError(f"{where}: no such archive on this host; download it first")
        record_file = record_path(self.record_dir, src)
        if record_holds(load_record(record_file), archive_sha, dest, self.uid, self.gid):
            return
        self.result["opened"].append(src)
        files = self._unpack(src, dest, where)
        # The record is state on the node too: writing it is reported as a change.
        self.result["records"].append(record_file)
        if not self.module.check_mode:
            self._directory(self.record_dir)
            record = {"archive_sha256": archive_sha, "dest": dest, "files": files}
            data = json.dumps(record, indent=1, sort_keys=True) + "\n"
            node_files.write_atomic(record_file, data.encode(), 0o644, self.uid, self.gid)

    def _unpack(self, src: str, dest: str, where: str) -> dict:
        try:
            archive = tarfile.open(src, "r:*")  # noqa: SIM115 - closed below
        except (tarfile.TarError, OSError) as error:
            raise NodeFileError(f"{where}: not a readable tar archive ({error})") from None
        with archive:
            members = archive.getmembers()
            for member in members:  # refuse the whole archive before writing anything
                rel = member_path(member.name, where)
                if not (member.isfile() or member.isdir()):
                    raise NodeFileError(f"{where}: member {member.name!r} is not a regular file or directory")
                if member.isfile() and not rel:
                    raise NodeFileError(f"{where}: member {member.name!r} has no name")
            self._directory(dest)
            files = {}
            for member in members:
                rel = member_path(member.name, where)
                path = os.path.join(dest, rel) if rel else dest
                if member.isdir():
                    self._directory(path)
                    continue
                data = archive.extractfile(member).read()
                digest = hashlib.sha256(data).hexdigest()
                mode = member.mode & 0o7777
                files[rel] = {"sha256": digest, "mode": mode}
                self._file(path, data, digest, mode)
        return files

    def _file(self, path: str, data: bytes, digest: str, mode: int) -> None:
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            raise NodeFileError(f"{path}: exists and is not a regular file; move it away first")
        if sha256_file(path) != digest:
            self.result["written"].append(path)
            self.diff.append(f"{path} sha256:{digest[:16]}… mode {mode:04o}\n")
            if not self.module.check_mode:
                self._directory(os.path.dirname(path))
                node_files.write_atomic(path, data, mode, self.uid, self.gid)
            return
        differ = node_files.attributes_differ(path, mode, self.uid, self.gid)
        if differ is None:
            return
        self.result["modes_fixed"].append(path)
        self.diff.append(f"{path} mode {differ[0]:04o} -> {mode:04o}\n")
        if not self.module.check_mode:
            os.chown(path, self.uid, self.gid)
            os.chmod(path, mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            archives=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(src=dict(type="path", required=True), dest=dict(type="path", required=True)),
            ),
            record_dir=dict(type="path", default="/var/lib/slipway/archives"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
        ),
        supports_check_mode=True,
    )
    try:
        installer = Installer(module)
        for index, entry in enumerate(module.params["archives"]):
            installer.install(index, entry)
    except NodeFileError as error:
        module.fail_json(msg=str(error))
    result = installer.result
    result["changed"] = bool(result["written"] or result["modes_fixed"] or result["records"])
    if module._diff and installer.diff:
        result["diff"] = dict(before="", after="".join(installer.diff))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
