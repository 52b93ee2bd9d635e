# SPDX-License-Identifier: Apache-2.0
"""Three real etcd members started from the etcd manifests Slipway renders for a 3-control-plane inventory.

The manifests are rendered by the control_plane role (playbooks/pki.yml first, for
the certificates) with the members at 127.0.0.11-13. Each member runs Debian's
etcd with exactly the command line of its manifest, with three mappings that
running three "nodes" on one machine needs, all printed:

- ``/etc/kubernetes/pki`` -> the controller's copy of that node's PKI, and
  ``/var/lib/etcd`` -> a scratch data directory;
- each member's loopback listener ``127.0.0.1`` -> its own 127.0.0.x (three
  members cannot all bind 127.0.0.1:2379 on one machine);
- flags this etcd does not know are dropped and reported; the test fails if the
  set of unknown flags is not exactly the one expected for etcd 3.4.

The members must form one healthy cluster over mutual TLS: three started members,
every endpoint healthy with the healthcheck client's certificate, a write through
one member read back through another.
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

NODES = {"cp1": "127.0.0.11", "cp2": "127.0.0.12", "cp3": "127.0.0.13"}
# What the etcd 3.6 flags of Kubernetes >= 1.34 mean to Debian 12's etcd 3.4.
EXPECTED_UNKNOWN_ON_34 = {"feature-gates", "watch-progress-notify-interval"}
PLAY = """
- name: Render the etcd manifests
  hosts: control_plane
  gather_facts: false
  roles:
    - role: slipway.cluster.control_plane
"""


def known_flags(binary: str) -> set[str]:
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=False)
    return set(re.findall(r"^\s+--([a-z0-9-]+)", text.stdout + text.stderr, re.MULTILINE))


def request(url: str, path: str, ca: Path, client: Path, body: dict | None = None) -> dict:
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(f"{client}.crt", f"{client}.key")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, context=context, timeout=5) as response:
        return json.loads(response.read())


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


def wait_healthy(urls: dict[str, str], ca: Path, client: Path, seconds: float = 30) -> set[str]:
    deadline = time.monotonic() + seconds
    healthy: set[str] = set()
    while time.monotonic() < deadline and len(healthy) < len(urls):
        for node, url in urls.items():
            try:
                if request(url, "/health", ca, client)["health"] == "true":
                    healthy.add(node)
            except OSError:
                pass
        time.sleep(0.3)
    return healthy


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    binary = shutil.which("etcd")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("etcd is missing: `python3 tools/slipway.py setup` installs Debian's etcd-server")
        pytest.skip("no etcd on this machine")
    root = tmp_path_factory.mktemp("etcd3")
    inventory = write_inventory(root, NODES)
    assert playbook(inventory, "pki.yml").returncode == 0
    (root / "render.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(Path(__file__).resolve().parents[2] / "ansible.cfg"))
    render = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(root / "render.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert render.returncode == 0, render.stdout[-3000:]
    pki = root / "artifacts" / "pki"
    known = known_flags(binary)
    processes, logs, report = [], [], {}
    try:
        for node, address in NODES.items():
            manifest = yaml.safe_load((root / "nodes" / node / "manifests" / "etcd.yaml").read_text())
            command = manifest["spec"]["containers"][0]["command"]
            assert command[0] == "etcd"
            node_pki = copy_node_pki(pki, node, root / "node-pki" / node)
            args, report[node] = mapped_args(command[1:], known, node_pki, root / "data" / node, address)
            log = (root / f"{node}.log").open("w")
            logs.append(log)
            processes.append(subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT))
        print("etcd flags of our manifests this etcd does not know (dropped):", json.dumps(report))
        urls = {node: f"https://{address}:2379" for node, address in NODES.items()}
        client = root / "node-pki" / "cp1" / "etcd" / "healthcheck-client"
        ca = pki / "etcd" / "ca.crt"
        healthy = wait_healthy(urls, ca, client)
        if len(healthy) < len(NODES):
            logs_text = "\n".join((root / f"{n}.log").read_text()[-1500:] for n in NODES)
            pytest.fail(f"only {sorted(healthy)} became healthy:\n{logs_text}")
        yield {"urls": urls, "ca": ca, "client": client, "report": report, "root": root}
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


def test_unknown_flags_are_reported_and_exactly_the_etcd_36_ones(cluster):
    for node, dropped in cluster["report"].items():
        assert {a[2:].split("=", 1)[0] for a in dropped} == EXPECTED_UNKNOWN_ON_34, node


def test_three_members_form_one_healthy_cluster(cluster):
    members = request(cluster["urls"]["cp1"], "/v3/cluster/member/list", cluster["ca"], cluster["client"], {})
    names = sorted(m["name"] for m in members["members"])
    assert names == ["cp1", "cp2", "cp3"]
    peer_urls = sorted(u for m in members["members"] for u in m["peerURLs"])
    assert peer_urls == [f"https://127.0.0.1{i}:2380" for i in (1, 2, 3)]


def test_a_write_on_one_member_is_read_on_another(cluster):
    key = base64.b64encode(b"/slipway/test").decode()
    value = base64.b64encode(b"written-through-cp1").decode()
    request(
        cluster["urls"]["cp1"], "/v3/kv/put", cluster["ca"], cluster["client"], {"key": key, "value": value}
    )
    got = request(cluster["urls"]["cp3"], "/v3/kv/range", cluster["ca"], cluster["client"], {"key": key})
    assert base64.b64decode(got["kvs"][0]["value"]) == b"written-through-cp1"


def test_a_client_without_our_certificate_is_refused(cluster):
    context = ssl.create_default_context(cafile=str(cluster["ca"]))
    with pytest.raises((ssl.SSLError, OSError)):
        urllib.request.urlopen(cluster["urls"]["cp2"] + "/health", context=context, timeout=5).read()
