# SPDX-License-Identifier: Apache-2.0
"""Three real etcd members started from the etcd manifests Slipway renders for a 3-control-plane inventory.

For each of two Kubernetes versions (1.34, the oldest supported, and 1.36, the
newest), the manifests are rendered by the control_plane role (playbooks/pki.yml
first, for the certificates) with the members at 127.0.0.11-13. Each member runs
Debian's etcd with exactly the command line of its manifest, with three mappings
that running three "nodes" on one machine needs, all printed:

- ``/etc/kubernetes/pki`` -> a copy of that node's PKI as the controller holds it,
  and ``/var/lib/etcd`` -> a scratch data directory;
- each member's loopback listener ``127.0.0.1`` -> its own 127.0.0.x (three
  members cannot all bind 127.0.0.1:2379 on one machine);
- flags this etcd does not know are dropped and reported; the test fails if the
  set of unknown flags is not exactly the one expected for the local etcd.

The members must form one healthy cluster over mutual TLS, checked with
``etcdctl`` and our healthcheck-client certificate: three started members, every
endpoint healthy, a write through one member read back through another. Without
etcdctl (Debian's etcd-client) the same checks go through etcd's v3 HTTP gateway.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from .control_plane_helpers import playbook, write_inventory

pytestmark = pytest.mark.etcd

REPO = Path(__file__).resolve().parents[2]
NODES = {"cp1": "127.0.0.11", "cp2": "127.0.0.12", "cp3": "127.0.0.13"}
VERSIONS = ("1.34.2", "1.36.4")
#: Flags of our manifests that etcd 3.4 (Debian 12 and 13) does not know, per version.
#: Every supported minor maps to etcd 3.6, whose spellings 3.4 lacks (3.4 has
#: --experimental-initial-corrupt-check and --experimental-watch-progress-notify-interval).
EXPECTED_UNKNOWN = {
    (3, 4): {
        "1.34.2": {"feature-gates", "watch-progress-notify-interval"},
        "1.36.4": {"feature-gates", "watch-progress-notify-interval"},
    },
}
PLAY = """
- name: Render the etcd manifests
  hosts: control_plane
  gather_facts: false
  roles:
    - role: slipway.cluster.control_plane
"""


def etcd_minor(binary: str) -> tuple[int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"etcd Version: (\d+)\.(\d+)", out)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def known_flags(binary: str) -> set[str]:
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=False)
    return set(re.findall(r"^\s+--([a-z0-9-]+)", text.stdout + text.stderr, re.MULTILINE))


def copy_node_pki(pki: Path, node: str, dest: Path) -> Path:
    """The files /etc/kubernetes/pki/etcd holds on that node, from the controller's PKI."""
    (dest / "etcd").mkdir(parents=True)
    shutil.copy(pki / "etcd" / "ca.crt", dest / "etcd" / "ca.crt")
    for name in ("server", "peer", "healthcheck-client"):
        for ext in ("crt", "key"):
            shutil.copy(pki / "nodes" / node / "pki" / "etcd" / f"{name}.{ext}", dest / "etcd")
    return dest


def mapped_args(args: list[str], known: set[str], node_pki: Path, data: Path, address: str):
    """The manifest's arguments with the three mappings; and those this etcd does not know."""
    kept, unknown = [], []
    for arg in args:
        if arg[2:].split("=", 1)[0] not in known:
            unknown.append(arg)
            continue
        mapped = arg.replace("/etc/kubernetes/pki", str(node_pki)).replace("/var/lib/etcd", str(data))
        kept.append(mapped.replace("://127.0.0.1:", f"://{address}:"))
    return kept, unknown


class Client:
    """etcdctl with the healthcheck client's certificate, or etcd's v3 HTTP gateway without etcdctl."""

    def __init__(self, ca: Path, client: Path, urls: dict[str, str]):
        self.ca, self.client, self.urls = ca, client, urls
        self.etcdctl = shutil.which("etcdctl")

    def _ctl(self, endpoints: list[str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                self.etcdctl,
                f"--endpoints={','.join(endpoints)}",
                f"--cacert={self.ca}",
                f"--cert={self.client}.crt",
                f"--key={self.client}.key",
                "--command-timeout=5s",
                *args,
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ, ETCDCTL_API="3"),
            check=False,
        )

    def _http(self, node: str, path: str, body: dict | None = None) -> dict:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(f"{self.client}.crt", f"{self.client}.key")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.urls[node] + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(req, context=context, timeout=5) as response:
            return json.loads(response.read())

    def healthy(self) -> set[str]:
        """The members whose endpoint reports healthy."""
        if self.etcdctl:
            proc = self._ctl(list(self.urls.values()), "endpoint", "health", "-w", "json")
            try:
                report = json.loads(proc.stdout or "[]")
            except json.JSONDecodeError:
                return set()
            by_url = {url: node for node, url in self.urls.items()}
            return {by_url[e["endpoint"]] for e in report if e.get("health") and e["endpoint"] in by_url}
        healthy = set()
        for node in self.urls:
            try:
                if self._http(node, "/health")["health"] == "true":
                    healthy.add(node)
            except OSError:
                pass
        return healthy

    def members(self) -> list[dict]:
        if self.etcdctl:
            proc = self._ctl([self.urls["cp1"]], "member", "list", "-w", "json")
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout)["members"]
        return self._http("cp1", "/v3/cluster/member/list", {})["members"]

    def put(self, node: str, key: str, value: str) -> None:
        if self.etcdctl:
            proc = self._ctl([self.urls[node]], "put", key, value)
            assert proc.returncode == 0, proc.stderr
            return
        self._http(node, "/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def get(self, node: str, key: str) -> str:
        if self.etcdctl:
            proc = self._ctl([self.urls[node]], "get", key, "--print-value-only")
            assert proc.returncode == 0, proc.stderr
            return proc.stdout.strip()
        got = self._http(node, "/v3/kv/range", {"key": _b64(key)})
        return base64.b64decode(got["kvs"][0]["value"]).decode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module", params=VERSIONS)
def cluster(request, tmp_path_factory):
    version = request.param
    binary = shutil.which("etcd")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("etcd is missing: `python3 tools/slipway.py setup` installs Debian's etcd-server")
        pytest.skip("no etcd on this machine")
    root = tmp_path_factory.mktemp(f"etcd3-{version}")
    inventory = write_inventory(root, NODES, slipway_kubernetes_version=version)
    pki_run = playbook(inventory, "pki.yml")
    assert pki_run.returncode == 0, pki_run.stdout[-3000:]
    (root / "render.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    render = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(root / "render.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=str(REPO),
    )
    assert render.returncode == 0, render.stdout[-3000:]
    pki = root / "artifacts" / "pki"
    known = known_flags(binary)
    processes, logs, report, commands = [], [], {}, {}
    try:
        for node, address in NODES.items():
            manifest = yaml.safe_load((root / "nodes" / node / "manifests" / "etcd.yaml").read_text())
            command = manifest["spec"]["containers"][0]["command"]
            assert command[0] == "etcd"
            node_pki = copy_node_pki(pki, node, root / "node-pki" / node)
            args, report[node] = mapped_args(command[1:], known, node_pki, root / "data" / node, address)
            commands[node] = command
            log = (root / f"{node}.log").open("w")
            logs.append(log)
            processes.append(subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT))
        print(
            f"Kubernetes {version}: etcd flags of our manifests that {binary} does not know (dropped):",
            json.dumps(report),
        )
        urls = {node: f"https://{address}:2379" for node, address in NODES.items()}
        client = Client(
            pki / "etcd" / "ca.crt", root / "node-pki" / "cp1" / "etcd" / "healthcheck-client", urls
        )
        deadline = time.monotonic() + 40
        healthy: set[str] = set()
        while time.monotonic() < deadline and len(healthy) < len(NODES):
            healthy = client.healthy()
            time.sleep(0.5)
        if len(healthy) < len(NODES):
            logs_text = "\n".join((root / f"{n}.log").read_text()[-1500:] for n in NODES)
            pytest.fail(f"only {sorted(healthy)} became healthy:\n{logs_text}")
        yield {
            "version": version,
            "client": client,
            "report": report,
            "commands": commands,
            "etcd": etcd_minor(binary),
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def test_unknown_flags_are_reported_and_exactly_the_expected_ones(cluster):
    expected = EXPECTED_UNKNOWN.get(cluster["etcd"])
    if expected is None:
        pytest.fail(f"no expectation for etcd {cluster['etcd']}: add its unknown flags to EXPECTED_UNKNOWN")
    for node, dropped in cluster["report"].items():
        assert {a[2:].split("=", 1)[0] for a in dropped} == expected[cluster["version"]], node


def test_every_member_lists_the_whole_cluster(cluster):
    for node, address in NODES.items():
        flags = dict(a[2:].split("=", 1) for a in cluster["commands"][node][1:])
        assert flags["initial-cluster"] == ",".join(f"{n}=https://{a}:2380" for n, a in NODES.items())
        assert flags["name"] == node
        assert flags["advertise-client-urls"] == f"https://{address}:2379"


def test_three_started_members_all_healthy(cluster):
    members = cluster["client"].members()
    # A member that has not started yet has no name and no client URLs.
    assert sorted(m.get("name", "") for m in members) == ["cp1", "cp2", "cp3"]
    assert all(m.get("clientURLs") for m in members)
    assert sorted(u for m in members for u in m["peerURLs"]) == [
        f"https://127.0.0.1{i}:2380" for i in (1, 2, 3)
    ]
    assert not any(m.get("isLearner") for m in members)
    assert cluster["client"].healthy() == set(NODES)


def test_a_write_on_one_member_is_read_on_another(cluster):
    value = f"written-through-cp1-for-{cluster['version']}"
    cluster["client"].put("cp1", "/slipway/test", value)
    assert cluster["client"].get("cp3", "/slipway/test") == value


def test_a_client_without_our_certificate_is_refused(cluster):
    context = ssl.create_default_context(cafile=str(cluster["client"].ca))
    with pytest.raises((ssl.SSLError, OSError)):
        urllib.request.urlopen(cluster["client"].urls["cp2"] + "/health", context=context, timeout=5).read()
