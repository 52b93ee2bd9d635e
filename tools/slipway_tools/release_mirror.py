# SPDX-License-Identifier: Apache-2.0
"""A local mirror of containerd's and runc's release downloads, made from Debian's binaries.

The containerd role's ``archive`` method downloads upstream release archives
and checks them against the checksum files published beside them.  GitHub is
unreachable on the development machine, so tests build the same layout from
the real containerd and runc binaries of Debian's packages (their versions, not
upstream's newest): ``containerd-<v>-linux-<arch>.tar.gz`` with ``bin/`` inside
and its ``.sha256sum``, and ``runc.<arch>`` with ``runc.sha256sum``.

    release-mirror DEST     prints the containerd and runc versions it mirrored
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ARCH = "amd64"


def upstream_version(deb_version: str) -> str:
    """``1.6.20~ds1-1+deb12u3`` -> ``1.6.20``."""
    match = re.match(r"^(?:\d+:)?(\d+\.\d+\.\d+)", deb_version)
    if not match:
        raise ValueError(f"cannot read an upstream version from {deb_version!r}")
    return match.group(1)


def fetch(package: str, into: Path) -> tuple[Path, str]:
    subprocess.run(["apt-get", "download", "-q", package], cwd=into, check=True, capture_output=True)
    deb = next(into.glob(f"{package}_*.deb"))
    version = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    root = into / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root, upstream_version(version)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(dest: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        containerd_root, containerd_version = fetch("containerd", work)
        runc_root, runc_version = fetch("runc", work)
        cdir = dest / "containerd" / f"v{containerd_version}"
        cdir.mkdir(parents=True, exist_ok=True)
        archive = cdir / f"containerd-{containerd_version}-linux-{ARCH}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for name in ("containerd", "containerd-shim-runc-v2", "ctr"):
                info = tar.gettarinfo(str(containerd_root / "usr" / "bin" / name), arcname=f"bin/{name}")
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                with open(containerd_root / "usr" / "bin" / name, "rb") as handle:
                    tar.addfile(info, handle)
        (cdir / f"{archive.name}.sha256sum").write_text(f"{sha256(archive)}  {archive.name}\n")
        rdir = dest / "runc" / f"v{runc_version}"
        rdir.mkdir(parents=True, exist_ok=True)
        runc = rdir / f"runc.{ARCH}"
        shutil.copyfile(runc_root / "usr" / "sbin" / "runc", runc)
        runc.chmod(0o755)
        (rdir / "runc.sha256sum").write_text(f"{sha256(runc)}  {runc.name}\n")
    return {"containerd": containerd_version, "runc": runc_version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slipway release-mirror", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    if args.dest.exists():
        shutil.rmtree(args.dest)
    args.dest.mkdir(parents=True)
    print(json.dumps(build(args.dest)))
    return 0
