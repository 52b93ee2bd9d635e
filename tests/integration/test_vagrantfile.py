# SPDX-License-Identifier: Apache-2.0
"""The Vagrantfile is valid Ruby and defines the nodes of inventory/lab, with their addresses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Vagrant itself is not needed: a stub records what the Vagrantfile asks of it.
STUB = r"""
class Stub
  def initialize(log) @log = log end
  def method_missing(name, *args, **kw, &blk)
    @log << [name, args, kw]
    blk.call(Stub.new(@log)) if blk
    Stub.new(@log)
  end
  def respond_to_missing?(*) true end
end
module Vagrant
  def self.configure(_version)
    log = []
    yield Stub.new(log)
    $log = log
  end
end
load "Vagrantfile"
current = nil
$log.each do |name, args, kw|
  current = args[0] if name == :define
  puts "#{current} #{kw[:ip]}" if name == :network
  puts "box #{args[0]}" if name == :box=
  puts "memory #{args[0]}" if name == :memory=
end
"""


def machines(env: dict) -> list[str]:
    ruby = shutil.which("ruby")
    if ruby is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ruby is missing: `python3 tools/slipway.py setup` installs it")
        pytest.skip("no ruby on this machine")
    proc = subprocess.run(
        [ruby, "-e", STUB], cwd=REPO, capture_output=True, text=True, env=dict(os.environ, **env), check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_default_vagrant_lab_mirrors_inventory_lab():
    lab = yaml.safe_load((REPO / "inventory/lab/hosts.yml").read_text())
    children = lab["k8s_cluster"]["children"]
    expected = {
        name: str(host["slipway_node_ip"])
        for group in ("control_plane", "workers")
        for name, host in children[group]["hosts"].items()
    }
    lines = machines({})
    assert "box debian/bookworm64" in lines
    assert {line.split()[0]: line.split()[1] for line in lines if line.split()[0] in expected} == expected
    vagrant_inventory = yaml.safe_load((REPO / "inventory/vagrant/hosts.yml").read_text())
    vchildren = vagrant_inventory["k8s_cluster"]["children"]
    mirrored = {
        name: host["ansible_host"]
        for group in ("control_plane", "workers")
        for name, host in vchildren[group]["hosts"].items()
    }
    assert mirrored == expected


def test_box_size_and_count_are_overridable():
    lines = machines({"SLIPWAY_BOX": "generic/ubuntu2404", "SLIPWAY_NODES": "5", "SLIPWAY_MEMORY": "4096"})
    assert "box generic/ubuntu2404" in lines
    assert "memory 4096" in lines
    assert "worker4 10.77.0.24" in lines
