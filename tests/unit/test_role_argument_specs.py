# SPDX-License-Identifier: Apache-2.0
"""Every role documents its defaults in meta/argument_specs.yml, with the same values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "main.yml").exists())


@pytest.mark.parametrize("role", ROLES)
def test_role_has_argument_specs_matching_its_defaults(role):
    root = REPO / "roles" / role
    specs = yaml.safe_load((root / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"].get("options", {})
    defaults_file = root / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    defaults = defaults or {}
    assert set(defaults) == {name for name, spec in options.items() if "default" in spec}, (
        f"{role}: defaults/main.yml and meta/argument_specs.yml name different variables"
    )
    for name, value in defaults.items():
        assert options[name]["default"] == value, f"{role}: {name} default differs from its spec"
        assert options[name].get("description"), f"{role}: {name} has no description"
        assert name.startswith(f"{role}_"), f"{role}: {name} lacks the role prefix"


def test_role_defaults_follow_the_version_map():
    """The cluster-wide default Kubernetes version is the version map's default."""
    import sys  # noqa: PLC0415

    sys.path.insert(0, str(REPO / ".collections"))
    from ansible_collections.slipway.cluster.plugins.module_utils import versions  # noqa: PLC0415

    defaults = yaml.safe_load((REPO / "roles/slipway/defaults/main.yml").read_text())
    assert defaults["slipway_kubernetes_version"] == versions.DEFAULT_KUBERNETES_VERSION
    assert defaults["slipway_image_repository"] == versions.DEFAULT_IMAGE_REPOSITORY


def test_containerd_defaults_follow_the_version_map():
    """The archive pins of role containerd are the version map's pins."""
    import sys  # noqa: PLC0415

    sys.path.insert(0, str(REPO / ".collections"))
    from ansible_collections.slipway.cluster.plugins.module_utils import versions  # noqa: PLC0415

    defaults = yaml.safe_load((REPO / "roles/containerd/defaults/main.yml").read_text())
    assert defaults["containerd_version"] == versions.COMPONENTS["containerd"]
    assert defaults["containerd_runc_version"] == versions.COMPONENTS["runc"]
    assert defaults["containerd_cni_plugins_version"] == versions.COMPONENTS["cni_plugins"]
    assert versions.containerd_supported(versions.DEFAULT_KUBERNETES_VERSION, defaults["containerd_version"])
