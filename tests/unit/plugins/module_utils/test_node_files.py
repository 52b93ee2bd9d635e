# SPDX-License-Identifier: Apache-2.0
"""module_utils.node_files: the shared write path of pki_install and file_set."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import node_files
from ansible_collections.slipway.cluster.plugins.module_utils.node_files import NodeFileError


@pytest.mark.parametrize(("value", "expected"), [("0600", 0o600), ("644", 0o644), ("2755", 0o2755)])
def test_parse_mode(value, expected):
    assert node_files.parse_mode(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "message"), [(384, "quoted octal"), ("rw", "not an octal"), ("17777", "range")]
)
def test_parse_mode_refuses(value, message):
    with pytest.raises(NodeFileError, match=message):
        node_files.parse_mode(value, "files[0]")


def test_missing_parents_outermost_first(tmp_path):
    assert node_files.missing_parents(str(tmp_path / "a" / "b" / "f")) == [
        str(tmp_path / "a"),
        str(tmp_path / "a" / "b"),
    ]
    assert node_files.missing_parents(str(tmp_path / "f")) == []


def test_write_atomic_and_backup(tmp_path):
    dest = tmp_path / "key"
    node_files.write_atomic(str(dest), b"one", 0o600, os.getuid(), os.getgid())
    assert dest.read_bytes() == b"one"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    (tmp_path / "old").mkdir()
    saved = node_files.backup(str(dest), str(tmp_path / "old"))
    assert os.path.dirname(saved) == str(tmp_path / "old")
    assert os.path.basename(saved).startswith(f"key.{os.getpid()}.")
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    node_files.write_atomic(str(dest), b"two", 0o600, os.getuid(), os.getgid())
    assert Path(saved).read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key", "old"]  # no temporary file left


def test_read_regular(tmp_path):
    assert node_files.read_regular(str(tmp_path / "absent"), "x") is None
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(NodeFileError, match="not a regular file"):
        node_files.read_regular(str(tmp_path / "link"), "files[1]")
