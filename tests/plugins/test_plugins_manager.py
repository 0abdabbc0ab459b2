"""The plugin manager: discovery, validation and ordering (hand-made entry points)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from mango_core.plugins import CORE, PluginError, PluginManager
from mango_core.plugins.manager import ENTRY_POINT_GROUP

MODULES = (
    "alpha", "beta", "gamma", "delta", "cycle_one", "cycle_two", "needs_missing", "typo",
    "undecorated", "wrong_args", "no_meta", "bomb",
)


def ep(name: str, module: str | None = None) -> EntryPoint:
    return EntryPoint(name=name, value=f"mango_testplugins.{module or name}", group=ENTRY_POINT_GROUP)


INSTALLED = [ep(name) for name in MODULES]


def manager(enabled: list[str], installed: list[EntryPoint] = INSTALLED) -> PluginManager:
    return PluginManager(enabled, discover=lambda: list(installed))


def names(pm: PluginManager) -> list[str]:
    return [p.name for p in pm.ordered()]


def test_only_configured_plugins_are_imported():
    pm = manager(["beta"]).load()
    assert names(pm) == [CORE, "beta"]
    assert "mango_testplugins.bomb" not in sys.modules
    assert "mango_testplugins.typo" not in sys.modules  # it would fail the load if imported


def test_an_installed_but_unconfigured_plugin_is_never_imported_with_real_discovery():
    """The example plugin is pip-installed; with no plugins configured it stays unimported."""
    code = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "from mango_core.plugins import PluginManager\n"
        "assert 'example' in {e.name for e in entry_points(group='mango.plugins')}, 'example not installed'\n"
        "pm = PluginManager([]).load()\n"
        "assert [p.name for p in pm.ordered()] == ['core']\n"
        "assert not [m for m in sys.modules if m.startswith('mango_example')], 'imported!'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_real_discovery_loads_the_installed_example_plugin():
    pm = PluginManager(["example"]).load()
    example = pm.plugins["example"]
    assert example.distribution == "mango-example"
    assert example.version == "0.1.0"
    assert "mango_jobs" in example.hook_names


def test_duplicate_name_fails_loudly():
    installed = [*INSTALLED, ep("alpha", "alpha_clone")]
    with pytest.raises(PluginError, match=r"Two installed plugins are named 'alpha'.*alpha_clone"):
        manager(["beta"], installed).load()


def test_the_same_entry_point_seen_twice_is_not_a_duplicate():
    """An editable install can appear twice on sys.path; same target, same plugin."""
    pm = manager(["alpha", "beta"], [*INSTALLED, ep("alpha")]).load()
    assert names(pm) == [CORE, "beta", "alpha"]


def test_configured_but_not_installed():
    with pytest.raises(PluginError, match=r"'billing' is enabled in the configuration but not installed"):
        manager(["billing"]).load()


def test_missing_required_plugin():
    with pytest.raises(PluginError, match=r"'needs_missing' requires plugin 'nowhere', which is not enabled"):
        manager(["needs_missing"]).load()


def test_required_plugin_installed_but_not_configured():
    with pytest.raises(PluginError, match=r"'alpha' requires plugin 'beta'.*Add 'beta' to `plugins`"):
        manager(["alpha"]).load()


def test_dependency_cycle():
    with pytest.raises(PluginError, match=r"cycle: cycle_one, cycle_two"):
        manager(["cycle_one", "cycle_two"]).load()


def test_unknown_hook_names_the_plugin():
    with pytest.raises(PluginError, match=r"Plugin 'typo' implements a hook that Mango does not specify.*mango_typo"):
        manager(["typo"]).load()


def test_hook_function_without_hookimpl():
    with pytest.raises(PluginError, match=r"mango_testplugins.undecorated.mango_settings .*not decorated with @hookimpl"):
        manager(["undecorated"]).load()


def test_hook_asking_for_arguments_the_spec_lacks():
    with pytest.raises(PluginError, match=r"(?s)Plugin 'wrong_args' does not fit.*customer"):
        manager(["wrong_args"]).load()


def test_module_without_plugin_meta():
    with pytest.raises(PluginError, match=r"'no_meta'.*has no `PLUGIN = PluginMeta"):
        manager(["no_meta"]).load()


def test_plugin_that_fails_to_import():
    with pytest.raises(PluginError, match=r"Plugin 'bomb' \(mango_testplugins.bomb\) failed to import"):
        manager(["bomb"]).load()


def test_invalid_plugin_name():
    with pytest.raises(PluginError, match=r"Invalid plugin name 'Bad-Name'"):
        manager(["Bad-Name"]).load()


EXPECTED_ORDER = [CORE, "beta", "alpha", "delta", "gamma"]


@pytest.mark.parametrize("configured", list(itertools.permutations(["gamma", "alpha", "beta", "delta"]))[::5])
@pytest.mark.parametrize("reverse_discovery", [False, True])
def test_order_follows_requires_not_registration_or_discovery(configured, reverse_discovery):
    installed = list(reversed(INSTALLED)) if reverse_discovery else INSTALLED
    pm = manager(list(configured), installed).load()
    assert names(pm) == EXPECTED_ORDER
    # Hooks are called in the same order, whatever pluggy's registration order was.
    assert [plugin.name for plugin, _ in pm.contributions("mango_settings")
            if plugin.name != CORE] == EXPECTED_ORDER[1:]
    assert [value["who"] for plugin, value in pm.contributions("mango_settings")
            if plugin.name != CORE] == EXPECTED_ORDER[1:]


def test_requires_come_before_their_dependants():
    pm = manager(["gamma", "alpha", "beta"]).load()
    position = {name: i for i, name in enumerate(names(pm))}
    for plugin in pm.ordered():
        for required in plugin.meta.requires:
            assert position[required] < position[plugin.name]


def test_emit_skips_plugins_not_enabled_for_the_location():
    pm = manager(["alpha", "beta"]).load()
    pm.enabled_for = lambda location_id: {"beta"} if location_id == 1 else set()
    assert pm.active_names(1) == {CORE, "beta"}
    assert pm.active_names(2) == {CORE}
    assert pm.active_names(None) == {CORE}
