# SPDX-License-Identifier: Apache-2.0
"""A local, signed apt repository shaped like pkgs.k8s.io, holding stand-in packages.

The real Kubernetes packages cannot be downloaded on the development machine
(no pkgs.k8s.io), yet pinning, holding, upgrading and the repository switch on a
minor upgrade must be exercised through a real package manager.  These
packages carry the real names, versions and dependencies and **no programs**:
each installs only ``/usr/share/doc/<name>/STAND-IN`` saying what it is, so
nothing can mistake one for a working kubelet or kubeadm.

    standin-repo DEST [--minor 1.35 --minor 1.36]

Layout: ``DEST/core:/stable:/v<minor>/deb/`` with ``Packages``, ``Release``,
``InRelease`` (clear-signed by a key made for this repository) and
``Release.key``, as apt reads pkgs.k8s.io (``deb [signed-by=...] URL /``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ansible_collections.slipway.cluster.plugins.module_utils import versions

KUBERNETES_CNI = "1.7.1"


def packages_for(minor: str) -> list[dict]:
    """Two patch releases per minor (the version map's patch and the one before)."""
    major_minor, patch = versions.RELEASES[minor]["default_patch"].rsplit(".", 1)
    cri_tools = versions.RELEASES[minor]["cri_tools"]
    out = []
    for version in (f"{major_minor}.{int(patch) - 1}", f"{major_minor}.{patch}"):
        out += [
            {"name": "kubeadm", "version": f"{version}-1.1", "depends": ""},
            {"name": "kubelet", "version": f"{version}-1.1", "depends": "kubernetes-cni (>= 1.2.0)"},
            {"name": "kubectl", "version": f"{version}-1.1", "depends": ""},
        ]
    out += [
        {"name": "cri-tools", "version": f"{cri_tools}-1.1", "depends": ""},
        {"name": "kubernetes-cni", "version": f"{KUBERNETES_CNI}-1.1", "depends": ""},
    ]
    return out


def build_deb(pkg: dict, out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        doc = root / "usr/share/doc" / pkg["name"]
        doc.mkdir(parents=True)
        (doc / "STAND-IN").write_text(
            f"Slipway test stand-in for {pkg['name']} {pkg['version']}.\n"
            "It contains no program. It exists only so that tests can exercise installing,\n"
            "pinning, holding and upgrading packages from a repository shaped like pkgs.k8s.io.\n"
        )
        control = [
            f"Package: {pkg['name']}",
            f"Version: {pkg['version']}",
            "Architecture: all",
            "Maintainer: Slipway tests <tests@slipway.invalid>",
            "Section: admin",
            "Priority: optional",
        ]
        if pkg["depends"]:
            control.append(f"Depends: {pkg['depends']}")
        control.append(f"Description: Slipway test stand-in for {pkg['name']} (no program)")
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text("\n".join(control) + "\n")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        deb = out_dir / f"{pkg['name']}_{pkg['version']}_all.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
            check=True,
            capture_output=True,
        )
        return deb


def control_of(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True
    ).stdout.strip()


def build_repo(dest: Path, minors: list[str], gnupghome: Path) -> None:
    for minor in minors:
        base = dest / "core:" / "stable:" / f"v{minor}" / "deb"
        pool = base / "all"
        pool.mkdir(parents=True, exist_ok=True)
        stanzas = []
        for pkg in packages_for(minor):
            deb = build_deb(pkg, pool)
            data = deb.read_bytes()
            stanzas.append(
                control_of(deb)
                + f"\nFilename: ./all/{deb.name}\nSize: {len(data)}\n"
                + f"SHA256: {hashlib.sha256(data).hexdigest()}"
            )
        packages = ("\n\n".join(stanzas) + "\n").encode()
        (base / "Packages").write_bytes(packages)
        (base / "Packages.gz").write_bytes(gzip.compress(packages, mtime=0))
        lines = [
            "Origin: Slipway stand-in",
            "Label: Slipway stand-in of pkgs.k8s.io",
            f"Description: stand-in packages for Kubernetes {minor} tests (no programs)",
            "SHA256:",
        ]
        for name in ("Packages", "Packages.gz"):
            blob = (base / name).read_bytes()
            lines.append(f" {hashlib.sha256(blob).hexdigest()} {len(blob)} {name}")
        (base / "Release").write_text("\n".join(lines) + "\n")
        gpg = ["gpg", "--batch", "--yes", "--homedir", str(gnupghome)]
        subprocess.run(
            [*gpg, "--clearsign", "-o", str(base / "InRelease"), str(base / "Release")],
            check=True,
            capture_output=True,
        )
        key = subprocess.run([*gpg, "--armor", "--export"], check=True, capture_output=True).stdout
        (base / "Release.key").write_bytes(key)


def make_key(gnupghome: Path) -> None:
    gnupghome.mkdir(mode=0o700, parents=True, exist_ok=True)
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--homedir",
            str(gnupghome),
            "--passphrase",
            "",
            "--quick-gen-key",
            "Slipway stand-in repository <tests@slipway.invalid>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slipway standin-repo", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--minor", action="append", help="minors to include (default: all supported)")
    args = parser.parse_args(argv)
    minors = args.minor or list(versions.SUPPORTED_MINORS)
    if args.dest.exists():
        shutil.rmtree(args.dest)
    args.dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "gnupg"
        make_key(home)
        build_repo(args.dest, minors, home)
    os.chmod(args.dest, 0o755)  # noqa: S103 - a package repository is world-readable by design
    print(f"slipway: stand-in repository for {', '.join(minors)} in {args.dest}")
    return 0
