# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""The one place that maps each supported Kubernetes minor to what goes with it.

Every role, filter, validation and the air-gap artifact list read from here, so a
new Kubernetes minor is added by adding one entry below.  Sources are the kubeadm
constants (``cmd/kubeadm/app/constants/constants.go``) and containerd's
``RELEASES.md`` as summarised in ``kubernetes-bootstrap-facts.md`` section 0;
patch releases of Kubernetes are the newest we could confirm, and the user picks
any patch with ``slipway_kubernetes_version``.

Pure Python, no Ansible imports: it is used by module_utils, filters, action
plugins, tests and the development tools alike.
"""

from __future__ import annotations

import re

# Minor -> facts.  ``containerd_min`` maps each containerd release line that
# upstream lists as supported for that Kubernetes minor to its minimum patch.
RELEASES: dict[str, dict] = {
    "1.34": {
        "default_patch": "1.34.2",
        "etcd": "3.6.4-0",
        "pause": "3.10.1",
        "coredns": "v1.12.1",
        "cri_tools": "1.34.0",
        "containerd_min": {"2.1": "2.1.3", "2.0": "2.0.6", "1.7": "1.7.28", "1.6": "1.6.39"},
    },
    "1.35": {
        "default_patch": "1.35.2",
        "etcd": "3.6.6-0",
        "pause": "3.10.1",
        "coredns": "v1.12.4",
        "cri_tools": "1.35.0",
        "containerd_min": {"2.2": "2.2.0", "2.1": "2.1.5", "1.7": "1.7.28"},
    },
    "1.36": {
        "default_patch": "1.36.4",
        "etcd": "3.6.8-0",
        "pause": "3.10.2",
        "coredns": "v1.14.2",
        "cri_tools": "1.36.0",
        "containerd_min": {"2.3": "2.3.0", "2.2": "2.2.0"},
    },
}

#: The newest stable minor the facts confirm (1.37 was only an alpha).
DEFAULT_MINOR = "1.36"
DEFAULT_KUBERNETES_VERSION = RELEASES[DEFAULT_MINOR]["default_patch"]
SUPPORTED_MINORS = tuple(sorted(RELEASES, key=lambda m: tuple(int(p) for p in m.split("."))))

#: Pins for what is not tied to one Kubernetes minor (upstream archives, CNIs).
COMPONENTS: dict[str, str] = {
    "containerd": "2.3.4",
    "runc": "1.4.3",
    "cni_plugins": "1.9.1",
    "cilium": "1.20.1",
    "calico": "3.32.1",
    "kube_vip": "0.9.2",
    # nginx of the local API load balancer (local_lb); not in the facts file: our pin.
    "nginx": "1.28.0-alpine",
}

DEFAULT_IMAGE_REPOSITORY = "registry.k8s.io"

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+~].*)?$")


class VersionError(ValueError):
    """A version string that is malformed or not supported."""


def parse(version: str) -> tuple[int, int, int]:
    """Return ``(major, minor, patch)`` of ``1.36.4``, ``v1.36.4`` or ``2.2.0~ds1-3``."""
    match = _VERSION_RE.match(str(version).strip())
    if not match:
        raise VersionError(f"'{version}' is not a version of the form X.Y.Z")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def minor_of(version: str) -> str:
    major, minor, _patch = parse(version)
    return f"{major}.{minor}"


def release(kubernetes_version: str, image_repository: str = DEFAULT_IMAGE_REPOSITORY) -> dict:
    """Everything that goes with one Kubernetes version, images spelt out in full."""
    minor = minor_of(kubernetes_version)
    if minor not in RELEASES:
        raise VersionError(
            f"Kubernetes {kubernetes_version} (minor {minor}) is not supported; "
            f"supported minors are {', '.join(SUPPORTED_MINORS)}"
        )
    facts = RELEASES[minor]
    version = "v" + ".".join(str(p) for p in parse(kubernetes_version))
    # kubeadm adds the extra coredns/ path segment only for the default repository.
    coredns_path = "coredns/coredns" if image_repository == DEFAULT_IMAGE_REPOSITORY else "coredns"
    images = {
        name: f"{image_repository}/{name}:{version}"
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
    }
    images["etcd"] = f"{image_repository}/etcd:{facts['etcd']}"
    images["pause"] = f"{image_repository}/pause:{facts['pause']}"
    images["coredns"] = f"{image_repository}/{coredns_path}:{facts['coredns']}"
    return {
        "version": version[1:],
        "minor": minor,
        "package_version": f"{version[1:]}-1.1",
        "rpm_version": f"{version[1:]}-150500.1.1",
        "etcd_version": facts["etcd"],
        "pause_version": facts["pause"],
        "coredns_version": facts["coredns"],
        "cri_tools_version": facts["cri_tools"],
        "containerd_min": dict(facts["containerd_min"]),
        "images": images,
    }


def containerd_supported(kubernetes_version: str, containerd_version: str) -> bool:
    """True when upstream lists ``containerd_version`` as fit for ``kubernetes_version``.

    A containerd line newer than every listed line counts as supported; a line
    that is listed needs at least its minimum patch; older lines are refused.
    """
    mins = release(kubernetes_version)["containerd_min"]
    have = parse(containerd_version)
    line = f"{have[0]}.{have[1]}"
    if line in mins:
        return have >= parse(mins[line])
    newest = max(parse(v) for v in mins.values())
    return have[:2] > newest[:2]


def containerd_config_version(containerd_version: str) -> int:
    """containerd 1.x reads config ``version = 2``; containerd 2.x reads ``version = 3``."""
    return 3 if parse(containerd_version)[0] >= 2 else 2
