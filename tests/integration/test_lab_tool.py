# SPDX-License-Identifier: Apache-2.0
"""`slipway lab up` recovers a lab host whose processes were killed behind podman's back.

When a session or CI job is torn down, the container's processes are killed but
podman's state database still says "running"; `lab up` must not trust it.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.integration.lab_helpers import lab, podman, require_podman, shell, write_inventory

pytestmark = pytest.mark.lab

HOST = "stale-deb12"
NAME = f"slipway-{HOST}"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    require_podman()
    path = write_inventory(
        tmp_path_factory.mktemp("labtool") / "hosts.yml",
        {
            "workers": {
                HOST: {
                    "ansible_port": 22145,
                    "slipway_node_ip": "10.77.0.145",
                    "slipway_lab_image": "debian12",
                }
            }
        },
    )
    yield path
    lab("down", path)


def test_up_recreates_a_container_whose_processes_were_killed(inventory):
    up = lab("up", inventory)
    assert up.returncode == 0, up.stderr
    shell(inventory, HOST, "touch /root/marker")
    pids = podman(
        "container", "inspect", "--format", "{{.State.ConmonPid}} {{.State.Pid}}", NAME
    ).stdout.split()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    # podman was not told: it still reports the container running
    assert podman("container", "inspect", "--format", "{{.State.Status}}", NAME).stdout.strip() == "running"

    again = lab("up", inventory)
    assert again.returncode == 0, again.stderr
    assert "processes are gone; recreating it" in again.stderr
    # a new container answers over SSH, and it is a new one
    assert "marker" not in shell(inventory, HOST, "ls /root")

    # a healthy container is left alone
    third = lab("up", inventory)
    assert third.returncode == 0, third.stderr
    assert "0 created or started" in third.stderr
