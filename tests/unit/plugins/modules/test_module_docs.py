# SPDX-License-Identifier: Apache-2.0
"""Each module's DOCUMENTATION options equal its argument_spec, nested options included."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

PLUGINS = Path(__file__).resolve().parents[4] / "plugins" / "modules"
# Every module that builds an AnsibleModule (validate_cluster is documentation of an action plugin).
MODULES = sorted(p.stem for p in PLUGINS.glob("*.py") if "def main(" in p.read_text())
FIELDS = {"type": "str", "required": False, "default": None, "choices": None, "elements": None}


class Captured(Exception):
    def __init__(self, kwargs):
        super().__init__("argument_spec captured")
        self.kwargs = kwargs


def argument_spec(module) -> dict:
    def fake(**kwargs):
        raise Captured(kwargs)

    original = module.AnsibleModule
    module.AnsibleModule = fake
    try:
        module.main()
    except Captured as captured:
        return captured.kwargs["argument_spec"]
    finally:
        module.AnsibleModule = original
    raise AssertionError("main() did not build an AnsibleModule")


def compare(doc: dict, spec: dict, where: str) -> list[str]:
    problems = []
    if set(doc) != set(spec):
        problems.append(f"{where}: documented {sorted(doc)} but argument_spec has {sorted(spec)}")
    for name in set(doc) & set(spec):
        for field, fallback in FIELDS.items():
            have, want = doc[name].get(field, fallback), spec[name].get(field, fallback)
            if have != want:
                problems.append(f"{where}.{name}.{field}: documented {have!r}, argument_spec {want!r}")
        if "suboptions" in doc[name] or "options" in spec[name]:
            problems += compare(
                doc[name].get("suboptions", {}), spec[name].get("options", {}), f"{where}.{name}"
            )
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documentation_equals_argument_spec(name):
    module = importlib.import_module(f"ansible_collections.slipway.cluster.plugins.modules.{name}")
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["attributes"]["check_mode"]["support"] == "full"
    # Modules that change state support diff mode fully; _info modules change nothing.
    assert doc["attributes"]["diff_mode"]["support"] == ("none" if name.endswith("_info") else "full")
    assert doc["attributes"]["platform"]["platforms"] in ("posix", "linux")
    assert yaml.safe_load(module.RETURN)
    assert yaml.safe_load(module.EXAMPLES)
    assert compare(doc["options"], argument_spec(module), name) == []


def _text_fields(node, where: str) -> list[str]:
    """Every description/short_description that YAML did not read as text (a `: ` in a
    list item makes a mapping, which ansible-doc cannot render)."""
    problems = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "short_description", "details"):
                items = value if isinstance(value, list) else [value]
                problems += [f"{where}.{key}: {item!r}" for item in items if not isinstance(item, str)]
            else:
                problems += _text_fields(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            problems += _text_fields(item, f"{where}[{index}]")
    return problems


@pytest.mark.parametrize("name", sorted(p.stem for p in PLUGINS.glob("*.py")))
def test_every_description_is_text(name):
    module = importlib.import_module(f"ansible_collections.slipway.cluster.plugins.modules.{name}")
    for section in ("DOCUMENTATION", "RETURN"):
        assert _text_fields(yaml.safe_load(getattr(module, section)), f"{name}.{section}") == []
