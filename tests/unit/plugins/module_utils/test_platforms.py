# SPDX-License-Identifier: Apache-2.0
"""Supported distributions, and a clear refusal for the rest."""

from __future__ import annotations

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import platforms


def facts(distribution, major, family, version=None, release=""):
    return {
        "distribution": distribution,
        "distribution_major_version": major,
        "distribution_version": version or major,
        "os_family": family,
        "distribution_release": release,
    }


@pytest.mark.parametrize(
    ("host", "manager", "codename", "docker"),
    [
        (facts("Debian", "12", "Debian", "12.8", "bookworm"), "apt", "bookworm", "debian"),
        (facts("Debian", "13", "Debian", "13.1", "trixie"), "apt", "trixie", "debian"),
        (facts("Ubuntu", "22", "Debian", "22.04", "jammy"), "apt", "jammy", "ubuntu"),
        (facts("Ubuntu", "24", "Debian", "24.04", "noble"), "apt", "noble", "ubuntu"),
        (facts("Rocky", "9", "RedHat", "9.5"), "dnf", "", "rhel"),
        (facts("AlmaLinux", "9", "RedHat", "9.5"), "dnf", "", "rhel"),
    ],
)
def test_supported_platforms(host, manager, codename, docker):
    result = platforms.platform(host)
    assert result["supported"] is True
    assert result["package_manager"] == manager
    assert result["codename"] == codename
    assert result["docker_repo_os"] == docker


@pytest.mark.parametrize(
    "host",
    [
        facts("Debian", "11", "Debian", "11.9", "bullseye"),
        facts("Ubuntu", "20", "Debian", "20.04", "focal"),
        facts("Fedora", "41", "RedHat"),
        facts("CentOS", "8", "RedHat"),
    ],
)
def test_unsupported_release_refused_naming_facts_and_override(host):
    with pytest.raises(platforms.PlatformError) as err:
        platforms.platform(host)
    text = str(err.value)
    assert f"{host['distribution']} {host['distribution_version']}" in text
    assert "slipway_allow_unsupported_distribution" in text
    assert "Debian 12 and 13" in text


def test_override_accepts_a_known_family():
    result = platforms.platform(facts("Debian", "11", "Debian", "11.9", "bullseye"), allow_unsupported=True)
    assert result["supported"] is False
    assert result["package_manager"] == "apt"


@pytest.mark.parametrize("family", ["Suse", "Archlinux", "unknown"])
def test_unknown_family_refused_even_with_override(family):
    with pytest.raises(platforms.PlatformError, match="os family"):
        platforms.platform(facts("Other", "1", family), allow_unsupported=True)
