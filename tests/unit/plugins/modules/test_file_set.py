# SPDX-License-Identifier: Apache-2.0
"""slipway.cluster.file_set, for real on localhost: check mode predicts and writes nothing, one
call makes the directories and files with their modes, a second call changes nothing, a
replaced file is backed up where asked, drifted modes are fixed without a rewrite, validate
guards the write, and bad input is refused naming the option."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from test_pki_modules import REPO
from test_pki_modules import run as run_module


def run(args: dict, *flags: str) -> dict:
    result = run_module("file_set", args, *flags)
    result.setdefault("failed", result["_rc"] != 0)
    return result


def shown_diff(args: dict) -> str:
    """What ``--diff`` shows a user for a check-mode call (default callback)."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
    )
    argv = ["ansible", "localhost", "-m", "slipway.cluster.file_set", "-a", json.dumps(args)]
    argv += ["-e", f"ansible_python_interpreter={sys.executable}", "--check", "--diff"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False).stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def layout(root: Path, manifest: str = "a: 1\n") -> dict:
    return {
        "directories": [
            {"path": str(root / "manifests"), "mode": "0700"},
            {"path": str(root / "tmp" / "backups"), "mode": "0700"},
        ],
        "files": [
            {
                "dest": str(root / "manifests" / "pod.yaml"),
                "content": manifest,
                "mode": "0600",
                "backup_dir": str(root / "tmp" / "backups"),
            },
            {"dest": str(root / "conf" / "flags.env"), "content": 'ARGS="--v=2"\n', "mode": "0644"},
        ],
    }


def owner_args(args: dict) -> dict:
    import grp  # noqa: PLC0415
    import pwd  # noqa: PLC0415

    return args | {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}


def test_check_then_write_then_nothing(tmp_path):
    root = tmp_path / "node"
    args = owner_args(layout(root))

    predicted = run(args, "--check", "--diff")
    assert predicted["changed"] is True, predicted
    assert not root.exists(), "check mode wrote something"
    shown = shown_diff(args)
    assert "+a: 1" in shown  # a text diff per file
    assert f"+++ after: {root / 'manifests'}" in shown

    first = run(args)
    assert first["changed"] is True
    assert sorted(first["replaced_files"]) == sorted(predicted["replaced_files"])
    assert sorted(first["created_directories"]) == sorted(predicted["created_directories"])
    assert (root / "manifests" / "pod.yaml").read_text() == "a: 1\n"
    assert mode(root / "manifests") == 0o700
    assert mode(root / "tmp" / "backups") == 0o700
    assert mode(root / "conf") == 0o755  # a missing parent gets directory_mode
    assert mode(root / "manifests" / "pod.yaml") == 0o600
    assert mode(root / "conf" / "flags.env") == 0o644
    assert first["backups"] == {}

    second = run(args, "--check")
    assert second["changed"] is False, second
    third = run(args)
    assert third["changed"] is False, third
    assert not [p for p in root.rglob(".slipway-*")], "temporary files left behind"


def test_replaced_file_is_backed_up_outside_its_directory(tmp_path):
    root = tmp_path / "node"
    run(owner_args(layout(root)))
    changed = run(owner_args(layout(root, manifest="a: 2\n")), "--diff")
    assert changed["changed"] is True
    assert changed["replaced_files"] == [str(root / "manifests" / "pod.yaml")]
    backup = Path(changed["backups"][str(root / "manifests" / "pod.yaml")])
    assert backup.parent == root / "tmp" / "backups"
    assert backup.name.startswith("pod.yaml.")
    assert backup.name.endswith("~")
    assert backup.read_text() == "a: 1\n"
    assert mode(backup) == 0o600
    assert sorted(p.name for p in (root / "manifests").iterdir()) == ["pod.yaml"]
    back = shown_diff(owner_args(layout(root, manifest="a: 1\n")))
    assert "-a: 2" in back
    assert "+a: 1" in back


def test_drifted_modes_are_fixed_in_place(tmp_path):
    root = tmp_path / "node"
    args = owner_args(layout(root))
    run(args)
    pod = root / "manifests" / "pod.yaml"
    inode = pod.stat().st_ino
    pod.chmod(0o644)
    (root / "manifests").chmod(0o755)
    fixed = run(args)
    assert fixed["changed"] is True
    assert fixed["replaced_files"] == []
    assert fixed["changed_files"] == [str(pod)]
    assert fixed["changed_directories"] == [str(root / "manifests")]
    assert mode(pod) == 0o600
    assert mode(root / "manifests") == 0o700
    assert pod.stat().st_ino == inode  # not rewritten
    assert fixed["backups"] == {}


def test_validate_guards_the_write(tmp_path):
    root = tmp_path / "node"
    dest = root / "config.toml"
    good = owner_args(
        {"files": [{"dest": str(dest), "content": "ok\n", "mode": "0644", "validate": "grep -qx ok %s"}]}
    )
    assert run(good)["changed"] is True
    bad = owner_args(
        {"files": [{"dest": str(dest), "content": "broken\n", "mode": "0644", "validate": "grep -qx ok %s"}]}
    )
    refused = run(bad)
    assert refused["failed"] is True
    assert "validate failed" in refused["msg"]
    assert str(dest) in refused["msg"]
    assert dest.read_text() == "ok\n"
    assert sorted(p.name for p in root.iterdir()) == ["config.toml"]  # no temporary file, no backup


def test_bad_input_is_refused_naming_the_option(tmp_path):
    root = tmp_path / "node"
    cases = [
        (
            {"files": [{"dest": str(root / "f"), "content": "x", "mode": 420}]},
            'quoted octal string such as "0600"',
        ),
        (
            {"files": [{"dest": "relative/f", "content": "x", "mode": "0644"}]},
            "files[0] (relative/f): dest must be",
        ),
        (
            {
                "files": [
                    {
                        "dest": str(root / "f"),
                        "content": "x",
                        "mode": "0644",
                        "backup_dir": str(root / "nope"),
                    }
                ]
            },
            "backup_dir",
        ),
        ({"directories": [{"path": str(root / "d"), "mode": "rwx"}]}, "directories[0]"),
        ({"files": [{"dest": str(root / "f"), "content": "x", "mode": "0644", "validate": "true"}]}, "%s"),
    ]
    root.mkdir()
    for args, message in cases:
        result = run(owner_args(args))
        assert result["failed"] is True, args
        assert message in result["msg"], (message, result["msg"])
    (root / "is-a-dir").mkdir()
    clash = run(owner_args({"files": [{"dest": str(root / "is-a-dir"), "content": "x", "mode": "0644"}]}))
    assert clash["failed"] is True
    assert "not a regular file" in clash["msg"]
    assert sorted(p.name for p in root.iterdir()) == ["is-a-dir"]
