#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: archive_install
short_description: Download, check and install release archives and binaries, checked cheaply on every run
description:
  - Installs the files of one or more C(.tar.gz) release archives (containerd, the CNI plugins, crictl)
    into their destination directories, and single-file releases (runc, kubeadm, kubelet, kubectl) at their
    destination paths, in one module call; downloads what is missing and checks it against its SHA-256.
  - M(ansible.builtin.unarchive) decompresses and compares the whole archive on every run, and
    M(ansible.builtin.get_url) re-hashes the cached download on every run. This module keeps a record per
    archive (the archive's SHA-256, where it came from, and the SHA-256 and mode of each file it put in
    place) and on later runs only hashes the installed files against that record.
  - The no-op run. When the record shows the archive installed and every recorded file intact, and the
    record's archive SHA-256 equals the expected one (O(archives[].sha256), or the one
    O(archives[].checksum_url) gives), nothing else is done. The archive at O(archives[].src) is then
    neither hashed nor needed (it may have been removed) and nothing is downloaded.
  - O(archives[].checksum_url) is not fetched on a no-op run when the record says the installed archive came
    from the same O(archives[].url) and was checked against the same O(archives[].checksum_url) (the URLs
    carry the version, so a new version is a new URL); with O(archives[].sha256) given a no-op run uses no
    network at all. The checksum file is fetched when the record does not prove this (first run, other URL,
    old record, drift).
  - Without an expected SHA-256 (no O(archives[].sha256), no O(archives[].checksum_url)) the archive at
    O(archives[].src) says which archive is wanted, as before. Its size, modification time and inode are
    compared with the record, and it is hashed only when they differ.
  - Only when something must be (re)installed is an archive needed. The one at O(archives[].src) is used when
    present and matching the expected SHA-256, else it is downloaded from O(archives[].url) (written to
    O(archives[].src) through a temporary file in its directory and renamed, mode 0644, after its SHA-256
    was checked), else the module fails. A download whose SHA-256 differs fails naming the URL, the expected
    and the actual hash. Every archive to install is obtained and checked before anything is installed, so
    nothing is installed then.
  - The archive is opened only when needed, and then only the files that differ are written.
  - Only regular files and directories are accepted; an archive with an absolute path, a C(..)
    component, a link or a device is refused before anything is written.
  - Each file is written atomically (a temporary file in its directory, renamed over the old
    one), so a running binary is never truncated in place.
version_added: 0.3.0
author: Slipway developers
options:
  archives:
    description: The archives (and single files) to install.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description:
          - Path of the archive on the managed node (gzip-compressed tar, or the file itself with
            O(archives[].format=file)); downloads are written here (mode 0644).
          - With O(archives[].format=file) it may equal O(archives[].dest) (no cached copy; a download is then
            written with O(archives[].mode) and a repaired file downloaded again).
          - The record is named after its base name.
        type: path
        required: true
      dest:
        description:
          - With O(archives[].format=tar), the directory the archive's paths are relative to; created when
            missing.
          - With O(archives[].format=file), the path of the installed file.
        type: path
        required: true
      format:
        description:
          - C(tar) unpacks a (compressed) tar archive into O(archives[].dest).
          - C(file) installs O(archives[].src) itself as the file O(archives[].dest) with O(archives[].mode).
        type: str
        choices: [tar, file]
        default: tar
      mode:
        description:
          - Mode of the installed file with O(archives[].format=file) (default C(0755)).
          - Not allowed with O(archives[].format=tar), whose members carry their own modes.
        type: str
      sha256:
        description:
          - Expected SHA-256 of the archive (64 hex digits, an optional C(sha256:) prefix).
          - Takes precedence over O(archives[].checksum_url); a no-op run then uses no network.
        type: str
      url:
        description:
          - Where to download the archive when it must be installed and O(archives[].src) is absent or
            differs.
        type: str
      checksum_url:
        description:
          - URL of a checksum file, one bare hash or C(<hash>  <file>) lines, as sha256sum writes them. The
            line naming the base name of O(archives[].url) (else of O(archives[].src)) is used.
          - Ignored when O(archives[].sha256) is given.
        type: str
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
  validate_certs:
    description:
      - Verify the TLS certificates of HTTPS downloads.
      - Proxies are honoured from the environment (C(https_proxy), C(no_proxy)), as with
        M(ansible.builtin.get_url).
    type: bool
    default: true
  timeout:
    description: Seconds each download or checksum request may take to answer.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    details: Nothing is downloaded; RV(downloaded) lists what would be. Checksum files may be read.
  diff_mode:
    support: full
    details: One line per file that would be written or whose mode would change, and per download.
  platform:
    platforms: posix
seealso:
  - module: ansible.builtin.unarchive
  - module: ansible.builtin.get_url
"""

EXAMPLES = r"""
- name: Containerd | Download (when needed) and install containerd and runc
  slipway.cluster.archive_install:
    archives:
      - src: /var/cache/slipway/downloads/containerd-2.1.4-linux-amd64.tar.gz
        dest: /usr/local
        url: https://github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz
        checksum_url: https://github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz.sha256sum
      - src: /var/cache/slipway/downloads/runc.amd64
        dest: /usr/local/sbin/runc
        format: file
        mode: "0755"
        url: https://github.com/opencontainers/runc/releases/download/v1.3.0/runc.amd64
        sha256: 028986516ab5646370edce981df2d8e8a8d12188deaf837142a02097000ae2f2

- name: Containerd | Unpack an archive already on the node
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
downloaded:
  description: URLs downloaded (or, in check mode, that would be) to their O(archives[].src).
  returned: always
  type: list
  elements: str
  sample: [https://github.com/opencontainers/runc/releases/download/v1.3.0/runc.amd64]
"""

import hashlib
import json
import os
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.artifacts import ArtifactError, checksum_of
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError

CHUNK = 1 << 20
HEX = frozenset("0123456789abcdef")


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


def src_stat(path: str) -> list | None:
    """Size, modification time and inode of the archive: whether it is the one the record saw."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def expected_sha(value, where: str) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().lower()
    text = text[len("sha256:") :] if text.startswith("sha256:") else text
    if len(text) != 64 or not set(text) <= HEX:
        raise NodeFileError(f"{where}: sha256 {value!r} is not a SHA-256 (64 hex digits)")
    return text


def installed(dest: str, fmt: str, rel: str) -> str:
    return dest if fmt == "file" else os.path.join(dest, rel)


def files_intact(record: dict, dest: str, fmt: str, mode: int | None, *, uid: int, gid: int) -> bool:
    """Whether the record is for this destination (and mode) and every file it lists is still in place."""
    if record.get("dest") != dest or record.get("format", "tar") != fmt:
        return False
    files = record.get("files")
    if not isinstance(files, dict) or not files or not isinstance(record.get("archive_sha256"), str):
        return False
    for rel, wanted in files.items():
        path = installed(dest, fmt, rel)
        if not isinstance(wanted, dict) or mode not in (None, wanted.get("mode")):
            return False
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
        self.result = dict(changed=False, written=[], modes_fixed=[], opened=[], records=[], downloaded=[])
        self.diff: list[str] = []
        self.checksum_files: dict[str, str] = {}

    def _directory(self, path: str) -> None:
        for directory in [*node_files.missing_parents(path), path]:
            if not os.path.isdir(directory) and not self.module.check_mode:
                node_files.make_directory(directory, 0o755, self.uid, self.gid)

    # Phase 1: which archives must be installed (nothing is written, nothing downloaded).
    def plan(self, index: int, entry: dict) -> dict | None:
        src, dest, fmt = entry["src"], entry["dest"], entry["format"]
        where = f"archives[{index}] ({src})"
        if not os.path.isabs(src) or not os.path.isabs(dest):
            raise NodeFileError(f"{where}: src and dest must be absolute paths")
        if fmt == "tar" and entry["mode"] is not None:
            raise NodeFileError(f"{where}: mode is only for format file (tar members carry theirs)")
        mode = node_files.parse_mode(entry["mode"] or "0755", f"{where} mode") if fmt == "file" else None
        url, checksum_url = entry["url"] or None, entry["checksum_url"] or None
        expected = expected_sha(entry["sha256"], where)
        record_file = record_path(self.record_dir, src)
        record = load_record(record_file)
        intact: list[bool] = []

        def holds() -> bool:  # hashes the installed files, at most once
            if not intact:
                intact.append(files_intact(record, dest, fmt, mode, uid=self.uid, gid=self.gid))
            return intact[0]

        plan = dict(where=where, src=src, dest=dest, format=fmt, mode=mode, url=url, sha=None)
        plan.update(checksum_url=checksum_url, expected=expected, record_file=record_file, record=record)
        plan["holds"] = holds
        return plan if self._needed(plan) else None

    def _needed(self, plan: dict) -> bool:
        record, holds, url, checksum_url = plan["record"], plan["holds"], plan["url"], plan["checksum_url"]
        if plan["expected"] is None and checksum_url:
            # The record proves that the archive from this URL was checked against this checksum file.
            if url and record.get("url") == url and record.get("checksum_url") == checksum_url and holds():
                return False
            file = os.path.basename(url or plan["src"])
            plan["expected"] = self.checksum(checksum_url, file, plan["where"])
        if plan["expected"] is not None:
            if record.get("archive_sha256") == plan["expected"] and holds():
                self.refresh(plan, plan["expected"])
                return False
            return True
        return self._needed_without_sha(plan)

    def _needed_without_sha(self, plan: dict) -> bool:
        """No expected SHA-256: the archive at src says which one is wanted (as before)."""
        record, holds, url = plan["record"], plan["holds"], plan["url"]
        if url and record.get("url") == url and holds():
            return False
        stat = src_stat(plan["src"])
        if stat is None:
            return bool(url) or not holds()
        if stat == record.get("src_stat") and holds():
            return False
        plan["sha"] = sha256_file(plan["src"])
        if record.get("archive_sha256") == plan["sha"] and holds():
            self.refresh(plan, plan["sha"])
            return False
        return True

    def refresh(self, plan: dict, sha: str) -> None:
        """Bring a record that proved the files up to date (where the archive came from): no change
        to the installed files, so not reported; it spares the next run a checksum request."""
        record = plan["record"]
        wanted = dict(record, url=plan["url"], checksum_url=plan["checksum_url"], archive_sha256=sha)
        if plan["sha"] is not None or "src_stat" not in record:
            wanted["src_stat"] = src_stat(plan["src"])
        if wanted != record and not self.module.check_mode:
            self.write_record(plan["record_file"], wanted)

    def write_record(self, record_file: str, record: dict) -> None:
        self._directory(self.record_dir)
        data = json.dumps(record, indent=1, sort_keys=True) + "\n"
        node_files.write_atomic(record_file, data.encode(), 0o644, self.uid, self.gid)

    def _get(self, url: str, where: str):
        response, info = fetch_url(
            self.module, url, timeout=self.module.params["timeout"], decompress=False, use_netrc=False
        )
        status = info.get("status")
        if response is None or (status is not None and status != 200 and not url.startswith("file:")):
            raise NodeFileError(f"{where}: cannot fetch {url}: {info.get('msg')} (HTTP {status})")
        return response

    def checksum(self, checksum_url: str, file: str, where: str) -> str:
        if checksum_url not in self.checksum_files:
            body = self._get(checksum_url, where).read()
            self.checksum_files[checksum_url] = body.decode("utf-8", "replace")
        try:
            return checksum_of(self.checksum_files[checksum_url], file)
        except ArtifactError as error:
            raise NodeFileError(f"{where}: {checksum_url}: {error}") from None

    # Phase 2: an archive that matches, for every archive to install (downloaded when needed).
    def obtain(self, plan: dict) -> None:
        src, dest, expected, url = plan["src"], plan["dest"], plan["expected"], plan["url"]
        plan["available"] = True
        if plan["format"] == "file" and expected is not None and sha256_file(dest) == expected:
            plan["sha"] = expected  # already in place (not a link: the write refuses one)
            return
        sha = plan["sha"] or sha256_file(src)
        if sha is not None and expected in (None, sha):
            plan["sha"] = sha
            return
        if not url:
            if sha is None:
                raise NodeFileError(
                    f"{plan['where']}: no such archive {src} on this host; give url or copy it first"
                )
            raise NodeFileError(
                f"{plan['where']}: {src} has SHA-256 {sha}, expected {expected}; "
                "give url or copy the right archive first"
            )
        self.result["downloaded"].append(url)
        self.diff.append(f"download {url} -> {src}\n")
        if self.module.check_mode:
            plan["available"], plan["sha"] = False, expected
            return
        # A file installed where it is downloaded (src = dest) gets its mode at once.
        mode = plan["mode"] if plan["format"] == "file" and src == dest else 0o644
        plan["sha"] = self.download(url, src, expected, plan["where"], mode)

    def download(self, url: str, src: str, expected: str | None, where: str, mode: int) -> str:
        directory = os.path.dirname(src)
        self._directory(directory)
        response = self._get(url, where)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".slipway-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for block in iter(lambda: response.read(CHUNK), b""):
                    digest.update(block)
                    handle.write(block)
                handle.flush()
                os.fsync(handle.fileno())
            actual = digest.hexdigest()
            if expected is not None and actual != expected:
                raise NodeFileError(
                    f"{where}: the download of {url} has SHA-256 {actual}, expected {expected}; "
                    "it was discarded and nothing was installed"
                )
            node_files.commit(tmp, src, mode, self.uid, self.gid)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return actual

    # Phase 3: install.
    def install(self, plan: dict) -> None:
        src, dest, fmt, sha, record = plan["src"], plan["dest"], plan["format"], plan["sha"], plan["record"]
        if plan["available"] and record.get("archive_sha256") == sha and plan["holds"]():
            self.refresh(plan, sha)  # e.g. the same archive downloaded again
            return
        self.result["opened"].append(src)
        if fmt == "file":
            files = {os.path.basename(dest): {"sha256": sha, "mode": plan["mode"]}}
            self._single(plan)
        elif plan["available"]:
            files = self._unpack(src, dest, plan["where"])
        else:  # check mode, not downloaded: which files it holds is not known
            files = {}
        # The record is state on the node too: writing it is reported as a change.
        self.result["records"].append(plan["record_file"])
        if not self.module.check_mode:
            wanted = {"archive_sha256": sha, "dest": dest, "format": fmt, "files": files}
            wanted.update(url=plan["url"], checksum_url=plan["checksum_url"], src_stat=src_stat(src))
            self.write_record(plan["record_file"], wanted)

    def _single(self, plan: dict) -> None:
        dest, sha = plan["dest"], plan["sha"]
        data = None
        if plan["available"] and sha256_file(dest) != sha:
            with open(plan["src"], "rb") as handle:
                data = handle.read()
        self._file(dest, data, sha, plan["mode"])

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

    def _file(self, path: str, data: bytes | None, digest: str | None, mode: int) -> None:
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            raise NodeFileError(f"{path}: exists and is not a regular file; move it away first")
        if digest is None or sha256_file(path) != digest:
            self.result["written"].append(path)
            shown = f"sha256:{digest[:16]}…" if digest else "(from the download)"
            self.diff.append(f"{path} {shown} mode {mode:04o}\n")
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
                options=dict(
                    src=dict(type="path", required=True),
                    dest=dict(type="path", required=True),
                    format=dict(type="str", choices=["tar", "file"], default="tar"),
                    mode=dict(type="str"),
                    sha256=dict(type="str"),
                    url=dict(type="str"),
                    checksum_url=dict(type="str"),
                ),
            ),
            record_dir=dict(type="path", default="/var/lib/slipway/archives"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    try:
        installer = Installer(module)
    except NodeFileError as error:
        module.fail_json(msg=str(error))
    try:
        plans = [installer.plan(index, entry) for index, entry in enumerate(module.params["archives"])]
        plans = [plan for plan in plans if plan is not None]
        for plan in plans:  # every archive obtained and checked before anything is installed
            installer.obtain(plan)
        for plan in plans:
            installer.install(plan)
    except NodeFileError as error:
        module.fail_json(msg=str(error), downloaded=installer.result["downloaded"])
    result = installer.result
    result["changed"] = bool(
        result["written"] or result["modes_fixed"] or result["records"] or result["downloaded"]
    )
    if module._diff and installer.diff:
        result["diff"] = dict(before="", after="".join(installer.diff))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
