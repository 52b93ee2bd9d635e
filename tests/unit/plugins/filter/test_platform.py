# SPDX-License-Identifier: Apache-2.0
"""The node_platform and containerd_supported filters raise AnsibleFilterError with the message."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.slipway.cluster.plugins.filter.platform import node_platform
from ansible_collections.slipway.cluster.plugins.filter.versions import containerd_supported


def test_filter_error_carries_the_message():
    with pytest.raises(AnsibleFilterError, match="slipway_allow_unsupported_distribution"):
        node_platform({"distribution": "Debian", "distribution_major_version": "10", "os_family": "Debian"})


def test_filter_rejects_non_dict():
    with pytest.raises(AnsibleFilterError, match="ansible_facts"):
        node_platform("Debian")


@pytest.mark.parametrize(
    ("containerd", "kubernetes", "ok"),
    [
        ("1.6.20~ds1-1+deb12u3", "1.35.2", False),
        ("1.7.24~ds1-6+deb13u1", "1.35.2", False),
        ("1.7.28", "1.35.2", True),
        ("2.2.0", "1.36.4", True),
        ("2.1.5", "1.36.4", False),
        ("2.3.4", "1.36.4", True),
        ("2.4.0", "1.36.4", True),
    ],
)
def test_containerd_supported(containerd, kubernetes, ok):
    assert containerd_supported(containerd, kubernetes) is ok


def test_containerd_supported_bad_version():
    with pytest.raises(AnsibleFilterError, match="containerd_supported"):
        containerd_supported("latest", "1.36.4")
