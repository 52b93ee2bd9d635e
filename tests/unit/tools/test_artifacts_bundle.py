# SPDX-License-Identifier: Apache-2.0
"""tools/slipway.py artifacts: the list as JSON, and bundles built from a local directory.

The files here are small stand-ins (text, a fake package index): they exercise
finding, checking, laying out and recording artifacts, not Kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))

from slipway_tools import artifacts as tool  # noqa: E402

from ansible_collections.slipway.cluster.plugins.module_utils import artifacts as lib  # noqa: E402

VERSION = "1.36.4"
RUNTIME = ["--containerd-version", "1.6.20", "--runc-version", "1.1.5"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entries():
    return lib.artifacts(VERSION, containerd={"containerd": "1.6.20", "runc": "1.1.5"})


@pytest.fixture
def source(tmp_path):
    """Every artifact in layouts other than the bundle's: flat, the release mirror's, the stand-in repo's."""
    root = tmp_path / "src"
    for entry in entries():
        if entry["kind"] == "package":
            continue
        name = Path(entry["file"]).name
        data = f"stand-in {entry['name']} {entry['version']}\n".encode()
        if entry["name"] in ("containerd", "runc"):
            where = root / entry["name"] / f"v{entry['version']}"
            where.mkdir(parents=True, exist_ok=True)
            (where / name).write_bytes(data)
            (where / Path(entry["checksum_file"]).name).write_text(f"{sha(data)}  {name}\n")
        else:
            (root / "flat").mkdir(parents=True, exist_ok=True)
            (root / "flat" / name).write_bytes(data)
    repo = root / "core:" / "stable:" / "v1.36" / "deb"
    (repo / "all").mkdir(parents=True)
    stanzas = []
    for entry in entries():
        if entry["kind"] == "package":
            deb = repo / "all" / f"{entry['name']}_{entry['version']}_all.deb"
            deb.write_bytes(f"deb {entry['name']}".encode())
            stanzas.append(
                f"Package: {entry['name']}\nVersion: {entry['version']}\n"
                f"Filename: ./all/{deb.name}\nSHA256: {sha(deb.read_bytes())}"
            )
    (repo / "Packages").write_text("\n\n".join(stanzas) + "\n")
    (repo / "Release").write_text("stand-in\n")
    return root


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from slipway_tools import artifacts; sys.exit(artifacts.main())",
            *argv,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'tools'}:{REPO / '.collections'}", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_the_json_list_is_the_module_utils_list():
    proc = run("list", "--format", "json", "--kubernetes-version", "1.35.2", "--cni", "calico")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == lib.artifacts("1.35.2", cni="calico")


def test_the_table_names_every_artifact():
    proc = run("--kubernetes-version", "1.34.2")
    assert proc.returncode == 0, proc.stderr
    for entry in lib.artifacts("1.34.2"):
        assert entry["file"] in proc.stdout


def test_an_unsupported_version_is_refused():
    proc = run("list", "--kubernetes-version", "1.20.0")
    assert proc.returncode == 2
    assert "supported minors are" in proc.stderr


def test_a_complete_directory_makes_a_bundle_recorded_file_by_file(source, tmp_path):
    dest = tmp_path / "out" / "airgap"
    proc = run("bundle", str(dest), "--from", str(source), "--no-download", *RUNTIME)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["kubernetes_version"] == VERSION
    listed = {(e["kind"], e["name"]) for e in entries()}
    assert {(r["kind"], r["name"]) for r in manifest["artifacts"]} == listed
    for record in manifest["artifacts"]:
        assert sha((dest / record["file"]).read_bytes()) == record["sha256"], record["file"]
    by_name = {r["name"]: r for r in manifest["artifacts"] if r["kind"] != "package"}
    # Checked against the checksum file beside it in the source; nothing to check the others against.
    assert by_name["containerd"]["verified_against"].startswith(
        "containerd-1.6.20-linux-amd64.tar.gz.sha256sum"
    )
    assert by_name["kubeadm"]["verified_against"].startswith("nothing")
    assert (dest / "binaries" / "kubeadm").stat().st_mode & 0o777 == 0o755
    # The checksum files the roles read, written from the bundled files.
    assert (
        lib.checksum_of((dest / "binaries/kubeadm.sha256").read_text(), "kubeadm")
        == by_name["kubeadm"]["sha256"]
    )
    sums = lib.parse_checksums((dest / "images" / "SHA256SUMS").read_text())
    assert sums["pause_3.10.2.tar"] == by_name["pause"]["sha256"]
    # The repository is copied whole, so its signed index still matches.
    assert (dest / "packages/v1.36/deb/Release").is_file()
    check = subprocess.run(
        ["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=dest, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout
    first = (tmp_path / "out" / "airgap.tar.gz").read_bytes()
    again = run("bundle", str(dest), "--from", str(source), "--no-download", *RUNTIME)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "airgap.tar.gz").read_bytes() == first, "the tarball is not reproducible"


def test_missing_artifacts_are_each_named_and_nothing_is_written(source, tmp_path):
    (source / "flat" / "kubeadm").unlink()
    (source / "flat" / "coredns_v1.14.2.tar").unlink()
    packages = source / "core:/stable:/v1.36/deb/Packages"
    packages.write_text(packages.read_text().replace("Package: kubectl\n", "Package: kubectl-gone\n"))
    dest = tmp_path / "airgap"
    proc = run("bundle", str(dest), "--from", str(source), "--no-download", *RUNTIME)
    assert proc.returncode == 1
    assert "binary kubeadm 1.36.4: binaries/kubeadm" in proc.stderr
    assert "image coredns v1.14.2: images/coredns_v1.14.2.tar" in proc.stderr
    assert "podman save --format oci-archive" in proc.stderr
    assert "package kubectl 1.36.4-1.1" in proc.stderr
    assert not dest.exists()
    assert not (tmp_path / "airgap.tar.gz").exists()


def test_a_file_that_differs_from_its_upstream_checksum_is_refused(source, tmp_path):
    (source / "runc" / "v1.1.5" / "runc.amd64").write_bytes(b"tampered")
    dest = tmp_path / "airgap"
    proc = run("bundle", str(dest), "--from", str(source), "--no-download", *RUNTIME)
    assert proc.returncode == 1
    assert "binaries/runc.amd64: sha256" in proc.stderr
    assert "runc.sha256sum beside it" in proc.stderr
    assert not dest.exists()


def test_without_a_source_images_and_packages_cannot_be_downloaded(tmp_path):
    proc = run("bundle", str(tmp_path / "b"), "--no-download")
    assert proc.returncode == 1
    assert "packages: mirror https://pkgs.k8s.io/core:/stable:/v1.36/deb/" in proc.stderr
    assert "image pause 3.10.2" in proc.stderr


def test_find_prefers_the_directory_naming_the_version(tmp_path):
    for version in ("1.35.2", "1.36.4"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "kubeadm").write_text(version)
    assert tool.find(tmp_path, "binaries/kubeadm", "1.36.4") == tmp_path / "1.36.4" / "kubeadm"
    assert tool.find(tmp_path, "binaries/kubectl", "1.36.4") is None
