"""Contract tests over every loaded plugin (the core and the example third-party plugin).

A new plugin passes these by being listed in ``mango_test_plugins``: one name everywhere
(tables, blueprints, URLs, permissions, jobs, version table, templates), one migration head,
models that match their migrations, and every view behind a permission.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from sqlalchemy import inspect as sa_inspect

from mango_core import hookspecs
from mango_core.db.base import Base
from mango_core.db.migrations import current_heads, lineages, pending_diff, script_heads, version_table
from mango_core.plugins import CORE

REPO = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, obj in vars(hookspecs).items() if name.startswith("mango_") and inspect.isfunction(obj))


def plugin_names(mango) -> list[str]:
    return [p.name for p in mango.plugins.ordered()]


def test_the_suite_loads_the_core_the_repository_plugins_and_the_example_plugin(mango):
    # order: the core first, then by `requires`, ties by name
    assert plugin_names(mango) == [CORE, "billing", "callcenter", "example", "isp", "ixpos", "netflow", "print"]
    assert mango.plugins.plugins["example"].distribution == "mango-example"
    assert mango.plugins.plugins["billing"].distribution == "mango-billing"


def test_a_plugin_registers_the_modules_of_its_parts(mango):
    billing = mango.plugins.plugins["billing"]
    assert [m.__name__ for m in billing.modules] == ["mango_billing.plugin", *billing.meta.parts]
    for module in billing.modules:
        # every part's hooks belong to the plugin (menus, jobs and events are tied to "billing")
        registered = [name for name, plugin in mango.plugins.pm.list_name_plugin() if plugin is module]
        assert len(registered) == 1 and registered[0].startswith("billing"), registered


def test_tables_carry_the_plugin_prefix(mango):
    owned = {}
    for plugin, models in mango.plugins.contributions("mango_models"):
        for model in models:
            assert model.__tablename__.startswith(f"{plugin.name}_"), (plugin.name, model)
            owned[model.__tablename__] = plugin.name
    # No table in the metadata that no loaded plugin declares.
    assert set(Base.metadata.tables) == set(owned)
    assert owned["example_note"] == "example"


def test_one_migration_head_per_lineage(mango):
    found = dict(lineages(mango.plugins))
    for plugin, models in mango.plugins.contributions("mango_models"):
        if models:
            assert plugin.name in found, f"{plugin.name} has tables but no migrations (mango_migrations)"
    for plugin, folder in found.items():
        assert (folder / "env.py").is_file(), plugin
        heads = script_heads(folder, plugin)
        assert len(heads) == 1, f"{plugin}: migration heads {heads}; merge them"


def test_each_lineage_has_its_own_version_table_at_its_head(mango):
    tables = set(sa_inspect(mango.db.engine).get_table_names())
    assert "alembic_version" not in tables
    with mango.db.engine.connect() as conn:
        for plugin, folder in lineages(mango.plugins):
            assert version_table(plugin) in tables
            assert current_heads(conn, plugin) == set(script_heads(folder, plugin))


def test_models_and_migrations_agree(mango):
    for plugin, _folder in lineages(mango.plugins):
        assert pending_diff(mango.db.engine, plugin) == [], f"{plugin}: models differ from migrations"


def test_permissions_are_prefixed_and_declared(app, mango):
    for plugin, perm in mango.plugins.contributed_list("mango_permissions"):
        assert perm.code.startswith(f"{plugin.name}."), perm.code
        assert str(perm.label), perm.code
    assert {"example.notes.view", "example.notes.manage", "core.jobs.view", "core.jobs.run"} <= set(mango.permissions)
    for item in mango.menu_items:
        assert item.permission is None or item.permission in mango.permissions, item
        assert item.permission is None or item.permission.startswith(f"{item.plugin}."), item
    for endpoint, view in app.view_functions.items():
        code = getattr(view, "mango_permission", None)
        if code and code != "*authenticated*":
            assert code in mango.permissions, f"{endpoint} checks undeclared permission {code}"


def test_blueprints_are_named_and_mounted_under_the_plugin(app, mango):
    seen = set()
    for plugin, bp in mango.plugins.contributed_list("mango_blueprints"):
        seen.add(plugin.name)
        assert bp.name == plugin.name or bp.name.startswith(f"{plugin.name}_"), bp.name
        rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{bp.name}.")]
        assert rules, f"blueprint {bp.name} has no routes"
        if plugin.name != CORE:
            # a plugin's customer portal pages live under the portal: /selfcare/<plugin>
            prefix = f"/selfcare/{plugin.name}" if bp.name == f"{plugin.name}_selfcare" else f"/{plugin.name}"
            assert all(r == prefix or r.startswith(f"{prefix}/") for r in rules), rules
            if bp.template_folder:
                folder = Path(bp.root_path) / bp.template_folder
                assert {p.name for p in folder.iterdir()} == {plugin.name}, "templates go in templates/<plugin>/"
    assert "example" in seen


def test_menu_items_point_to_their_plugins_endpoints(app, mango):
    owners = app.extensions["mango_blueprint_owners"]
    for item in mango.menu_items:
        assert item.endpoint in app.view_functions, item.endpoint
        assert owners[item.endpoint.split(".")[0]] == item.plugin, item


def test_job_ids_carry_the_plugin_prefix(mango):
    for plugin, job in mango.plugins.contributed_list("mango_jobs"):
        assert job.id.startswith(f"{plugin.name}:"), job.id
        assert job.plugin == plugin.name
        assert callable(job.func) and job.trigger.get("trigger") in {"interval", "cron", "date"}
    assert {"core:purge_job_runs", "example:count_notes"} <= set(mango.jobs)


def test_settings_namespaces(mango):
    assert mango.plugin_settings("example")["notes_per_page"] == 50
    assert mango.plugin_settings("core")["job_runs_keep_days"] == 90


def test_every_hook_is_documented_with_its_signature():
    assert len(HOOKS) >= 12
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 30, f"{name} needs a docstring saying when it is called and what it returns"


def test_every_hook_is_in_the_plugin_authors_guide():
    # The README's plugin author's guide (written by the lead) must name every hook.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name in HOOKS if name not in readme]
    assert not missing, f"README.md does not document: {', '.join(missing)}"


def test_every_hook_is_implemented_by_a_plugin_under_test(mango):
    unimplemented = [name for name in HOOKS if not getattr(mango.plugins.pm.hook, name).get_hookimpls()]
    assert not unimplemented, f"no plugin under test implements {unimplemented}; the example plugin should"


def test_the_example_plugin_implements_every_hook(mango):
    assert mango.plugins.plugins["example"].hook_names == set(HOOKS)


def test_every_view_is_guarded(app):
    unguarded = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not (getattr(view, "mango_permission", None) or getattr(view, "mango_public", False)
                                         or getattr(view, "mango_selfcare", False))
    ]
    assert not unguarded, f"views without @permission_required/@authenticated/@public/@customer_required: {unguarded}"
