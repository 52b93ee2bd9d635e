# SPDX-License-Identifier: Apache-2.0
"""Set up, and reuse, everything Slipway's commands need on a Debian/Ubuntu machine.

Three layers, each checked before it is (re)built, so a second run costs seconds:

* Debian packages listed in ``tools/apt-packages.txt`` (installed when missing);
* a virtualenv pinned by ``requirements-dev.txt``, kept under the cache and named
  after the hash of that file, so every clone on the machine shares it;
* the collections of ``requirements.yml``, extracted from the ``ansible`` wheel on
  PyPI (Galaxy is unreachable in the places Slipway is tested), then confirmed with
  ``ansible-galaxy collection install --offline``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway"))
COLLECTIONS = CACHE / "collections"
#: The PyPI bundle the collections in requirements.yml are taken from.
ANSIBLE_BUNDLE = "ansible==12.3.0"
#: Collections extracted from the bundle: requirements.yml plus their dependencies.
BUNDLE_COLLECTIONS = (
    "ansible/posix",
    "community/general",
    "community/crypto",
    "containers/podman",
)


def log(message: str) -> None:
    print(f"slipway: {message}", file=sys.stderr, flush=True)


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kwargs)


def _hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:12]


def venv_dir() -> Path:
    return CACHE / f"venv-{_hash(REPO / 'requirements-dev.txt')}"


def apt_packages() -> list[str]:
    packages = []
    for line in (REPO / "tools" / "apt-packages.txt").read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            packages.append(name)
    return packages


def missing_apt_packages(packages: list[str]) -> list[str]:
    missing = []
    for name in packages:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


def ensure_apt() -> None:
    if not shutil.which("dpkg-query"):
        log("not a Debian/Ubuntu machine: install the packages in tools/apt-packages.txt yourself")
        return
    missing = missing_apt_packages(apt_packages())
    if not missing:
        return
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SystemExit(f"slipway: missing Debian packages {' '.join(missing)}; install them as root")
        prefix = ["sudo"]
    log(f"installing Debian packages: {' '.join(missing)}")
    started = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # man-db's trigger costs ~20 s per install and nothing here reads man pages.
    if os.geteuid() == 0:
        Path("/var/lib/man-db/auto-update").unlink(missing_ok=True)
    run([*prefix, "apt-get", "update", "-qq"], env=env)
    run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    log(f"Debian packages installed in {time.monotonic() - started:.0f} s")


def ensure_venv() -> Path:
    venv = venv_dir()
    marker = venv / ".slipway-complete"
    if marker.exists():
        return venv
    log(f"creating the toolchain virtualenv {venv}")
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        run([sys.executable, "-m", "venv", str(venv)])
    except subprocess.CalledProcessError:
        raise SystemExit("slipway: python3 -m venv failed; install the python3-venv package") from None
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "-r", str(REPO / "requirements-dev.txt")])
    marker.write_text(_hash(REPO / "requirements-dev.txt") + "\n")
    log(f"virtualenv ready in {time.monotonic() - started:.0f} s")
    return venv


def ensure_collections(venv: Path) -> None:
    root = COLLECTIONS / "ansible_collections"
    wanted = [name for name in BUNDLE_COLLECTIONS if not (root / name / "MANIFEST.json").exists()]
    if wanted:
        log(f"extracting collections from {ANSIBLE_BUNDLE}: {', '.join(w.replace('/', '.') for w in wanted)}")
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
            run([*pip, "download", "--no-deps", "-d", tmp, ANSIBLE_BUNDLE])
            wheel = next(Path(tmp).glob("ansible-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if any(member.startswith(f"ansible_collections/{name}/") for name in wanted):
                        archive.extract(member, COLLECTIONS)
        log(f"collections ready in {time.monotonic() - started:.0f} s")
    # Confirms the versions satisfy requirements.yml without contacting Galaxy.
    run(
        [
            str(venv / "bin" / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-r",
            str(REPO / "requirements.yml"),
            "-p",
            str(COLLECTIONS),
        ],
        env=environment(venv),
        stdout=subprocess.DEVNULL,
    )


def environment(venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO / '.collections'}{os.pathsep}{COLLECTIONS}"
    env["SLIPWAY_CACHE"] = str(CACHE)
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env.setdefault("PY_COLORS", "0")
    conf = CACHE / "podman" / "containers.conf"
    if conf.exists():
        env.setdefault("CONTAINERS_CONF", str(conf))
    return env


def setup(apt: bool = True) -> dict[str, str]:
    """Install what is missing, reuse what is there; return the environment to run in."""
    if apt:
        ensure_apt()
    venv = ensure_venv()
    ensure_collections(venv)
    return environment(venv)
