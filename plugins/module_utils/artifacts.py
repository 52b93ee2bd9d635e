# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Every artifact a cluster needs, derived from the version map: the one list.

The roles compute their downloads with the ``slipway.cluster.artifacts`` filter
(which calls :func:`artifacts` or :func:`downloads`), and ``tools/slipway.py
artifacts`` prints and bundles the same list, so what is listed is what the roles
fetch.  Each entry names where upstream publishes the artifact, where upstream
publishes its checksum (``checksum_url``; images and charts have none beside
them, see ``checksum_source``), the file it has in an offline bundle, and the
role and install method that use it.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

from ansible_collections.slipway.cluster.plugins.module_utils import cni as cni_module
from ansible_collections.slipway.cluster.plugins.module_utils import control_plane, versions

#: Upstream download URL per binary or archive; ``{version}``, ``{arch}`` and
#: ``{name}`` are replaced.  The containerd role's ``containerd_download_urls``
#: default equals the four containerd entries (a unit test checks it).
DOWNLOAD_URLS: dict[str, str] = {
    "kubeadm": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubeadm",
    "kubelet": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubelet",
    "kubectl": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubectl",
    "containerd": "https://github.com/containerd/containerd/releases/download/v{version}/containerd-{version}-linux-{arch}.tar.gz",
    "runc": "https://github.com/opencontainers/runc/releases/download/v{version}/runc.{arch}",
    "cni_plugins": "https://github.com/containernetworking/plugins/releases/download/v{version}/cni-plugins-linux-{arch}-v{version}.tgz",
    "crictl": "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{version}/crictl-v{version}-linux-{arch}.tar.gz",
}

#: The checksum file upstream publishes beside each download (one hash, or
#: ``<hash>  <file>`` lines; Ansible's get_url reads both).
CHECKSUM_URLS: dict[str, str] = {
    "kubeadm": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubeadm.sha256",
    "kubelet": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubelet.sha256",
    "kubectl": "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/kubectl.sha256",
    "containerd": "https://github.com/containerd/containerd/releases/download/v{version}/containerd-{version}-linux-{arch}.tar.gz.sha256sum",
    "runc": "https://github.com/opencontainers/runc/releases/download/v{version}/runc.sha256sum",
    "cni_plugins": "https://github.com/containernetworking/plugins/releases/download/v{version}/cni-plugins-linux-{arch}-v{version}.tgz.sha256",
    "crictl": "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{version}/crictl-v{version}-linux-{arch}.tar.gz.sha256",
}

#: Which binaries each role installs, and which of them are archives to unpack.
KUBE_BINARIES = ("kubeadm", "kubelet", "kubectl")
ARCHIVES = ("containerd", "cni_plugins", "crictl")
ARCHES = ("amd64", "arm64", "ppc64le", "s390x")
CONTROL_PLANE_IMAGES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kube-vip")
CNIS = cni_module.CHOICES
ENDPOINT_MODES = ("node", "external", "kube_vip", "local_lb")

#: Operator image of each Calico release (facts §7.3: v1.42.3 in v3.32.1).
#: Not a pin of its own: it follows COMPONENTS["calico"].
CALICO_OPERATOR = {"3.32.1": "1.42.3"}

PACKAGE_INDEX = "{base}/v{minor}/deb/Packages"


class ArtifactError(ValueError):
    """A request the artifact list cannot answer (unknown arch, CNI, component)."""


def _fill(template: str, name: str, version: str, arch: str) -> str:
    return template.replace("{version}", version).replace("{arch}", arch).replace("{name}", name)


def basename(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def image_file(ref: str) -> str:
    """``registry.k8s.io/coredns/coredns:v1.14.2`` -> ``coredns_v1.14.2.tar`` (the bundle's name)."""
    path, _, tag = ref.rpartition(":")
    if not path or "/" in tag:
        raise ArtifactError(f"image reference {ref!r} has no tag")
    return f"{path.rsplit('/', 1)[-1]}_{tag}.tar"


def parse_checksums(text: str) -> dict[str, str]:
    """``<hash>  <file>`` lines (as sha256sum writes them) -> file basename to hash."""
    out = {}
    for line in str(text).splitlines():
        fields = line.split()
        if len(fields) >= 2:
            name = basename(fields[-1].lstrip("*"))
            out[name] = _sha256(fields[0], name)
    return out


def checksum_of(text: str, file: str) -> str:
    """The SHA-256 for ``file`` in a checksum file: one bare hash, or ``<hash>  <file>`` lines."""
    lines = [line.split() for line in str(text).splitlines() if line.strip()]
    for fields in lines:
        if len(fields) >= 2 and basename(fields[-1].lstrip("*")) == file:
            return _sha256(fields[0], file)
    if len(lines) == 1 and len(lines[0]) == 1:
        return _sha256(lines[0][0], file)
    raise ArtifactError(f"the checksum file has no line for {file}")


def _sha256(value: str, file: str) -> str:
    value = value.lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ArtifactError(f"the checksum of {file} is not a SHA-256 ({value[:80]!r})")
    return value


def downloads(
    wanted: dict[str, str],
    arch: str = "amd64",
    offline_source: str = "",
    urls: dict | None = None,
    checksum_urls: dict | None = None,
) -> list[dict]:
    """The binaries and archives of ``wanted`` (name -> version), in the order given.

    Each entry: ``name``, ``version``, ``file`` (its name upstream and in the
    bundle's ``binaries/``), ``url`` and ``checksum_url`` where the roles fetch
    them: upstream's (or the role's overrides), or ``<offline_source>/binaries/``
    with the same file names when an offline source is set.  ``upstream_url``
    and ``upstream_checksum_url`` keep upstream's addresses either way.
    """
    if arch not in ARCHES:
        raise ArtifactError(f"architecture {arch!r} is not one of {', '.join(ARCHES)}")
    urls = {**DOWNLOAD_URLS, **(urls or {})}
    checksum_urls = {**CHECKSUM_URLS, **(checksum_urls or {})}
    out = []
    for name, pinned in wanted.items():
        if name not in DOWNLOAD_URLS:
            raise ArtifactError(f"no download is known for {name!r}; known: {', '.join(DOWNLOAD_URLS)}")
        version = str(pinned)
        upstream = _fill(urls[name], name, version, arch)
        upstream_sum = _fill(checksum_urls[name], name, version, arch)
        url, checksum_url = upstream, upstream_sum
        if offline_source:
            base = offline_source.rstrip("/") + "/binaries/"
            url, checksum_url = base + basename(upstream), base + basename(upstream_sum)
        out.append(
            {
                "name": name,
                "version": version,
                "file": basename(upstream),
                "checksum_file": basename(upstream_sum),
                "archive": name in ARCHIVES,
                "url": url,
                "checksum_url": checksum_url,
                "upstream_url": upstream,
                "upstream_checksum_url": upstream_sum,
            }
        )
    return out


def images(
    kubernetes_version: str,
    image_repository: str = versions.DEFAULT_IMAGE_REPOSITORY,
    cni: str = "cilium",
    endpoint_mode: str = "node",
) -> list[dict]:
    """Every image a node may run: kubeadm's set, the CNI's and the endpoint mode's."""
    if cni not in CNIS:
        raise ArtifactError(f"slipway_cni {cni!r} is not one of {', '.join(CNIS)}")
    if endpoint_mode not in ENDPOINT_MODES:
        raise ArtifactError(f"endpoint mode {endpoint_mode!r} is not one of {', '.join(ENDPOINT_MODES)}")
    release = versions.release(kubernetes_version, image_repository)
    refs = [(name, ref, "kubeadm") for name, ref in release["images"].items()]
    if cni == "cilium":
        version = versions.COMPONENTS["cilium"]
        refs += [
            ("cilium", f"quay.io/cilium/cilium:v{version}", "cni"),
            ("cilium-operator", f"quay.io/cilium/operator-generic:v{version}", "cni"),
        ]
    elif cni == "calico":
        calico = versions.COMPONENTS["calico"]
        if calico not in CALICO_OPERATOR:
            raise ArtifactError(
                f"the tigera operator version of Calico {calico} is not known (CALICO_OPERATOR)"
            )
        refs.append(("tigera-operator", f"quay.io/tigera/operator:v{CALICO_OPERATOR[calico]}", "cni"))
    if endpoint_mode == "kube_vip":
        refs.append(
            ("kube-vip", f"{control_plane.KUBE_VIP_IMAGE}:v{versions.COMPONENTS['kube_vip']}", "endpoint")
        )
    elif endpoint_mode == "local_lb":
        refs.append(("nginx", f"docker.io/library/nginx:{versions.COMPONENTS['nginx']}", "endpoint"))
    return [
        {
            "kind": "image",
            "name": name,
            "ref": ref,
            "version": ref.rpartition(":")[2],
            "file": f"images/{image_file(ref)}",
            "url": ref,
            "checksum_source": "registry manifest digest of the reference (resolved when pulled)",
            "used_by": "images",
            "why": why,
            # Which nodes run it: kubeadm's control-plane pods and kube-vip on
            # control planes, the local API load balancer on workers.
            "nodes": "control_plane"
            if name in CONTROL_PLANE_IMAGES
            else "workers"
            if name == "nginx"
            else "all",
        }
        for name, ref, why in refs
    ]


def artifacts(
    kubernetes_version: str,
    *,
    arch: str = "amd64",
    image_repository: str = versions.DEFAULT_IMAGE_REPOSITORY,
    cni: str = "cilium",
    endpoint_mode: str = "node",
    package_base_url: str = "https://pkgs.k8s.io/core:/stable:",
    containerd: dict | None = None,
    cni_plugins_version: str | None = None,
) -> list[dict]:
    """The whole list for one Kubernetes version: packages, binaries, images, charts, manifests.

    ``containerd`` maps containerd/runc to versions (default: the version map's
    pins).  Every entry has ``kind``, ``name``, ``version``, ``file`` (relative
    path in a bundle), ``url``, ``checksum_url`` or ``checksum_source``, and
    ``used_by`` (the role and method that installs it).
    """
    release = versions.release(kubernetes_version, image_repository)
    minor, version = release["minor"], release["version"]
    pins = {
        "containerd": versions.COMPONENTS["containerd"],
        "runc": versions.COMPONENTS["runc"],
        **(containerd or {}),
    }
    cni_plugins = str(cni_plugins_version or versions.COMPONENTS["cni_plugins"])
    base = package_base_url.rstrip("/")
    out: list[dict] = []
    packages = {name: release["package_version"] for name in KUBE_BINARIES}
    packages["cri-tools"] = f"{release['cri_tools_version']}-1.1"
    for name, pkg_version in packages.items():
        out.append(
            {
                "kind": "package",
                "name": name,
                "version": pkg_version,
                "file": f"packages/v{minor}/deb/",
                "url": f"{base}/v{minor}/deb/",
                "checksum_url": PACKAGE_INDEX.format(base=base, minor=minor),
                "checksum_source": "SHA256 field of the repository's Packages index (signed InRelease)",
                "used_by": "kube_packages (package method)",
            }
        )
    binaries = {name: version for name in KUBE_BINARIES}
    binaries.update({"crictl": release["cri_tools_version"], "cni_plugins": cni_plugins})
    for used_by, wanted in (
        ("kube_packages (binary method)", binaries),
        ("containerd (archive method)", {"containerd": pins["containerd"], "runc": pins["runc"]}),
    ):
        for item in downloads(wanted, arch):
            out.append(
                {
                    "kind": "archive" if item["archive"] else "binary",
                    "name": item["name"],
                    "version": item["version"],
                    "file": f"binaries/{item['file']}",
                    "url": item["upstream_url"],
                    "checksum_url": item["upstream_checksum_url"],
                    "checksum_file": f"binaries/{item['checksum_file']}",
                    "used_by": used_by,
                }
            )
    for image in images(kubernetes_version, image_repository, cni, endpoint_mode):
        out.append(image)
    out += cni_files(cni, endpoint_mode)
    names = [entry["file"] for entry in out if entry["kind"] != "package"]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ArtifactError(f"two artifacts share a bundle file name: {', '.join(duplicates)}")
    return out


def cni_files(cni: str, endpoint_mode: str = "node") -> list[dict]:
    """The upstream files role cni reads (Cilium's chart, Calico's manifests), from ``cni.plan``.

    In a bundle they sit where role cni looks with an offline source:
    ``cni/<cni>-<version>/<file>``.
    """
    if cni == "none":
        return []
    settings = {
        "cni": cni,
        "pod_subnet": "10.244.0.0/16",
        "service_subnet": "10.96.0.0/12",
        "endpoint_mode": endpoint_mode,
        "endpoint": "192.0.2.10:6443" if endpoint_mode in ("external", "kube_vip") else "",
        "first_node_ip": "192.0.2.10",
        "api_port": 6443,
        "node_count": 1,
    }
    plan = cni_module.plan(settings)
    files = [plan["chart"]] if plan.get("chart") else []
    files += [step["upstream"] for step in plan["steps"] if step.get("upstream")]
    upstream = cni_module.UPSTREAM[cni].format(version=plan["version"])
    return [
        {
            "kind": "chart" if name.endswith(".tgz") else "manifest",
            "name": f"{cni}/{name}",
            "version": plan["version"],
            "file": f"cni/{cni}-{plan['version']}/{name}",
            "url": f"{upstream}/{name}",
            "checksum_source": (
                "digest of the chart in the Helm repository's index.yaml"
                if name.endswith(".tgz")
                else "none published beside it; the sha256 of the bundled file"
            ),
            "used_by": "cni",
        }
        for name in files
    ]
