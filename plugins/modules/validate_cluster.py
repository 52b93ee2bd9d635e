#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: validate_cluster
short_description: Validate a Slipway inventory on the controller before any host is touched
description:
  - Checks groups, node names and addresses, pod and service networks (sizes, overlaps, dual-stack
    families, one pod range per node), Kubernetes and containerd versions and their skew, settings
    that must be equal on every host, ports, the API endpoint and its mode, certificate SANs and
    validity, misspelt C(slipway_*) and role variables, removed variables and those of other
    installers, and the controller's Python distributions (read with C(importlib.metadata)).
  - Fails once, listing every problem with its check id, the variable, what is wrong and how to fix
    it; docs/validation.md lists every check id.
  - Role variables (C(containerd_*), C(swap_*), ...) are checked per host, so a host that sets its own
    is named in the problem.
  - An action plugin, so it runs on the controller only and never connects to a host.
version_added: 0.1.0
author: Slipway developers
options:
  extra_known_variables:
    description: More C(slipway_*) variable names to accept (for site extensions).
    type: list
    elements: str
    default: []
  skip:
    description: Check ids to skip (docs/validation.md; C(CHECKS) in module_utils/validation.py).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs the same in check mode; it changes nothing.
    support: full
  diff_mode:
    description: Nothing to show a diff of.
    support: none
  platform:
    description: Runs on the controller only.
    support: full
    platforms: all
"""

EXAMPLES = r"""
- name: Validate the inventory
  slipway.cluster.validate_cluster:
  run_once: true
"""

RETURN = r"""
problems:
  description: Every problem found (id, variable, message, fix).
  type: list
  elements: dict
  returned: always
warnings_found:
  description: Warnings (also shown as Ansible warnings).
  type: list
  elements: str
  returned: always
"""
