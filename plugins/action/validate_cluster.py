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

#: controller Python libraries Slipway's plugins need, with the lowest versions tested
CONTROLLER_REQUIREMENTS = {"cryptography": (41, 0), "jinja2": (3, 1), "yaml": (6, 0)}


def controller_problems() -> list[validation.Problem]:
    import importlib  # noqa: PLC0415 - only this check needs it

    problems = []
    for name, minimum in CONTROLLER_REQUIREMENTS.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            problems.append(
                validation.Problem(
                    "controller-python",
                    name,
                    f"the Python library {name} is missing on the controller.",
                    "run `python3 tools/slipway.py setup` or `pip install -r requirements-dev.txt`.",
                )
            )
            continue
        have = tuple(int(p) for p in getattr(module, "__version__", "0.0").split(".")[:2] if p.isdigit())
        if have < minimum:
            problems.append(
                validation.Problem(
                    "controller-python",
                    name,
                    f"{name} {module.__version__} is older than {'.'.join(map(str, minimum))}.",
                    "upgrade it: pip install -r requirements-dev.txt.",
                )
            )
    return problems


def documented_variables() -> set[str]:
    """The cluster-wide variables documented in role slipway's argument specs."""
    spec = os.path.join(
        os.path.dirname(__file__), "..", "..", "roles", "slipway", "meta", "argument_specs.yml"
    )
    with open(spec, encoding="utf-8") as handle:
        return set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])


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
        role_settings = {
            k: self._templar.template(v)
            for k, v in task_vars.items()
            if k.startswith(("containerd_", "swap_", "kube_packages_", "control_plane_", "kubelet_"))
        }
        # Known variables are the documented ones: a misspelt slipway_* set on a host is also
        # among this host's task_vars, so the settings themselves cannot say what is known.
        known = documented_variables() | set(args.get("extra_known_variables") or [])
        settings_known = {k: v for k, v in settings.items() if k in known}
        problems, warnings = validation.validate(groups, hostvars, settings_known, known, role_settings)
        problems = [p for p in problems + controller_problems() if p.id not in skip]
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
