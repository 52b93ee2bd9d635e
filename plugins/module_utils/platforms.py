# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""The distributions Slipway supports and how each gets its packages.

Pure Python; read by the ``node_platform`` filter, which the node roles' check
entry points call before any change.
"""

from __future__ import annotations

#: distribution (``ansible_facts.distribution``) -> supported major versions.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "Debian": ("12", "13"),
    "Ubuntu": ("22", "24"),
    "Rocky": ("9",),
    "AlmaLinux": ("9",),
}

#: Shown to users; Ubuntu majors are LTS releases 22.04 and 24.04.
SUPPORTED_TEXT = "Debian 12 and 13, Ubuntu 22.04 and 24.04, Rocky Linux 9, AlmaLinux 9"

#: Where each distribution was tested (docs/roles/*.md repeat this).
TESTED_HERE = ("Debian 12", "Debian 13")

#: ``ansible_facts.os_family`` -> package manager kind.
FAMILIES = {"Debian": "apt", "RedHat": "dnf"}


class PlatformError(ValueError):
    """A host Slipway cannot prepare."""


def platform(facts: dict, allow_unsupported: bool = False) -> dict:
    """What Slipway needs to know of a host, from its gathered facts.

    Raises :class:`PlatformError` naming the facts and the override for an
    unsupported distribution or release, and always for an unknown OS family.
    """
    distribution = str(facts.get("distribution", "unknown"))
    major = str(facts.get("distribution_major_version", "unknown"))
    family = str(facts.get("os_family", "unknown"))
    release = str(facts.get("distribution_release", ""))
    host = f"{distribution} {facts.get('distribution_version', major)}"
    if family not in FAMILIES:
        raise PlatformError(
            f"this host runs {host} (os family {family}, from ansible_facts.os_family); Slipway "
            f"prepares only Debian-family (apt) and RedHat-family (dnf) hosts. Supported: {SUPPORTED_TEXT}."
        )
    supported = major in SUPPORTED.get(distribution, ())
    if not supported and not allow_unsupported:
        raise PlatformError(
            f"this host runs {host} (ansible_facts.distribution and distribution_major_version), "
            f"which Slipway does not support. Supported: {SUPPORTED_TEXT}. Fix: use a supported "
            "release, or set slipway_allow_unsupported_distribution: true to try anyway "
            f"(packages are then handled as for the {family} family)."
        )
    codename = release or {"12": "bookworm", "13": "trixie", "22": "jammy", "24": "noble"}.get(major, "")
    return {
        "distribution": distribution,
        "major": major,
        "family": family.lower(),
        "package_manager": FAMILIES[family],
        "codename": codename,
        "supported": supported,
        # Docker's repositories are per distribution: debian, ubuntu, rhel (for Rocky/Alma).
        "docker_repo_os": {"Debian": "debian", "Ubuntu": "ubuntu"}.get(distribution, "rhel"),
    }
