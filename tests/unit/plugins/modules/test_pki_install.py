# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.pki_install through its action plugin, for real on localhost: check mode
predicts, one call installs the set with the right modes, a replaced file is backed up, a
second call changes nothing, key bytes never appear in the output, bad input is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_pki_modules import run as run_module

KEY = b"-----BEGIN PRIVATE KEY-----\nNOT-A-REAL-KEY-but-secret-marker-7f3a9\n-----END PRIVATE KEY-----\n"


def run(args: dict, *flags: str) -> tuple[dict, str]:
    """test_pki_modules.run for pki_install: the result (``failed`` from the exit code) and the output."""
    result = run_module("pki_install", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result, result["_output"]


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "controller"
    (src / "etcd").mkdir(parents=True)
    (src / "ca.crt").write_bytes(b"certificate one\n")
    (src / "ca.key").write_bytes(KEY)
    (src / "etcd" / "ca.crt").write_bytes(b"etcd certificate\n")
    return src


def files(src: Path, dest: Path) -> list[dict]:
    return [
        {"src": str(src / "ca.crt"), "dest": str(dest / "pki" / "ca.crt"), "mode": "0644"},
        {"src": str(src / "ca.key"), "dest": str(dest / "pki" / "ca.key"), "mode": "0600"},
        {"src": str(src / "etcd" / "ca.crt"), "dest": str(dest / "pki" / "etcd" / "ca.crt"), "mode": "0644"},
    ]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_check_backup_idempotence(source, tmp_path):
    dest = tmp_path / "node"
    args = {"files": files(source, dest)}

    predicted, _ = run(args, "--check", "--diff")
    assert predicted["changed"] is True
    assert not dest.exists(), "check mode wrote something"
    assert len(predicted["replaced_files"]) == 3

    first, output = run(args, "-vvv", "--diff")
    assert first["changed"] is True
    assert sorted(first["replaced_files"]) == sorted(predicted["replaced_files"])
    assert first["created_directories"] == [str(dest), str(dest / "pki"), str(dest / "pki" / "etcd")]
    assert (dest / "pki" / "ca.key").read_bytes() == KEY
    assert mode(dest / "pki" / "ca.key") == 0o600
    assert mode(dest / "pki" / "ca.crt") == 0o644
    assert mode(dest / "pki" / "etcd") == 0o755
    assert b"secret-marker" not in output.encode(), "key material in the output"
    assert "key material, not shown" in output

    second, _ = run(args)
    assert second["changed"] is False
    assert second["changed_files"] == []

    # A renewed certificate on the controller: replaced, the old one backed up.
    (source / "ca.crt").write_bytes(b"certificate two\n")
    third, _ = run(args)
    assert third["replaced_files"] == [str(dest / "pki" / "ca.crt")]
    backup = Path(third["backups"][str(dest / "pki" / "ca.crt")])
    assert backup.read_bytes() == b"certificate one\n"
    assert (dest / "pki" / "ca.crt").read_bytes() == b"certificate two\n"
    assert not list((dest / "pki").glob(".slipway-*")), "temporary file left behind"

    # Mode drift is corrected without rewriting the content or making a backup.
    os.chmod(dest / "pki" / "ca.key", 0o644)
    fourth, _ = run(args, "--check")
    assert fourth["changed_files"] == [str(dest / "pki" / "ca.key")]
    assert mode(dest / "pki" / "ca.key") == 0o644, "check mode changed the mode"
    fifth, _ = run(args)
    assert fifth["changed_files"] == [str(dest / "pki" / "ca.key")]
    assert fifth["replaced_files"] == []
    assert fifth["backups"] == {}
    assert mode(dest / "pki" / "ca.key") == 0o600


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"mode": 384}, "quoted octal string"),
        ({"mode": "rw"}, "is not an octal string"),
        ({"dest": "relative/ca.crt"}, "dest must be an absolute path"),
        ({"src": "/nonexistent/ca.crt"}, "not found on the controller"),
    ],
)
def test_bad_input_is_refused(source, tmp_path, entry, message):
    base = {"src": str(source / "ca.crt"), "dest": str(tmp_path / "node" / "ca.crt"), "mode": "0644"}
    result, _ = run({"files": [base | entry]})
    assert result.get("failed") is True
    assert message in result["msg"]
    assert not (tmp_path / "node").exists()


def test_destination_that_is_not_a_file_is_refused(source, tmp_path):
    (tmp_path / "node" / "ca.crt").mkdir(parents=True)
    result, _ = run(
        {
            "files": [
                {"src": str(source / "ca.crt"), "dest": str(tmp_path / "node" / "ca.crt"), "mode": "0644"}
            ]
        }
    )
    assert result.get("failed") is True
    assert "is not a regular file" in result["msg"]
