# SPDX-License-Identifier: Apache-2.0
"""A real etcd (Debian's etcd-server) serving with our certificates, client-cert auth on.

Our healthcheck and apiserver-etcd clients are accepted; a client certificate from
another CA is refused. Loopback only; the process is always stopped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import pki

from .pki_helpers import run_pki, write_inventory

pytestmark = pytest.mark.etcd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    binary = shutil.which("etcd")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("etcd is missing: `python3 tools/slipway.py setup` installs Debian's etcd-server")
        pytest.skip("no etcd on this machine")
    tmp = tmp_path_factory.mktemp("etcd")
    inventory = write_inventory(tmp / "inv", {"cp1": "127.0.0.1"})
    proc = run_pki(inventory)
    assert proc.returncode == 0, proc.stdout
    pki_dir = tmp / "inv" / "artifacts" / "pki"
    node = pki_dir / "nodes" / "cp1" / "pki"
    client_port, peer_port = free_port(), free_port()
    args = [
        binary,
        "--name=cp1",
        f"--data-dir={tmp / 'data'}",
        f"--listen-client-urls=https://127.0.0.1:{client_port}",
        f"--advertise-client-urls=https://127.0.0.1:{client_port}",
        f"--listen-peer-urls=https://127.0.0.1:{peer_port}",
        f"--initial-advertise-peer-urls=https://127.0.0.1:{peer_port}",
        f"--initial-cluster=cp1=https://127.0.0.1:{peer_port}",
        f"--cert-file={node / 'etcd/server.crt'}",
        f"--key-file={node / 'etcd/server.key'}",
        f"--peer-cert-file={node / 'etcd/peer.crt'}",
        f"--peer-key-file={node / 'etcd/peer.key'}",
        f"--trusted-ca-file={pki_dir / 'etcd/ca.crt'}",
        f"--peer-trusted-ca-file={pki_dir / 'etcd/ca.crt'}",
        "--client-cert-auth=true",
        "--peer-client-cert-auth=true",
        "--snapshot-count=10000",
    ]
    log = (tmp / "etcd.log").open("w")
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{client_port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if request(url, "/health", pki_dir, node / "etcd/healthcheck-client")["health"] == "true":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("etcd did not become healthy:\n" + (tmp / "etcd.log").read_text()[-3000:])
        yield url, pki_dir, node, tmp
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def request(url: str, path: str, pki_dir, client_base, body: dict | None = None) -> dict:
    context = ssl.create_default_context(cafile=str(pki_dir / "etcd/ca.crt"))
    context.load_cert_chain(f"{client_base}.crt", f"{client_base}.key")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, context=context, timeout=5) as response:
        return json.loads(response.read())


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_server_certificate_is_ours_and_verifies_for_localhost(etcd):
    url, pki_dir, node, _ = etcd
    # hostname verification against the server cert's SANs (127.0.0.1 is one of them)
    health = request(url, "/health", pki_dir, node / "etcd/healthcheck-client")
    assert health["health"] == "true"
    der = ssl.get_server_certificate(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    assert der.strip() == (node / "etcd/server.crt").read_text().strip()


def test_apiserver_etcd_client_writes_and_healthcheck_client_reads(etcd):
    url, pki_dir, node, _ = etcd
    put = request(
        url,
        "/v3/kv/put",
        pki_dir,
        node / "apiserver-etcd-client",
        {"key": b64("/slipway"), "value": b64("ok")},
    )
    assert "header" in put
    got = request(url, "/v3/kv/range", pki_dir, node / "etcd/healthcheck-client", {"key": b64("/slipway")})
    assert base64.b64decode(got["kvs"][0]["value"]) == b"ok"


def test_client_from_another_ca_is_refused(etcd):
    url, pki_dir, _node, tmp = etcd
    other_key = pki.generate_key("ECDSA-P256")
    other_ca = pki.make_ca(other_key, "etcd-ca", 30)
    client_key = pki.generate_key("ECDSA-P256")
    client = pki.make_leaf(
        other_ca,
        other_key,
        client_key,
        {"common_name": "kube-apiserver-etcd-client", "extended_key_usages": ["client_auth"]},
        validity_days=30,
    )
    base = tmp / "foreign"
    base.with_suffix(".crt").write_bytes(pki.cert_to_pem(client))
    base.with_suffix(".key").write_bytes(pki.key_to_pem(client_key))
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
        request(url, "/v3/kv/range", pki_dir, base, {"key": b64("/slipway")})


def test_no_client_certificate_is_refused(etcd):
    url, pki_dir, _node, _ = etcd
    context = ssl.create_default_context(cafile=str(pki_dir / "etcd/ca.crt"))
    req = urllib.request.Request(url + "/v3/kv/range", data=b'{"key":"L3NsaXB3YXk="}', method="POST")
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(req, context=context, timeout=5)
