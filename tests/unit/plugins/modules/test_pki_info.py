# SPDX-License-Identifier: Apache-2.0
"""pki_info reports every certificate and kubeconfig client certificate, soonest expiry first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.plugins.modules.test_pki_modules import run


@pytest.fixture
def pki_dir(tmp_path):
    ca = run(
        "pki_ca",
        {
            "cert_path": str(tmp_path / "ca.crt"),
            "key_path": str(tmp_path / "ca.key"),
            "common_name": "kubernetes",
        },
    )
    assert ca["_rc"] == 0, ca
    return tmp_path


def test_reports_ca_and_flags_short_validity(pki_dir):
    (pki_dir / "etcd").mkdir()
    (pki_dir / "etcd" / "broken.crt").write_text("not a certificate")
    (pki_dir / "admin.conf").write_text("apiVersion: v1\nkind: Config\nusers: []\n")
    report = run("pki_info", {"paths": [str(pki_dir)], "warn_days": 4000})
    assert report["_rc"] == 0, report
    assert report["changed"] is False
    [ca] = report["certificates"]
    assert ca["path"].endswith("/ca.crt")
    assert ca["is_ca"] is True
    assert ca["subject"] == "CN=kubernetes"
    assert 3640 <= ca["days_left"] <= 3650
    assert report["expiring"] == [ca["path"]]  # 3650 days < warn_days 4000
    assert {u["path"].rsplit("/", 1)[1] for u in report["unreadable"]} == {"broken.crt", "admin.conf"}
    none_expiring = run("pki_info", {"paths": [str(pki_dir)], "recurse": False})
    assert none_expiring["expiring"] == []
    assert [u["path"].rsplit("/", 1)[1] for u in none_expiring["unreadable"]] == ["admin.conf"]


def test_a_node_without_the_libraries_gets_the_packages_to_install(pki_dir, tmp_path_factory):
    """A bare Python (no cryptography, no PyYAML), as on a plain Debian node: a clear failure."""
    bare = tmp_path_factory.mktemp("bare-python")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    report = run("pki_info", {"paths": [str(pki_dir)]}, "-e", f"ansible_python_interpreter={bare}/bin/python")
    assert report["_rc"] != 0
    assert "cryptography and PyYAML" in report["msg"]
    assert "apt install python3-cryptography python3-yaml" in report["msg"]
