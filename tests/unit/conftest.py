# SPDX-License-Identifier: Apache-2.0
"""Unit tests import our plugins as ``ansible_collections.slipway.cluster`` from ``.collections``."""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = str(Path(__file__).resolve().parents[2] / ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
