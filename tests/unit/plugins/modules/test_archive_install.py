# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.archive_install, for real on localhost: check mode predicts, one call
unpacks with the archive's modes and records it, later runs only hash the installed files
(the archive is not opened), drift of content or mode is repaired file by file, a new archive
replaces what changed, and archives that could escape their destination are refused."""

from __future__ import annotations

import grp
import io
import os
import pwd
import stat
import tarfile
from pathlib import Path

import pytest
from test_pki_modules import run as run_module


def make_archive(path: Path, members: dict[str, tuple[bytes, int]], extra=None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("bin")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return path


def run(tmp_path: Path, archive: Path, *flags: str) -> dict:
    args = {
        "archives": [{"src": str(archive), "dest": str(tmp_path / "usr")}],
        "record_dir": str(tmp_path / "records"),
        "owner": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
    }
    result = run_module("archive_install", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result


@pytest.fixture
def release(tmp_path):
    return make_archive(
        tmp_path / "containerd-1.tar.gz",
        {"bin/containerd": (b"\x7fELF containerd v1", 0o755), "bin/README": (b"read me", 0o644)},
    )


def test_unpack_record_and_fast_no_op(tmp_path, release):
    usr = tmp_path / "usr"
    predicted = run(tmp_path, release, "--check")
    assert predicted["changed"] is True
    assert sorted(predicted["written"]) == [str(usr / "bin" / "README"), str(usr / "bin" / "containerd")]
    assert not usr.exists(), "check mode wrote something"

    first = run(tmp_path, release)
    assert first["changed"] is True
    assert (usr / "bin" / "containerd").read_bytes() == b"\x7fELF containerd v1"
    assert stat.S_IMODE((usr / "bin" / "containerd").stat().st_mode) == 0o755
    assert stat.S_IMODE((usr / "bin" / "README").stat().st_mode) == 0o644
    assert first["records"] == [str(tmp_path / "records" / "containerd-1.tar.gz.json")]

    again = run(tmp_path, release)
    assert again["changed"] is False
    assert again["opened"] == []  # proven by the record: the archive was not read


def test_drift_is_repaired_file_by_file(tmp_path, release):
    usr = tmp_path / "usr"
    run(tmp_path, release)
    readme_inode = (usr / "bin" / "README").stat().st_ino
    (usr / "bin" / "containerd").write_bytes(b"tampered")
    repaired = run(tmp_path, release, "--diff")
    assert repaired["changed"] is True
    assert repaired["opened"] == [str(release)]
    assert repaired["written"] == [str(usr / "bin" / "containerd")]
    assert (usr / "bin" / "containerd").read_bytes() == b"\x7fELF containerd v1"
    assert (usr / "bin" / "README").stat().st_ino == readme_inode  # untouched

    (usr / "bin" / "containerd").chmod(0o700)
    fixed = run(tmp_path, release)
    assert fixed["modes_fixed"] == [str(usr / "bin" / "containerd")]
    assert fixed["written"] == []
    assert stat.S_IMODE((usr / "bin" / "containerd").stat().st_mode) == 0o755

    (usr / "bin" / "README").unlink()
    assert run(tmp_path, release)["written"] == [str(usr / "bin" / "README")]
    assert run(tmp_path, release)["changed"] is False


def test_new_release_replaces_what_changed(tmp_path, release):
    usr = tmp_path / "usr"
    run(tmp_path, release)
    newer = make_archive(
        tmp_path / "containerd-1.tar.gz.new",
        {"bin/containerd": (b"\x7fELF containerd v2", 0o755), "bin/README": (b"read me", 0o644)},
    )
    newer.replace(release)  # same file name, other bytes: the record's archive hash differs
    upgraded = run(tmp_path, release)
    assert upgraded["written"] == [str(usr / "bin" / "containerd")]
    assert (usr / "bin" / "containerd").read_bytes() == b"\x7fELF containerd v2"


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("../../etc/evil", tarfile.REGTYPE, "leaves the destination"),
        ("/etc/evil", tarfile.REGTYPE, "leaves the destination"),
        ("bin/link", tarfile.SYMTYPE, "not a regular file or directory"),
    ],
)
def test_unsafe_archives_are_refused_before_any_write(tmp_path, name, kind, message):
    bad = tarfile.TarInfo(name)
    bad.type = kind
    bad.linkname = "/etc/shadow" if kind == tarfile.SYMTYPE else ""
    archive = make_archive(tmp_path / "bad.tar.gz", {"bin/ok": (b"ok", 0o755)}, extra=[bad])
    refused = run(tmp_path, archive)
    assert refused["failed"] is True
    assert message in refused["msg"]
    assert not (tmp_path / "usr").exists()
    assert not (tmp_path / "records").exists()


def test_missing_archive_is_named(tmp_path):
    refused = run(tmp_path, tmp_path / "absent.tar.gz")
    assert refused["failed"] is True
    assert "absent.tar.gz" in refused["msg"]
    assert "download it first" in refused["msg"]
