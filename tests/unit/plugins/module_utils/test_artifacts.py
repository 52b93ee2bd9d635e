# SPDX-License-Identifier: Apache-2.0
"""The artifact list: derived from the version map, the containerd role's URLs, role cni's plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.slipway.cluster.plugins.module_utils import artifacts, cni, versions

REPO = Path(__file__).resolve().parents[4]
SHA = "ab" * 32


def by(entries, kind=None, used_by=None):
    return {
        e["name"]: e
        for e in entries
        if (kind is None or e["kind"] == kind) and (used_by is None or e["used_by"].startswith(used_by))
    }


@pytest.mark.parametrize("minor", versions.SUPPORTED_MINORS)
def test_every_minor_lists_kubeadms_images_and_the_pinned_binaries(minor):
    version = versions.RELEASES[minor]["default_patch"]
    release = versions.release(version)
    entries = artifacts.artifacts(version)
    images = by(entries, "image")
    for name, ref in release["images"].items():
        assert images[name]["ref"] == ref
        assert images[name]["file"] == f"images/{ref.rsplit('/', 1)[1].replace(':', '_')}.tar"
    binaries = by(entries, used_by="kube_packages (binary")
    assert {n: e["version"] for n, e in binaries.items()} == {
        "kubeadm": version,
        "kubelet": version,
        "kubectl": version,
        "crictl": release["cri_tools_version"],
        "cni_plugins": versions.COMPONENTS["cni_plugins"],
    }
    assert binaries["kubelet"]["url"] == f"https://dl.k8s.io/release/v{version}/bin/linux/amd64/kubelet"
    assert binaries["kubelet"]["checksum_url"] == binaries["kubelet"]["url"] + ".sha256"
    packages = by(entries, "package")
    assert {n: e["version"] for n, e in packages.items()} == {
        "kubeadm": release["package_version"],
        "kubelet": release["package_version"],
        "kubectl": release["package_version"],
        "cri-tools": f"{release['cri_tools_version']}-1.1",
    }
    assert packages["kubeadm"]["url"] == f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/"
    runtime = by(entries, used_by="containerd")
    assert {n: e["version"] for n, e in runtime.items()} == {
        "containerd": versions.COMPONENTS["containerd"],
        "runc": versions.COMPONENTS["runc"],
    }
    # Every entry says where its checksum comes from; files in a bundle are unique.
    assert all(e.get("checksum_url") or e.get("checksum_source") for e in entries)
    files = [e["file"] for e in entries if e["kind"] != "package"]
    assert len(files) == len(set(files))


def test_the_containerd_roles_urls_are_the_lists_urls():
    """The role's overridable URL templates default to the list's, so both name the same files."""
    defaults = yaml.safe_load((REPO / "roles/containerd/defaults/main.yml").read_text())
    for name in ("containerd", "runc", "cni_plugins", "crictl"):
        assert defaults["containerd_download_urls"][name] == artifacts.DOWNLOAD_URLS[name]
        assert defaults["containerd_checksum_urls"][name] == artifacts.CHECKSUM_URLS[name]


def test_kube_packages_cni_plugins_default_is_the_version_maps_pin():
    defaults = yaml.safe_load((REPO / "roles/kube_packages/defaults/main.yml").read_text())
    assert defaults["kube_packages_cni_plugins_version"] == versions.COMPONENTS["cni_plugins"]


def test_an_offline_source_keeps_the_file_names_under_binaries():
    (runc,) = artifacts.downloads({"runc": "1.4.3"}, "arm64", "file:///srv/airgap/")
    assert runc["url"] == "file:///srv/airgap/binaries/runc.arm64"
    assert runc["checksum_url"] == "file:///srv/airgap/binaries/runc.sha256sum"
    assert (
        runc["upstream_url"] == "https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.arm64"
    )
    assert runc["archive"] is False


def test_a_roles_url_override_is_followed_and_kept_as_upstream():
    (item,) = artifacts.downloads(
        {"containerd": "1.6.20"}, "amd64", "", {"containerd": "file:///m/c/v{version}/c-{version}-{arch}.tgz"}
    )
    assert item["url"] == item["upstream_url"] == "file:///m/c/v1.6.20/c-1.6.20-amd64.tgz"
    assert item["file"] == "c-1.6.20-amd64.tgz"


@pytest.mark.parametrize(
    ("mode", "name", "ref", "nodes"),
    [
        ("kube_vip", "kube-vip", "ghcr.io/kube-vip/kube-vip:v0.9.2", "control_plane"),
        ("local_lb", "nginx", "docker.io/library/nginx:1.28.0-alpine", "workers"),
    ],
)
def test_the_endpoint_mode_adds_its_image(mode, name, ref, nodes):
    images = by(artifacts.images("1.36.4", endpoint_mode=mode))
    assert images[name]["ref"] == ref
    assert images[name]["nodes"] == nodes
    assert name not in by(artifacts.images("1.36.4"))


def test_control_plane_images_are_for_control_planes_only():
    images = by(artifacts.images("1.35.2"))
    assert {n for n, e in images.items() if e["nodes"] == "control_plane"} == {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "etcd",
    }
    assert images["pause"]["nodes"] == images["kube-proxy"]["nodes"] == images["cilium"]["nodes"] == "all"


def test_a_mirror_repository_changes_kubeadms_images():
    images = by(artifacts.images("1.36.4", "mirror.example:5000/k8s", cni="none"))
    assert images["coredns"]["ref"] == "mirror.example:5000/k8s/coredns:v1.14.2"
    assert set(images) == set(versions.release("1.36.4")["images"])


@pytest.mark.parametrize("choice", ["cilium", "calico"])
def test_cni_files_are_what_role_cni_reads_from_an_offline_source(choice):
    settings = {
        "cni": choice,
        "pod_subnet": "10.244.0.0/16",
        "first_node_ip": "192.0.2.1",
        "offline_source": "/o",
    }
    plan = cni.plan(settings)
    files = artifacts.cni_files(choice)
    wanted = (
        [plan["chart"]] if choice == "cilium" else [s["upstream"] for s in plan["steps"] if "upstream" in s]
    )
    # role cni reads <offline>/cni/<cni>-<version>/<file>: the bundle puts them there.
    assert [f"/o/{e['file']}" for e in files] == [f"{plan['source']}/{name}" for name in wanted]
    assert all(e["url"].startswith(cni.UPSTREAM[choice].format(version=plan["version"])) for e in files)
    assert artifacts.cni_files("none") == []


def test_calico_lists_its_operator_image():
    images = by(artifacts.images("1.36.4", cni="calico"))
    assert images["tigera-operator"]["ref"] == "quay.io/tigera/operator:v1.42.3"
    assert "cilium" not in images


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: artifacts.artifacts("1.30.1"), "supported minors"),
        (lambda: artifacts.artifacts("1.36.4", arch="mips"), "architecture 'mips'"),
        (lambda: artifacts.images("1.36.4", cni="flannel"), "slipway_cni 'flannel'"),
        (lambda: artifacts.images("1.36.4", endpoint_mode="vip"), "endpoint mode 'vip'"),
        (lambda: artifacts.downloads({"etcd": "3.6.8"}), "no download is known for 'etcd'"),
        (lambda: artifacts.image_file("registry.k8s.io/pause"), "has no tag"),
    ],
)
def test_bad_requests_name_what_is_wrong(call, words):
    with pytest.raises(ValueError, match=words):
        call()


@pytest.mark.parametrize(
    ("text", "file", "expected"),
    [
        (f"{SHA}\n", "kubeadm", SHA),
        (f"{SHA}  runc.amd64\n{'cd' * 32}  runc.arm64\n", "runc.arm64", "cd" * 32),
        (f"{SHA.upper()} *./dir/crictl.tar.gz\n", "crictl.tar.gz", SHA),
    ],
)
def test_checksum_files_are_read_as_get_url_reads_them(text, file, expected):
    assert artifacts.checksum_of(text, file) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [(f"{SHA}  other\n", "no line for kubeadm"), ("nothex\n", "not a SHA-256"), ("", "no line")],
)
def test_bad_checksum_files_are_refused(text, words):
    with pytest.raises(artifacts.ArtifactError, match=words):
        artifacts.checksum_of(text, "kubeadm")


def test_sha256sums_text_maps_names_to_hashes():
    assert artifacts.parse_checksums(f"{SHA}  images/pause_3.10.2.tar\n\n{'cd' * 32} *etcd.tar\n") == {
        "pause_3.10.2.tar": SHA,
        "etcd.tar": "cd" * 32,
    }
