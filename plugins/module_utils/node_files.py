# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Writing a set of files on a node in one module call (pki_install, file_set).

Shared by the modules that replace loops of ``copy``/``template``/``file``:
modes given as quoted octal strings, owner and group looked up once, missing
parent directories created with a given mode, and atomic writes through a
temporary file in the destination directory that is 0600 from its creation
until it gets its final mode and owner, then renamed over the destination.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import tempfile
import time


class NodeFileError(Exception):
    """Bad input or a state the module must not touch; the message names the option."""


def parse_mode(value, what: str) -> int:
    """A mode from a quoted octal string; an int is refused (YAML's 0600 unquoted is 384)."""
    if isinstance(value, int):
        raise NodeFileError(f'{what}: give the mode as a quoted octal string such as "0600", not {value}')
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise NodeFileError(f'{what}: mode {value!r} is not an octal string such as "0600"') from None
    if not 0 <= mode <= 0o7777:
        raise NodeFileError(f"{what}: mode {value!r} is out of range")
    return mode


def ids(owner: str, group: str) -> tuple[int, int]:
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise NodeFileError(f"owner: no user named {owner!r} on this host") from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise NodeFileError(f"group: no group named {group!r} on this host") from None
    return uid, gid


def missing_parents(path: str) -> list[str]:
    """Directories above ``path`` that do not exist, outermost first."""
    parent = os.path.dirname(path)
    missing = []
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    return list(reversed(missing))


def make_directory(path: str, mode: int, uid: int, gid: int) -> None:
    os.mkdir(path, mode)
    os.chmod(path, mode)  # mkdir's mode is masked by the umask
    os.chown(path, uid, gid)


def read_regular(path: str, where: str) -> bytes | None:
    """The bytes of a regular file, None when absent; anything else is refused."""
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        raise NodeFileError(f"{where}: exists and is not a regular file; move it away first")
    with open(path, "rb") as handle:
        return handle.read()


def attributes_differ(path: str, mode: int, uid: int, gid: int) -> tuple[int, int, int] | None:
    """The current (mode, uid, gid) when any differs from the wanted ones, else None."""
    info = os.stat(path)
    current = (info.st_mode & 0o7777, info.st_uid, info.st_gid)
    return current if current != (mode, uid, gid) else None


def write_temporary(directory: str, data: bytes) -> str:
    """A 0600 temporary file holding ``data`` in ``directory``; the caller renames or removes it."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".slipway-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def commit(tmp: str, dest: str, mode: int, uid: int, gid: int) -> None:
    """Give ``tmp`` its final owner and mode, then rename it over ``dest`` (atomic)."""
    try:
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(dest: str, data: bytes, mode: int, uid: int, gid: int) -> None:
    commit(write_temporary(os.path.dirname(dest), data), dest, mode, uid, gid)


def diff_text(data: bytes | None) -> str:
    """A file's content for a ``--diff`` entry: empty when absent, a note when not UTF-8."""
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(not UTF-8 text, not shown)\n"


def backup_name(dest: str, directory: str | None = None) -> str:
    """Where a backup of ``dest`` goes: beside it, or in ``directory``, named like Ansible's
    backups (``<name>.<pid>.<date>@<time>~``)."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime())
    name = f"{os.path.basename(dest)}.{os.getpid()}.{stamp}~"
    return os.path.join(directory or os.path.dirname(dest), name)


def backup(dest: str, directory: str | None = None) -> str:
    """Copy ``dest`` (content, mode, owner) to its backup name; returns that name."""
    target = backup_name(dest, directory)
    shutil.copy2(dest, target)
    info = os.stat(dest)
    os.chown(target, info.st_uid, info.st_gid)
    return target


def diff_entry(header: str, before: str, after: str) -> dict:
    """One ``--diff`` entry whose before and after share a header."""
    return dict(before_header=header, after_header=header, before=before, after=after)


class ManagedFile:
    """One whole file a module owns (sysctl.d, modules-load.d): what differs, and its writing.

    ``replace`` when the content differs (or the file is absent), ``attributes``
    the current (mode, uid, gid) when only those differ; ``where`` names the
    module option in messages.
    """

    def __init__(self, path: str, data: bytes, where: str, mode: int = 0o644, directory_mode: int = 0o755):
        if not os.path.isabs(path):
            raise NodeFileError(f"{where}: {path} must be an absolute path")
        self.path, self.data, self.mode, self.directory_mode = path, data, mode, directory_mode
        self.uid, self.gid = ids("root", "root")
        self.before = read_regular(path, where)
        self.replace = self.before != data
        self.attributes = None if self.replace else attributes_differ(path, mode, self.uid, self.gid)

    @property
    def changed(self) -> bool:
        return self.replace or self.attributes is not None

    def diff(self) -> list[dict]:
        entries = []
        if self.replace:
            entries.append(diff_entry(self.path, diff_text(self.before), diff_text(self.data)))
        if self.attributes is not None:
            mode, uid, gid = self.attributes
            before = f"mode {mode:04o} owner {uid}:{gid}\n"
            entries.append(
                diff_entry(self.path, before, f"mode {self.mode:04o} owner {self.uid}:{self.gid}\n")
            )
        return entries

    def apply(self, backup_old: bool = True) -> str | None:
        """Write the file (atomically, the old one backed up) or fix its mode; the backup's name."""
        saved = None
        if self.replace:
            for parent in missing_parents(self.path):
                make_directory(parent, self.directory_mode, self.uid, self.gid)
            if self.before is not None and backup_old:
                saved = backup(self.path)
            write_atomic(self.path, self.data, self.mode, self.uid, self.gid)
        elif self.attributes is not None:
            os.chown(self.path, self.uid, self.gid)
            os.chmod(self.path, self.mode)
        return saved


def run_plan(module, make_plan, errors: tuple = (NodeFileError,)) -> None:
    """The end of a planning module's main(): ``make_plan(module)`` gives an object with
    ``result``, ``diff()`` and ``apply()``; applied unless in check mode, the diff shown when
    asked for, ``errors`` turned into the module's failure."""
    try:
        plan = make_plan(module)
        diff = plan.diff() if module._diff else []
        if not module.check_mode:
            plan.apply()
    except errors as error:
        module.fail_json(msg=str(error), changed=False)
    if diff:
        plan.result["diff"] = diff
    module.exit_json(**plan.result)
