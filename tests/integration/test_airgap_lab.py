# SPDX-License-Identifier: Apache-2.0
"""Installing from an offline bundle on real lab hosts: binaries, kubelet unit, images in containerd.

What is real: the bundle command, the signed stand-in package repository and
Debian's containerd/runc in the release layout (the tools' own stand-ins), the
lab hosts' systemd and containerd, ``ctr images import`` of real OCI and docker
archives (Debian's static busybox as the single layer, saved under the names of
kubeadm's images), checksums, file modes and idempotence.

What is NOT Kubernetes: kubeadm, kubelet, kubectl, crictl and the CNI plugins
here are copies of small Debian programs (true, echo, sleep) under those names.
They exercise the copy, checksum, unit and idempotence logic of the binary
method only; nothing here proves a kubelet runs. The images are busybox under
kubeadm's names, which proves the import and the naming, not the components.

Three hosts: ``ag-url`` reads the bundle unpacked on itself through a file://
URL, ``ag-ctl`` reads it from a directory on the controller (both with the
binary method, containerd from the bundle's release archives), ``ag-pkg`` uses
the package method with the bundle's copy of the signed stand-in repository
(packages with real names and versions and no programs) through a file:// URL.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.control_plane_helpers import changed_count
from tests.integration.lab_helpers import REPO, ansible, lab, require_podman, shell, write_inventory

pytestmark = pytest.mark.lab

sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.slipway.cluster.plugins.module_utils import artifacts  # noqa: E402

VERSION = "1.36.4"
URL_HOST, CTL_HOST, PKG_HOST = "ag-url", "ag-ctl", "ag-pkg"
ON_NODE = "/srv/slipway-airgap"
#: Stand-in programs (NOT Kubernetes, see the module docstring).
STAND_INS = {"kubeadm": "/usr/bin/true", "kubelet": "/usr/bin/sleep", "kubectl": "/usr/bin/echo"}

PLAYBOOK = """
- name: Air-gap install
  hosts: k8s_cluster
  gather_facts: false
  roles:
    - slipway.cluster.containerd
    - slipway.cluster.kube_packages
    - slipway.cluster.images
"""


def run(*argv: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, check=False)
    assert proc.returncode == 0, f"{argv}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc.stdout


def busybox(tmp: Path) -> bytes:
    """Debian's static busybox (a real program) as an image layer."""
    run("apt-get", "download", "-q", "busybox-static", cwd=tmp)
    deb = next(tmp.glob("busybox-static_*.deb"))
    run("dpkg-deb", "-x", str(deb), str(tmp / "bb"))
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tar.gettarinfo(str(tmp / "bb" / "bin" / "busybox"), arcname="bin/busybox")
        info.uid = info.gid = 0
        info.mtime = 0
        with open(tmp / "bb" / "bin" / "busybox", "rb") as handle:
            tar.addfile(info, handle)
    return layer.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def image_archive(path: Path, ref: str, layer: bytes, docker: bool) -> None:
    """An OCI archive (index annotated with the reference) or a docker archive (RepoTags)."""
    layer_digest = hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/busybox", "sh"]},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
        }
    ).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    with tarfile.open(path, "w") as tar:
        if docker:
            _add(tar, f"{layer_digest}/layer.tar", layer)
            _add(tar, f"{config_digest}.json", config)
            manifest = [
                {
                    "Config": f"{config_digest}.json",
                    "RepoTags": [ref],
                    "Layers": [f"{layer_digest}/layer.tar"],
                }
            ]
            _add(tar, "manifest.json", json.dumps(manifest).encode())
            return
        _add(tar, f"blobs/sha256/{layer_digest}", layer)
        _add(tar, f"blobs/sha256/{config_digest}", config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": f"sha256:{config_digest}",
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": f"sha256:{layer_digest}",
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        manifest_digest = hashlib.sha256(manifest).hexdigest()
        _add(tar, f"blobs/sha256/{manifest_digest}", manifest)
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": f"sha256:{manifest_digest}",
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref.rpartition(":")[2],
                    },
                }
            ],
        }
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", json.dumps(index).encode())


def tgz(path: Path, members: dict[str, str]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, program in members.items():
            info = tar.gettarinfo(program, arcname=name)
            info.uid = info.gid = 0
            with open(program, "rb") as handle:
                tar.addfile(info, handle)


def make_source(src: Path) -> dict:
    """A user's directory in their own layout: the tools' stand-ins plus files made here."""
    slipway = [sys.executable, str(REPO / "tools" / "slipway.py")]
    run(*slipway, "standin-repo", str(src / "standin"), "--minor", "1.36")
    mirrored = json.loads(run(*slipway, "release-mirror", str(src / "release")).strip().splitlines()[-1])
    own = src / "mine"
    own.mkdir()
    for name, program in STAND_INS.items():
        shutil.copyfile(program, own / name)
    tgz(own / "crictl-v1.36.0-linux-amd64.tar.gz", {"crictl": "/usr/bin/echo"})
    tgz(
        own / "cni-plugins-linux-amd64-v1.9.1.tgz",
        {"./bridge": "/usr/bin/true", "./loopback": "/usr/bin/true"},
    )
    tgz(own / "cilium-1.20.1.tgz", {"cilium/Chart.yaml": str(REPO / "galaxy.yml")})  # a stand-in chart
    layer = busybox(src)
    for entry in artifacts.images(VERSION):
        image_archive(own / Path(entry["file"]).name, entry["ref"], layer, docker=entry["name"] == "pause")
    return mirrored


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_podman()
    tmp = tmp_path_factory.mktemp("airgap")
    mirrored = make_source(tmp / "src")
    bundle = tmp / "bundle" / "slipway-airgap"  # the tarball unpacks to /srv/slipway-airgap
    proc = subprocess.run(
        [
            *(sys.executable, str(REPO / "tools" / "slipway.py"), "artifacts", "bundle", str(bundle)),
            *("--from", str(tmp / "src"), "--no-download", "--kubernetes-version", VERSION),
            *("--containerd-version", mirrored["containerd"], "--runc-version", mirrored["runc"]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    common = {"slipway_lab_image": "debian12"}
    inventory = write_inventory(
        tmp / "hosts.yml",
        {
            "control_plane": {
                URL_HOST: {
                    **common,
                    "ansible_port": 22231,
                    "slipway_node_ip": "10.77.0.231",
                    "slipway_offline_source": f"file://{ON_NODE}",
                    "containerd_install_method": "archive",
                }
            },
            "workers": {
                CTL_HOST: {
                    **common,
                    "ansible_port": 22232,
                    "slipway_node_ip": "10.77.0.232",
                    "slipway_offline_source": str(bundle),
                    "containerd_install_method": "archive",
                },
                PKG_HOST: {
                    **common,
                    "ansible_port": 22233,
                    "slipway_node_ip": "10.77.0.233",
                    "slipway_offline_source": f"file://{ON_NODE}",
                    "containerd_install_method": "archive",
                    "kube_packages_install_method": "package",
                },
            },
        },
        {
            "slipway_kubernetes_version": VERSION,
            "kube_packages_install_method": "binary",
            "containerd_version": mirrored["containerd"],
            "containerd_runc_version": mirrored["runc"],
            "containerd_allow_unsupported_version": True,
        },
    )
    up = lab("up", inventory)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        carry = ansible(
            "ansible", f"{URL_HOST}:{PKG_HOST}", "-i", str(inventory), "-m", "ansible.builtin.unarchive",
            "-a", f"src={bundle}.tar.gz dest=/srv",
        )  # fmt: skip
        assert carry.returncode == 0, carry.stdout + carry.stderr
        playbook = tmp / "airgap.yml"
        playbook.write_text(PLAYBOOK)
        first = ansible("ansible-playbook", "-i", str(inventory), str(playbook))
        yield {"inventory": inventory, "playbook": playbook, "bundle": bundle, "first": first, "tmp": tmp}
    finally:
        lab("down", inventory)


def task_items(stdout: str, task: str) -> list[str]:
    """The loop items a task reported changed, from the default callback's lines."""
    section = stdout.split(task, 1)[1].split("TASK [", 1)[0]
    return [
        line.split("(item=", 1)[1].rstrip(")")
        for line in section.splitlines()
        if line.startswith("changed:") and "(item=" in line
    ]


def manifest(site) -> dict:
    records = json.loads((site["bundle"] / "manifest.json").read_text())["artifacts"]
    return {r["name"]: r for r in records if r["kind"] != "package"}


def test_the_first_run_installs_and_a_second_changes_nothing(site):
    first = site["first"]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert changed_count(first) > 0
    again = ansible("ansible-playbook", "-i", str(site["inventory"]), str(site["playbook"]))
    assert again.returncode == 0, again.stdout[-4000:]
    assert changed_count(again) == 0, again.stdout[-4000:]


@pytest.mark.parametrize("host", [URL_HOST, CTL_HOST])
def test_binaries_match_the_manifest_with_their_modes(site, host):
    records = manifest(site)
    out = shell(
        site["inventory"], host,
        "cd /usr/local/bin && sha256sum kubeadm kubelet kubectl"
        " && stat -c '%a %U %n' kubeadm kubelet kubectl crictl && ls /opt/cni/bin && kubectl from-the-bundle",
    )  # fmt: skip
    for name in STAND_INS:
        assert f"{records[name]['sha256']}  {name}" in out
        assert f"755 root {name}" in out
    assert "755 root crictl" in out
    assert "bridge" in out
    assert "loopback" in out
    assert "from-the-bundle" in out  # the stand-in kubectl (echo) runs: a real program, not Kubernetes


@pytest.mark.parametrize("host", [URL_HOST, CTL_HOST])
def test_the_kubelet_unit_is_what_kubeadm_expects(site, host):
    out = shell(
        site["inventory"], host,
        "systemctl cat kubelet.service; systemctl is-enabled kubelet.service;"
        " systemctl show kubelet.service -p EnvironmentFiles -p Environment -p DropInPaths",
    )  # fmt: skip
    assert "ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS" in out
    assert "$KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS" in out
    assert "/usr/local/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" in out
    assert "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env" in out
    assert "EnvironmentFile=-/etc/default/kubelet" in out
    assert "KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml" in out
    assert "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf" in out
    assert "--kubeconfig=/etc/kubernetes/kubelet.conf" in out
    assert "\\nenabled\\n" in out  # `ansible -o` shows the output's newlines as \n


@pytest.mark.parametrize("host", [URL_HOST, CTL_HOST, PKG_HOST])
def test_images_are_in_containerds_k8s_io_namespace(site, host):
    out = shell(site["inventory"], host, "ctr -n k8s.io images ls -q; ls /var/cache/slipway/images | wc -l")
    wanted = artifacts.images(VERSION)
    for entry in wanted:
        present = entry["ref"] in out
        expected = entry["nodes"] == "all" or host == URL_HOST  # the others are workers
        assert present == expected, (entry["ref"], out)
    assert out.rstrip().endswith("0")  # staged archives removed after the import
    # Every blob of the docker-archive pause is there and unpacked.
    check = shell(site["inventory"], host, "ctr -n k8s.io images check name==registry.k8s.io/pause:3.10.2")
    assert "complete" in check


def test_the_package_method_installs_from_the_bundles_repository(site):
    out = shell(
        site["inventory"], PKG_HOST,
        "cat /etc/apt/sources.list.d/kubernetes.list; dpkg-query -W kubeadm kubelet kubectl cri-tools;"
        " apt-mark showhold; ls /usr/share/doc/kubeadm;"
        " test -e /usr/local/bin/kubeadm || echo no-binary",
    )  # fmt: skip
    assert f"file://{ON_NODE}/packages/v1.36/deb/ /" in out
    for name in ("kubeadm", "kubelet", "kubectl"):
        assert f"{name}\t1.36.4-1.1" in out
    assert "cri-tools\t1.36.0-1.1" in out
    assert "STAND-IN" in out  # the stand-in package (no program), not Kubernetes
    assert "kubeadm\\nkubectl\\nkubelet" in out  # held
    assert "no-binary" in out


def test_a_removed_image_is_imported_again_and_only_it(site):
    shell(site["inventory"], CTL_HOST, "ctr -n k8s.io images rm registry.k8s.io/coredns/coredns:v1.14.2")
    proc = ansible(
        "ansible-playbook", "-i", str(site["inventory"]), str(site["playbook"]), "--limit", CTL_HOST
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert task_items(proc.stdout, "Import them into containerd") == [
        "registry.k8s.io/coredns/coredns:v1.14.2"
    ]
    assert "registry.k8s.io/coredns/coredns:v1.14.2" in shell(
        site["inventory"], CTL_HOST, "ctr -n k8s.io images ls -q"
    )


def test_a_tampered_controller_file_stops_before_any_change(site, tmp_path):
    """A copy of the bundle with kubelet altered and one image archive gone: both named, nothing changed."""
    bad = tmp_path / "bad"
    shutil.copytree(site["bundle"], bad)
    (bad / "binaries" / "kubelet").write_bytes(b"\x7fELF tampered")
    (bad / "images" / "kube-proxy_v1.36.4.tar").unlink()
    shell(site["inventory"], CTL_HOST, "ctr -n k8s.io images rm registry.k8s.io/kube-proxy:v1.36.4")
    before = shell(site["inventory"], CTL_HOST, "sha256sum /usr/local/bin/kube*; ctr -n k8s.io images ls -q")
    proc = ansible(
        "ansible-playbook", "-i", str(site["inventory"]), str(site["playbook"]),
        "--limit", CTL_HOST, "-e", f"slipway_offline_source={bad}",
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "SHA-256 differs from its checksum file: kubelet" in out
    assert "slipway_offline_source" in out
    assert "Nothing was installed" in out
    assert (
        shell(site["inventory"], CTL_HOST, "sha256sum /usr/local/bin/kube*; ctr -n k8s.io images ls -q")
        == before
    )
    # With the binaries intact, the image check names the missing archive.
    shutil.copyfile(site["bundle"] / "binaries" / "kubelet", bad / "binaries" / "kubelet")
    proc = ansible(
        "ansible-playbook", "-i", str(site["inventory"]), str(site["playbook"]),
        "--limit", CTL_HOST, "-e", f"slipway_offline_source={bad}",
    )  # fmt: skip
    assert proc.returncode != 0
    assert "missing: images/kube-proxy_v1.36.4.tar" in proc.stdout
    assert "Nothing was imported" in proc.stdout
    # Back to the good bundle: the image comes back.
    fixed = ansible(
        "ansible-playbook", "-i", str(site["inventory"]), str(site["playbook"]), "--limit", CTL_HOST
    )
    assert fixed.returncode == 0, fixed.stdout[-3000:]
