# SPDX-License-Identifier: Apache-2.0
"""docs/components/*.md are what the renderer produces (regenerate: tools/slipway.py component-docs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ansible_collections.slipway.cluster.plugins.module_utils import control_plane

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from slipway_tools import component_docs  # noqa: E402


@pytest.mark.parametrize("component", control_plane.COMPONENTS)
def test_component_page_is_current(component):
    page = (REPO / "docs" / "components" / f"{component}.md").read_text()
    assert page == component_docs.page(component), "run: python3 tools/slipway.py component-docs"
