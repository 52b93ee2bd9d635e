# SPDX-License-Identifier: Apache-2.0
"""Shared pytest setup: import our plugins as ``ansible_collections.slipway.cluster``."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = str(REPO / ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
