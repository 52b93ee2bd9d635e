# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Action plugin behind slipway.cluster.validate_cluster: runs on the controller only."""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.slipway.cluster.plugins.module_utils import validation

display = Display()

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "roles")


def role_variables() -> dict[str, set[str]]:
    """Every Slipway role's documented variables (all entry points of its argument specs)."""
    found = {}
    for role in sorted(os.listdir(ROLES_DIR)):
        spec = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
        if not os.path.isfile(spec):
            continue
        with open(spec, encoding="utf-8") as handle:
            entries = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        found[role] = {name for entry in entries.values() for name in (entry.get("options") or {})}
    return found


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("extra_known_variables", "skip"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        skip = set(args.get("skip") or [])
        groups = {name: list(hosts) for name, hosts in task_vars.get("groups", {}).items()}
        hostvars = {}
        for host in groups.get("all", []):
            hv = task_vars["hostvars"][host]
            hostvars[host] = {k: hv[k] for k in hv if not k.startswith("ansible_") or k == "ansible_host"}
        settings = {k: self._templar.template(v) for k, v in task_vars.items() if k.startswith("slipway_")}
        for hv in hostvars.values():
            for key in ("slipway_node_ip", "slipway_node_name", "ansible_host"):
                if key in hv:
                    hv[key] = self._templar.template(hv[key])
        # Role variables are read per host from hostvars (inventory and extra vars).
        for hv in hostvars.values():
            for key in [k for k in hv if k.startswith(validation.ROLE_PREFIXES)]:
                hv[key] = self._templar.template(hv[key])
        role_settings: dict = {}
        # Known variables are the documented ones: a misspelt slipway_* set on a host is also
        # among this host's task_vars, so the settings themselves cannot say what is known.
        roles = role_variables()
        known = roles.pop("slipway") | set(args.get("extra_known_variables") or [])
        settings_known = {k: v for k, v in settings.items() if k in known}
        problems, warnings = validation.validate(
            groups, hostvars, settings_known, known, role_settings, role_variables=roles
        )
        problems = [p for p in problems + validation.controller_problems() if p.id not in skip]
        for warning in warnings:
            display.warning(warning)
        result["problems"] = [p.__dict__ for p in problems]
        result["warnings_found"] = warnings
        result["changed"] = False
        if problems:
            lines = "\n".join(f"  - {p.line()}" for p in problems)
            raise AnsibleActionFail(
                f"The inventory has {len(problems)} problem(s); no host was touched:\n{lines}", result=result
            )
        result["msg"] = f"inventory valid: {len(groups.get('control_plane', []))} control plane(s), " + (
            f"{len(groups.get('workers', []))} worker(s)"
        )
        return result
