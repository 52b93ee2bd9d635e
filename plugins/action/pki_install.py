# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""Action plugin behind slipway.cluster.pki_install: reads the sources on the controller.

Every source is read here and passed, base64-encoded, in the module's ``content``
option (``no_log`` in the module's argument spec), so the whole set reaches the
node in one module call.
"""

from __future__ import annotations

import base64

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "owner", "group", "directory_mode", "backup"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        files = args.get("files")
        if not isinstance(files, list):
            raise AnsibleActionFail("files: give a list of {src, dest, mode} entries")
        loaded = []
        for index, entry in enumerate(files):
            if not isinstance(entry, dict) or "src" not in entry:
                raise AnsibleActionFail(f"files[{index}]: each entry needs src, dest and mode")
            try:
                path = self._find_needle("files", entry["src"])
            except AnsibleError as error:
                raise AnsibleActionFail(
                    f"files[{index}]: source {entry['src']} not found on the controller"
                ) from error
            with open(path, "rb") as handle:
                content = base64.b64encode(handle.read()).decode("ascii")
            loaded.append({key: value for key, value in entry.items() if key != "src"} | {"content": content})
        args["files"] = loaded
        result.update(
            self._execute_module(
                module_name="slipway.cluster.pki_install", module_args=args, task_vars=task_vars
            )
        )
        return result
