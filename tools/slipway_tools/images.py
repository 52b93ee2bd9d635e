# SPDX-License-Identifier: Apache-2.0
"""Lab images, built locally from Debian packages (no image registry is needed).

An image is a ``mmdebstrap --variant=minbase`` tree with systemd, sshd and
python3, imported into podman with ``/sbin/init`` as its command.  Each image is
labelled with the hash of its recipe and rebuilt only when the recipe changes,
so the second run of any command finds it in podman's store.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from .env import CACHE, log

MIRROR = os.environ.get("SLIPWAY_DEBIAN_MIRROR", "http://deb.debian.org/debian")

#: distro name -> Debian suite
DISTROS = {"debian12": "bookworm", "debian13": "trixie"}

#: What every lab host has: what Ansible and a kind-like node need to start;
#: everything Kubernetes-related is installed by the roles under test.
PACKAGES = (
    "python3",
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "sudo",
    "procps",
    "kmod",
    "openssh-server",
    "ca-certificates",
)

#: Bump when the build steps change in a way the hash below would not see.
RECIPE_VERSION = "2"

# Files each image gets on top of the packages: sshd for key-only root logins,
# and no host keys (each container makes its own when the lab starts it).
SSHD_CONFIG = "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n"


def image_name(distro: str) -> str:
    return f"localhost/slipway-lab:{distro}"


def recipe_hash(distro: str) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([RECIPE_VERSION, DISTROS[distro], MIRROR, PACKAGES, SSHD_CONFIG]).encode())
    return digest.hexdigest()[:16]


def podman(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], check=check, capture_output=capture, text=True)


def current_recipe(distro: str) -> str | None:
    result = podman(
        "image",
        "inspect",
        "--format",
        '{{ index .Labels "slipway.recipe" }}',
        image_name(distro),
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def build(distro: str) -> None:
    suite = DISTROS[distro]
    wanted = recipe_hash(distro)
    log(f"building lab image {image_name(distro)} from Debian {suite} (recipe {wanted})")
    started = time.monotonic()
    hooks = [
        "--customize-hook=rm -f $1/etc/ssh/ssh_host_*",
        "--customize-hook=mkdir -p $1/etc/ssh/sshd_config.d",
        "--customize-hook=install -d -m 0700 $1/root/.ssh",
        f"--customize-hook=printf '{SSHD_CONFIG}' > $1/etc/ssh/sshd_config.d/slipway-lab.conf",
        # first boot makes the host keys of this very container
        "--customize-hook=mkdir -p $1/etc/systemd/system/ssh.service.d",
        "--customize-hook=printf '[Service]\\nExecStartPre=\\nExecStartPre=/usr/bin/ssh-keygen -A\\n"
        "ExecStartPre=/usr/sbin/sshd -t\\n' > $1/etc/systemd/system/ssh.service.d/slipway-hostkeys.conf",
        "--customize-hook=chroot $1 systemctl enable ssh",
        "--customize-hook=rm -rf $1/var/cache/apt/archives/*.deb $1/var/lib/apt/lists/*",
    ]
    merged_usr = Path("/usr/share/mmdebstrap/hooks/merged-usr")
    argv = [
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        *([f"--hook-dir={merged_usr}"] if merged_usr.is_dir() else []),
        *hooks,
        suite,
        "-",
        MIRROR,
    ]
    build_log = CACHE / "lab" / f"image-{distro}.log"
    build_log.parent.mkdir(parents=True, exist_ok=True)
    with build_log.open("w") as err:
        debootstrap = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        imported = subprocess.run(
            [
                "podman",
                "import",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                "STOPSIGNAL SIGRTMIN+3",
                "--change",
                f"LABEL slipway.recipe={wanted}",
                "-",
                image_name(distro),
            ],
            stdin=debootstrap.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        debootstrap.stdout.close()
        debootstrap.wait()
    if debootstrap.returncode != 0 or imported.returncode != 0:
        raise SystemExit(
            f"slipway: building {image_name(distro)} failed (mmdebstrap exit {debootstrap.returncode}, "
            f"podman import exit {imported.returncode}); see {build_log}\n{imported.stderr[-2000:]}"
        )
    log(f"lab image {image_name(distro)} built in {time.monotonic() - started:.0f} s")


def ensure_images(distros: list[str] | tuple[str, ...] = tuple(DISTROS)) -> None:
    for distro in distros:
        if distro not in DISTROS:
            raise SystemExit(f"slipway: unknown lab image '{distro}'; known: {', '.join(DISTROS)}")
        if current_recipe(distro) == recipe_hash(distro):
            continue
        build(distro)
