# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.archive_install, for real on localhost: check mode predicts, one call
unpacks with the archive's modes and records it, later runs only hash the installed files
(the archive is not opened), drift of content or mode is repaired file by file, a new archive
replaces what changed, and archives that could escape their destination are refused."""

from __future__ import annotations

import grp
import hashlib
import http.server
import io
import os
import pwd
import stat
import tarfile
import threading
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
    return run_entries(tmp_path, [{"src": str(archive), "dest": str(tmp_path / "usr")}], *flags)


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
    assert "give url or copy it first" in refused["msg"]


# Downloads, from a real HTTP server on 127.0.0.1 (never the internet), counting its requests.


class Served:
    def __init__(self, root: Path):
        self.root, self.requests = root, []
        served = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(served.root), **kwargs)

            def do_GET(self):
                served.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"


@pytest.fixture
def served(tmp_path):
    (tmp_path / "www").mkdir()
    server = Served(tmp_path / "www")
    yield server
    server.server.shutdown()
    server.server.server_close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_entries(tmp_path: Path, entries: list[dict], *flags: str) -> dict:
    args = {
        "archives": entries,
        "record_dir": str(tmp_path / "records"),
        "owner": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
    }
    result = run_module("archive_install", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result


def published(served, tmp_path) -> tuple[Path, dict]:
    """containerd's archive on the server and the entry that downloads it into the cache."""
    archive = make_archive(
        served.root / "containerd-1.tar.gz", {"bin/containerd": (b"\x7fELF containerd v1", 0o755)}
    )
    entry = {
        "src": str(tmp_path / "cache" / "containerd-1.tar.gz"),
        "dest": str(tmp_path / "usr"),
        "url": served.url("containerd-1.tar.gz"),
    }
    return archive, entry


def test_download_when_absent_then_no_request_with_sha256(tmp_path, served):
    archive, entry = published(served, tmp_path)
    entry["sha256"] = sha(archive)
    predicted = run_entries(tmp_path, [entry], "--check")
    assert predicted["changed"] is True
    assert predicted["downloaded"] == [entry["url"]]
    assert served.requests == [], "check mode downloaded"
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "usr").exists()

    first = run_entries(tmp_path, [entry])
    assert first["changed"] is True, first
    assert first["downloaded"] == [entry["url"]]
    assert served.requests == ["/containerd-1.tar.gz"]
    assert (tmp_path / "usr" / "bin" / "containerd").read_bytes() == b"\x7fELF containerd v1"
    cached = tmp_path / "cache" / "containerd-1.tar.gz"
    assert cached.read_bytes() == archive.read_bytes()
    assert stat.S_IMODE(cached.stat().st_mode) == 0o644
    assert [p.name for p in cached.parent.iterdir()] == ["containerd-1.tar.gz"]  # no temporary left

    cached.unlink()  # the no-op neither hashes nor needs the archive
    again = run_entries(tmp_path, [entry])
    assert again["changed"] is False
    assert again["downloaded"] == []
    assert again["opened"] == []
    assert served.requests == ["/containerd-1.tar.gz"], "the no-op run made a request"


def test_checksum_mismatch_fails_and_installs_nothing(tmp_path, served):
    archive, entry = published(served, tmp_path)
    runc = served.root / "runc.amd64"
    runc.write_bytes(b"\x7fELF runc")
    good = {
        "src": str(tmp_path / "cache" / "runc.amd64"),
        "dest": str(tmp_path / "sbin" / "runc"),
        "format": "file",
        "url": served.url("runc.amd64"),
        "sha256": sha(runc),
    }
    entry["sha256"] = "0" * 64
    failed = run_entries(tmp_path, [good, entry])
    assert failed["failed"] is True
    assert entry["url"] in failed["msg"]
    assert "0" * 64 in failed["msg"]
    assert sha(archive) in failed["msg"]
    assert not (tmp_path / "usr").exists()
    assert not (tmp_path / "sbin").exists()
    assert not (tmp_path / "records").exists()
    assert not (tmp_path / "cache" / "containerd-1.tar.gz").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["runc.amd64"]  # checked, kept


@pytest.mark.parametrize(
    "text",
    [
        "{sha}  containerd-1.tar.gz\n",  # as sha256sum writes it
        "{other}  containerd-0.tar.gz\n{sha} *containerd-1.tar.gz\n",  # several files, binary mode
        "{sha}\n",  # one bare hash
    ],
)
def test_checksum_url_is_read_and_not_fetched_again_on_a_no_op(tmp_path, served, text):
    archive, entry = published(served, tmp_path)
    (served.root / "containerd-1.tar.gz.sha256sum").write_text(text.format(sha=sha(archive), other="1" * 64))
    entry["checksum_url"] = served.url("containerd-1.tar.gz.sha256sum")
    first = run_entries(tmp_path, [entry])
    assert first["changed"] is True, first
    assert served.requests == ["/containerd-1.tar.gz.sha256sum", "/containerd-1.tar.gz"]
    again = run_entries(tmp_path, [entry])
    assert again["changed"] is False
    assert len(served.requests) == 2, "the record proves url and checksum_url: no request"


def test_checksum_url_without_the_file_fails(tmp_path, served):
    archive, entry = published(served, tmp_path)
    (served.root / "SHA256SUMS").write_text(f"{sha(archive)}  other.tar.gz\n")
    entry["checksum_url"] = served.url("SHA256SUMS")
    failed = run_entries(tmp_path, [entry])
    assert failed["failed"] is True
    assert "no line for containerd-1.tar.gz" in failed["msg"]
    assert not (tmp_path / "usr").exists()


def test_format_file_install_no_op_and_drift(tmp_path, served):
    runc = served.root / "runc.amd64"
    runc.write_bytes(b"\x7fELF runc 1")
    dest = tmp_path / "sbin" / "runc"
    entry = {
        "src": str(tmp_path / "cache" / "runc.amd64"),
        "dest": str(dest),
        "format": "file",
        "url": served.url("runc.amd64"),
        "sha256": sha(runc),
    }
    first = run_entries(tmp_path, [entry], "--diff")
    assert first["changed"] is True, first
    assert first["written"] == [str(dest)]
    assert dest.read_bytes() == b"\x7fELF runc 1"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert first["records"] == [str(tmp_path / "records" / "runc.amd64.json")]

    again = run_entries(tmp_path, [entry])
    assert again["changed"] is False
    assert len(served.requests) == 1

    dest.write_bytes(b"edited")  # drift: rewritten from the cached download, no request
    repaired = run_entries(tmp_path, [entry])
    assert repaired["written"] == [str(dest)]
    assert dest.read_bytes() == b"\x7fELF runc 1"
    assert len(served.requests) == 1
    dest.chmod(0o700)
    assert run_entries(tmp_path, [entry])["modes_fixed"] == [str(dest)]
    assert run_entries(tmp_path, [{**entry, "mode": "0750"}])["modes_fixed"] == [str(dest)]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o750


def test_new_sha256_reinstalls(tmp_path, served):
    archive, entry = published(served, tmp_path)
    entry["sha256"] = sha(archive)
    run_entries(tmp_path, [entry])
    make_archive(archive, {"bin/containerd": (b"\x7fELF containerd v2", 0o755)})  # republished
    entry["sha256"] = sha(archive)
    upgraded = run_entries(tmp_path, [entry])
    assert upgraded["changed"] is True, upgraded
    assert upgraded["downloaded"] == [entry["url"]]  # the cached archive differs: fetched again
    assert upgraded["written"] == [str(tmp_path / "usr" / "bin" / "containerd")]
    assert (tmp_path / "usr" / "bin" / "containerd").read_bytes() == b"\x7fELF containerd v2"
    assert run_entries(tmp_path, [entry])["changed"] is False


def test_absent_archive_without_url_is_named(tmp_path):
    entry = {"src": str(tmp_path / "runc.amd64"), "dest": str(tmp_path / "runc"), "format": "file"}
    refused = run_entries(tmp_path, [{**entry, "sha256": "a" * 64}])
    assert refused["failed"] is True
    assert f"no such archive {tmp_path / 'runc.amd64'}" in refused["msg"]
    assert "give url or copy it first" in refused["msg"]
