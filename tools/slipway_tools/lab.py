# SPDX-License-Identifier: Apache-2.0
"""The lab: real hosts on this machine, made from an Ansible inventory.

Every inventory host that sets ``slipway_lab_image`` becomes a privileged
systemd container under podman, made like kind's node containers so containerd
and the kubelet can run inside (writable cgroups, ``/dev/kmsg``, tmpfs ``/run``
and ``/tmp``, ``/var/lib/containerd`` on a volume).  Ansible reaches it over SSH
on ``127.0.0.1:<ansible_port>``; the hosts reach each other on the project's
own bridge network at ``slipway_node_ip``.

    lab images [--distro debian12|debian13|all]
    lab up -i INVENTORY       create or reuse, wait for sshd and systemd
    lab down -i INVENTORY     remove the containers and their volumes
    lab status -i INVENTORY
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import time

from . import images
from .env import CACHE, log

NETWORK = "slipway-lab"
NETWORK_SUBNET = "10.77.0.0/24"
SSH_DIR = CACHE / "lab" / "ssh"
KEY = SSH_DIR / "id_ed25519"
KNOWN_HOSTS = SSH_DIR / "known_hosts"
CONTAINERS_CONF = CACHE / "podman" / "containers.conf"
NPROC = 32768


def nofile_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def write_containers_conf() -> None:
    """runc (crun refuses hybrid cgroups), netavark, and ulimits this machine allows."""
    CONTAINERS_CONF.parent.mkdir(parents=True, exist_ok=True)
    nofile = nofile_limit()
    text = (
        "# Written by tools/slipway_tools/lab.py\n"
        "[containers]\n"
        f'ulimits = ["nofile={nofile}:{nofile}", "nproc={NPROC}:{NPROC}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        "[network]\n"
        'network_backend = "netavark"\n'
    )
    if not CONTAINERS_CONF.exists() or CONTAINERS_CONF.read_text() != text:
        CONTAINERS_CONF.write_text(text)
    os.environ["CONTAINERS_CONF"] = str(CONTAINERS_CONF)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], check=False, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"slipway: podman {' '.join(args[:2])} failed: {result.stderr.strip()[-1500:]}")
    return result


def lab_hosts(inventory: str) -> dict[str, dict]:
    """Hosts of the inventory that are lab hosts, with their variables."""
    result = subprocess.run(
        ["ansible-inventory", "-i", inventory, "--list"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"slipway: cannot read inventory {inventory}:\n{result.stderr}")
    hostvars = json.loads(result.stdout).get("_meta", {}).get("hostvars", {})
    hosts = {name: v for name, v in hostvars.items() if v.get("slipway_lab_image")}
    if not hosts:
        raise SystemExit(f"slipway: no host in {inventory} sets slipway_lab_image; nothing to do")
    for name, v in hosts.items():
        for required in ("ansible_port", "slipway_node_ip"):
            if required not in v:
                raise SystemExit(f"slipway: lab host {name} in {inventory} needs {required}")
    return hosts


def container_name(host: str) -> str:
    return f"slipway-{host}"


def ensure_key() -> None:
    SSH_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not KEY.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "slipway-lab", "-f", str(KEY)], check=True
        )


def ensure_network() -> None:
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--subnet", NETWORK_SUBNET, NETWORK)


def state(host: str) -> str | None:
    result = podman(
        "container", "inspect", "--format", "{{.State.Status}}", container_name(host), check=False
    )
    return result.stdout.strip() if result.returncode == 0 else None


def alive(host: str) -> bool:
    """Whether the container's init really runs.

    podman keeps reporting "running" for a container whose processes were
    killed from outside (a session or CI job torn down with SIGKILL, the
    machine's processes reaped): its state database is not told.
    """
    pid = podman("container", "inspect", "--format", "{{.State.Pid}}", container_name(host), check=False)
    value = pid.stdout.strip()
    if not value.isdigit() or value == "0":
        return False
    try:
        with open(f"/proc/{value}/stat", encoding="utf-8") as handle:
            # the state follows the command, which is in parentheses; Z and X are dead
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def create(host: str, hv: dict) -> None:
    name = container_name(host)
    volume = f"{name}-containerd"
    nofile = nofile_limit()
    if podman("volume", "exists", volume, check=False).returncode != 0:
        podman("volume", "create", volume)
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--hostname",
        host,
        "--label",
        "slipway.lab=1",
        "--privileged",
        "--systemd=always",
        # podman ignores containers.conf ulimits for privileged containers
        "--ulimit",
        f"nofile={nofile}:{nofile}",
        "--ulimit",
        f"nproc={NPROC}:{NPROC}",
        "--cgroupns=private",
        "--network",
        NETWORK,
        "--ip",
        str(hv["slipway_node_ip"]),
        "--publish",
        f"127.0.0.1:{hv['ansible_port']}:22",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--tmpfs",
        "/tmp",  # noqa: S108 - the container's own /tmp, as a tmpfs
        "--volume",
        f"{volume}:/var/lib/containerd",
        images.image_name(hv["slipway_lab_image"]),
    )


def wait_sshd(host: str, hv: dict, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(hv["ansible_port"])), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(
        f"slipway: sshd of lab host {host} did not answer on 127.0.0.1:{hv['ansible_port']}"
        f" within {timeout:.0f} s (container {container_name(host)}: {state(host) or 'absent'},"
        f" init {'running' if alive(host) else 'gone'}); `python3 tools/slipway.py lab down -i <inventory>`"
        " removes it, the next `lab up` recreates it"
    )


def ssh(hv: dict, *command: str) -> subprocess.CompletedProcess:
    """Run a command on a lab host the way Ansible reaches it (key, strict host key checking)."""
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(KEY),
            "-o",
            f"UserKnownHostsFile={KNOWN_HOSTS}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-p",
            str(hv["ansible_port"]),
            "root@127.0.0.1",
            *command,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def wait_systemd(host: str, hv: dict, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        status = ssh(hv, "systemctl", "is-system-running").stdout.strip() or status
        if status in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise SystemExit(f"slipway: lab host {host} not ready after {timeout:.0f} s (systemd: {status})")


def authorize(host: str) -> None:
    # podman cp needs no process in the container: systemd inside moves itself
    # out of the cgroup podman made for it on hybrid-cgroup hosts, after which
    # `podman exec` fails; SSH and cp keep working.
    podman("cp", str(KEY.with_suffix(".pub")), f"{container_name(host)}:/root/.ssh/authorized_keys")


def _known_hosts_without(ports: set[int]) -> list[str]:
    if not KNOWN_HOSTS.exists():
        return []
    prefixes = tuple(f"[127.0.0.1]:{port} " for port in ports)
    return [line for line in KNOWN_HOSTS.read_text().splitlines() if not line.startswith(prefixes)]


def record_host_keys(hosts: dict[str, dict]) -> None:
    """Trust exactly the keys these containers made for themselves (host key checking stays on)."""
    ports = {int(hv["ansible_port"]) for hv in hosts.values()}
    lines = _known_hosts_without(ports)
    for port in sorted(ports):
        scan = subprocess.run(
            ["ssh-keyscan", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
        found = [line for line in scan.stdout.splitlines() if line and not line.startswith("#")]
        if not found:
            raise SystemExit(f"slipway: no ssh host key answered on 127.0.0.1:{port}")
        lines.extend(found)
    KNOWN_HOSTS.write_text("\n".join(lines) + "\n")


def up(inventory: str) -> None:
    started = time.monotonic()
    write_containers_conf()
    hosts = lab_hosts(inventory)
    images.ensure_images(sorted({hv["slipway_lab_image"] for hv in hosts.values()}))
    ensure_key()
    ensure_network()
    created = 0
    for host, hv in hosts.items():
        current = state(host)
        if current == "running" and not alive(host):
            log(f"lab up: {host}: podman says running but its processes are gone; recreating it")
            podman("rm", "--force", "--time", "5", container_name(host), check=False)
            podman("volume", "rm", "--force", f"{container_name(host)}-containerd", check=False)
            current = None
        if current == "running":
            continue
        if current is not None:
            podman("start", container_name(host))
        else:
            create(host, hv)
        created += 1
    for host, hv in hosts.items():
        wait_sshd(host, hv)
        authorize(host)
    record_host_keys(hosts)
    for host, hv in hosts.items():
        wait_systemd(host, hv)
    log(
        f"lab up: {created} created or started, {len(hosts)} host(s) from {inventory}"
        f" in {time.monotonic() - started:.1f} s"
    )


def release_swap(name: str) -> list[str]:
    """Turn off swap areas a lab host activated (swap is global to the machine's kernel).

    Only areas whose file lives inside that host's own filesystem are touched,
    reached through its mount namespace, so the machine's own swap is never affected.
    """
    pid = podman("inspect", "--format", "{{.State.Pid}}", name, check=False).stdout.strip()
    if not pid.isdigit() or pid == "0":
        return []
    released = []
    with open("/proc/swaps", encoding="utf-8") as handle:
        areas = [line.split()[0] for line in handle.read().splitlines()[1:] if line.split()]
    for path in areas:
        if path.startswith("/var/lib/containerd/") and os.path.exists(f"/proc/{pid}/root{path}"):
            subprocess.run(["nsenter", "-t", pid, "-m", "swapoff", path], check=False)
            released.append(path)
    return released


def down(inventory: str) -> None:
    write_containers_conf()
    hosts = lab_hosts(inventory)
    present = [host for host in hosts if state(host) is not None]
    for host in hosts:
        name = container_name(host)
        for path in release_swap(name):
            log(f"lab down: {host}: swap area {path} turned off")
        podman("rm", "--force", "--time", "5", name, check=False)
        podman("volume", "rm", "--force", f"{name}-containerd", check=False)
    ports = {int(hv["ansible_port"]) for hv in hosts.values()}
    if KNOWN_HOSTS.exists():
        KNOWN_HOSTS.write_text("".join(f"{line}\n" for line in _known_hosts_without(ports)))
    log(f"lab down: {len(present)} of {len(hosts)} host(s) from {inventory} removed")


def prune() -> None:
    """Remove every lab container on the machine (label slipway.lab=1) and its volume.

    For CI, which must start from a clean lab: a job or session killed before its
    teardown leaves containers behind, some of them dirty, some dead.
    """
    names = podman("ps", "--all", "--filter", "label=slipway.lab=1", "--format", "{{.Names}}").stdout.split()
    for name in names:
        for path in release_swap(name):
            log(f"lab prune: {name}: swap area {path} turned off")
        podman("rm", "--force", "--time", "5", name, check=False)
        podman("volume", "rm", "--force", f"{name}-containerd", check=False)
    if KNOWN_HOSTS.exists() and names:
        KNOWN_HOSTS.write_text("")
    log(f"lab prune: {len(names)} leftover lab container(s) removed")


def status(inventory: str) -> None:
    write_containers_conf()
    for host, hv in lab_hosts(inventory).items():
        print(
            f"{host:<20} {state(host) or 'absent':<10} {hv['slipway_lab_image']:<9} "
            f"{hv['slipway_node_ip']:<15} ssh 127.0.0.1:{hv['ansible_port']}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="slipway lab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    img = sub.add_parser("images", help="build the lab images that are missing or stale")
    img.add_argument("--distro", default="all", choices=["all", *images.DISTROS])
    for name in ("up", "down", "status"):
        cmd = sub.add_parser(name)
        cmd.add_argument("-i", "--inventory", required=True)
    sub.add_parser("prune", help="remove every lab container on this machine (CI starts from a clean lab)")
    args = parser.parse_args(argv)
    for tool in ("podman", "mmdebstrap", "ssh-keygen", "ssh-keyscan"):
        if not shutil.which(tool):
            raise SystemExit(f"slipway: {tool} is missing; run `python3 tools/slipway.py setup`")
    if args.command == "images":
        write_containers_conf()
        images.ensure_images(list(images.DISTROS) if args.distro == "all" else [args.distro])
    elif args.command == "up":
        up(args.inventory)
    elif args.command == "down":
        down(args.inventory)
    elif args.command == "prune":
        write_containers_conf()
        prune()
    else:
        status(args.inventory)
    return 0
