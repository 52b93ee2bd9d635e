#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
from __future__ import annotations

DOCUMENTATION = r"""
module: validate_cluster
short_description: Validate a Slipway inventory on the controller before any host is touched
description:
  - Checks groups, node names and addresses, pod and service networks, versions, ports, the DNS
    domain, certificate validity settings, misspelt C(slipway_*) variables and variables of other
    installers, and the controller's Python libraries.
  - Fails once, listing every problem with the variable, what is wrong and how to fix it.
  - An action plugin: it runs on the controller only and never connects to a host.
version_added: 0.1.0
author: Slipway developers
options:
  extra_known_variables:
    description: More C(slipway_*) variable names to accept (for site extensions).
    type: list
    elements: str
    default: []
  skip:
    description: Check ids to skip (listed in docs/validation.md).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
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
