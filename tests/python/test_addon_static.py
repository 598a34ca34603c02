"""Static checks of the Odoo addon, without Odoo, for each serie (17.0, 18.0, 19.0).

* the code shared by the series exists once (odoo_addon/common/account_online_bridge); each serie's
  folder (odoo_addon/<serie>/account_online_bridge) holds only its manifest, its README, its
  translation template and its serie/ views, and links everything else to the shared folder;
* every XML file parses, is listed in the manifest, and its xml ids are unique;
* every view references only fields and methods that the addon's Python
  models define (read from the source with ``ast``), including the fields of
  x2many sub-views and the fields used in ``invisible``/``readonly``/
  ``required``/``column_invisible`` and ``decoration-*`` expressions, which
  must also be present in the view;
* actions, server actions, the cron and menus point at existing models,
  methods and records; the access CSV covers every concrete model;
* no model of the addon uses an Enterprise ``account.online.*`` name;
* the addon's Odoo tests are not collected by plain pytest.
"""

import ast
import csv
import filecmp
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDONS = REPO_ROOT / "odoo_addon"
MODULE = "account_online_bridge"
COMMON = ADDONS / "common" / MODULE
SERIES = ("17.0", "18.0", "19.0")
# What a serie's folder holds of its own; everything else is a link into COMMON.
SERIE_OWN = {"__manifest__.py", "README.rst", "i18n", "serie", "migrations"}


def addon_dir(serie):
    return ADDONS / serie / MODULE


def walk(root, suffix):
    """Files under ``root`` ending with ``suffix``, through the links to the shared folder."""
    found = []
    for directory, _dirs, files in os.walk(root, followlinks=True):
        found += [Path(directory) / name for name in files if name.endswith(suffix)]
    return sorted(found)

MAGIC_FIELDS = {"id", "display_name", "create_date", "create_uid", "write_date", "write_uid"}
# Names an Odoo 17 view expression may use besides the record's fields.
EXPRESSION_NAMES = {"True", "False", "None", "context", "uid", "parent", "today", "now",
                    "current_company_id", "allowed_company_ids", "context_today", "relativedelta",
                    "datetime", "time"}
MODIFIERS = ("invisible", "readonly", "required", "column_invisible")
# Fields and methods of models of other modules that our views may use.
EXTERNAL = {
    "res.config.settings": {"fields": set(), "methods": set()},
    "account.bank.statement.line": {
        "fields": {"journal_id", "date", "amount", "payment_ref", "partner_name", "statement_id", "currency_id",
                   "is_reconciled", "running_balance", "move_id", "account_number"},
        "methods": set(),
    },
    "account.journal": {"fields": {"name", "type", "company_id", "kanban_dashboard"}, "methods": set()},
    "res.company": {"fields": {"name"}, "methods": set()},
}
EXTERNAL_MODULES = {"base", "account"}


# ----------------------------------------------------------------------
# Python models, from the source
# ----------------------------------------------------------------------
def _const(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        return None


def parse_models():
    """{model: {'fields': {name: (type, comodel)}, 'methods': set, 'abstract': bool,
    'transient': bool, 'inherits': [names]}}"""
    classes = []
    for path in walk(COMMON, ".py"):
        if "tests" in path.relative_to(COMMON).parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            info = {"name": None, "inherit": [], "fields": {}, "methods": set(), "kind": None, "file": path}
            for base in node.bases:
                if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and base.value.id == "models":
                    info["kind"] = base.attr
            if info["kind"] is None:
                continue
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                    target = stmt.targets[0].id
                    if target == "_name":
                        info["name"] = _const(stmt.value)
                    elif target == "_inherit":
                        value = _const(stmt.value)
                        info["inherit"] = [value] if isinstance(value, str) else list(value or [])
                    elif (isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute)
                          and isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == "fields"):
                        comodel = None
                        if stmt.value.func.attr in ("Many2one", "One2many", "Many2many"):
                            if stmt.value.args:
                                comodel = _const(stmt.value.args[0])
                            for kw in stmt.value.keywords:
                                if kw.arg == "comodel_name":
                                    comodel = _const(kw.value)
                        info["fields"][target] = (stmt.value.func.attr, comodel)
                elif isinstance(stmt, ast.FunctionDef):
                    info["methods"].add(stmt.name)
            classes.append(info)
    models = {}
    for info in classes:
        name = info["name"] or (info["inherit"][0] if len(info["inherit"]) == 1 else None)
        assert name, "class in %s has neither _name nor a single _inherit" % info["file"]
        model = models.setdefault(name, {"fields": {}, "methods": set(), "kind": None, "inherits": [],
                                         "defined_here": False})
        model["fields"].update(info["fields"])
        model["methods"] |= info["methods"]
        if info["name"]:
            model["kind"] = info["kind"]
            model["defined_here"] = True
            model["inherits"] += [parent for parent in info["inherit"] if parent != name]
    # mixins: pull inherited fields and methods
    for model in models.values():
        for parent in model["inherits"]:
            if parent in models:
                model["fields"] = {**models[parent]["fields"], **model["fields"]}
                model["methods"] |= models[parent]["methods"]
    return models


MODELS = parse_models()


def model_fields(model):
    names = set(MAGIC_FIELDS)
    if model in MODELS:
        names |= set(MODELS[model]["fields"])
    if model in EXTERNAL:
        names |= EXTERNAL[model]["fields"]
    return names


def model_methods(model):
    methods = set()
    if model in MODELS:
        methods |= MODELS[model]["methods"]
    if model in EXTERNAL:
        methods |= EXTERNAL[model]["methods"]
    return methods


def comodel_of(model, field):
    if model in MODELS and field in MODELS[model]["fields"]:
        return MODELS[model]["fields"][field][1]
    return None


# ----------------------------------------------------------------------
# XML data
# ----------------------------------------------------------------------
def manifest(addon):
    return ast.literal_eval((addon / "__manifest__.py").read_text())


def xml_files(addon):
    return walk(addon, ".xml")


def parse_xml(path):
    return ET.parse(path).getroot()


def all_records(addon):
    for path in xml_files(addon):
        root = parse_xml(path)
        for rec in root.iter("record"):
            yield path, rec


def xml_ids(addon):
    ids = {}
    for path in xml_files(addon):
        root = parse_xml(path)
        for el in root.iter():
            if el.tag in ("record", "menuitem", "template") and el.get("id"):
                ids.setdefault(el.get("id"), []).append(path.name)
    return ids


def model_xmlid_to_name():
    return {"model_" + name.replace(".", "_"): name for name in MODELS if MODELS[name]["defined_here"]}


def ref_exists(addon, ref):
    if "." in ref:
        module, _sep, _name = ref.partition(".")
        if module != MODULE:
            return module in EXTERNAL_MODULES or module in manifest(addon)["depends"]
        ref = _name
    return ref in xml_ids(addon) or ref in model_xmlid_to_name()


def field_value(rec, name):
    for field in rec.findall("field"):
        if field.get("name") == name:
            return field
    return None


# ----------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------
@pytest.mark.parametrize("serie", SERIES)
def test_serie_folder_links_the_shared_code(serie):
    """One copy of the shared code: a serie's own files are its manifest, README, translation template
    and serie/ views; every other entry is a link into the shared folder, and every shared entry is
    linked."""
    addon = addon_dir(serie)
    shared = {entry.name for entry in COMMON.iterdir() if not entry.name.startswith(".")}
    assert not shared & SERIE_OWN, shared & SERIE_OWN
    entries = {entry.name: entry for entry in addon.iterdir()}
    assert set(entries) == shared | (SERIE_OWN & set(entries)), set(entries) ^ shared
    for name in shared:
        link = entries[name]
        assert link.is_symlink(), "%s/%s is not a link to the shared folder" % (serie, name)
        assert os.readlink(link) == "../../common/%s/%s" % (MODULE, name), os.readlink(link)
    for name in SERIE_OWN & set(entries):
        for path in walk(entries[name], "") if entries[name].is_dir() else [entries[name]]:
            twins = [other for other in walk(COMMON, path.name) if filecmp.cmp(other, path, shallow=False)]
            assert not twins, "%s is a copy of %s" % (path, twins)


@pytest.mark.parametrize("serie", SERIES)
def test_manifest(serie):
    addon = addon_dir(serie)
    data = manifest(addon)
    assert re.fullmatch(re.escape(serie) + r"\.\d+\.\d+\.\d+", data["version"])
    assert data["license"] in ("LGPL-3", "AGPL-3", "GPL-3", "OPL-1", "OEEL-1") and data["license"]
    assert data["author"] == "bankbridge contributors"  # 19.0 warns without one
    assert "account" in data["depends"]
    for name in data["data"]:
        assert (addon / name).is_file(), name
    assert data["data"][0] == "security/ir.model.access.csv"
    listed = set(data["data"])
    for path in xml_files(addon):
        assert str(path.relative_to(addon)) in listed, "%s is not loaded by the manifest" % path
    # The same features in every serie: the same data files and assets.
    other = manifest(addon_dir(SERIES[0]))
    assert (data["data"], data["assets"]) == (other["data"], other["assets"])


@pytest.mark.parametrize("serie", SERIES)
def test_views_in_the_serie_idiom(serie):
    """<tree> until 17.0, <list> from 18.0: only in the serie's own views; the shared views have neither."""
    wrong, right = ("list", "tree") if serie == "17.0" else ("tree", "list")
    for path in xml_files(addon_dir(serie)):
        text = path.read_text()
        assert "<%s" % wrong not in text, path
        if "/serie/" not in str(path):
            assert "<%s" % right not in text, "%s: a list view belongs in serie/list_views.xml" % path


@pytest.mark.parametrize("serie", SERIES)
def test_layout(serie):
    addon = addon_dir(serie)
    for rel in ("__init__.py", "models/__init__.py", "views", "security/ir.model.access.csv",
                "data/ir_cron.xml", "tests/__init__.py", "readme/DESCRIPTION.md", "readme/CONFIGURE.md",
                "readme/USAGE.md", "readme/INSTALL.md", "readme/CONTRIBUTORS.md", "README.rst", "i18n/%s.pot" % MODULE):
        assert (addon / rel).exists(), rel


@pytest.mark.parametrize(
    "path", [path for serie in SERIES for path in xml_files(addon_dir(serie))],
    ids=lambda p: str(p.relative_to(ADDONS)),
)
def test_xml_parses(path):
    root = parse_xml(path)
    assert root.tag == "odoo"


@pytest.mark.parametrize("serie", SERIES)
def test_xml_ids_unique(serie):
    dupes = {xid: files for xid, files in xml_ids(addon_dir(serie)).items() if len(files) > 1}
    assert not dupes


def test_no_enterprise_model_names():
    for name in MODELS:
        if MODELS[name]["defined_here"]:
            assert not name.startswith("account.online."), name
        for fname, (_type, comodel) in MODELS[name]["fields"].items():
            assert not (comodel or "").startswith("account.online."), (name, fname)
    # Odoo code never uses the Enterprise models: only the bridge module names them
    for path in walk(COMMON, ".py"):
        source = path.read_text()
        assert 'env["account.online' not in source and "env['account.online" not in source, path


def test_models_found():
    for name in ("bank.bridge.link", "bank.bridge.account", "bank.bridge.add.account", "res.config.settings",
                 "account.bank.statement.line", "bank.bridge.import"):
        assert name in MODELS
    for name in ("action_update_credentials", "action_fetch_accounts", "action_fetch_transactions",
                 "action_revoke_consent", "action_remove_connection"):
        assert name in MODELS["bank.bridge.link"]["methods"]


def _expression_names(expr):
    tree = ast.parse(expr.strip(), mode="eval")
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "parent":
            names.discard("parent")
    return names


def _view_problems(arch_root, model, where, addon):
    problems = []

    def present_fields(scope):
        """Fields of ``scope`` (a view node) that are not inside a sub-view."""
        found = set()

        def walk(el):
            for child in el:
                if child.tag == "field":
                    found.add(child.get("name"))
                    continue  # its children are a sub-view of another model
                walk(child)

        walk(scope)
        return found

    def check(scope, model, view_root):
        fields = model_fields(model)
        methods = model_methods(model)
        in_view = present_fields(view_root)
        for el in scope:
            if el.tag == "xpath":
                check(el, model, view_root)
                continue
            if el.tag == "field":
                name = el.get("name")
                if name not in fields:
                    problems.append("%s: field %r does not exist on %s" % (where, name, model))
                subviews = [child for child in el if child.tag in ("tree", "form", "kanban", "list")]
                if subviews:
                    comodel = comodel_of(model, name)
                    if comodel is None:
                        problems.append("%s: field %r of %s has sub-views but no known comodel" % (where, name, model))
                    for sub in subviews:
                        check_root(sub, comodel)
            elif el.tag == "label" and el.get("for"):
                if el.get("for") not in fields:
                    problems.append("%s: label for unknown field %r of %s" % (where, el.get("for"), model))
            elif el.tag == "button":
                kind = el.get("type")
                name = el.get("name")
                if kind == "object":
                    if name not in methods:
                        problems.append("%s: button method %r does not exist on %s" % (where, name, model))
                    elif name.startswith("_"):
                        problems.append("%s: button method %r is private" % (where, name))
                elif kind == "action":
                    match = re.fullmatch(r"%\(([\w.]+)\)d", name or "")
                    if not match or not ref_exists(addon, match.group(1)):
                        problems.append("%s: button action %r does not exist" % (where, name))
                elif not el.get("special"):
                    problems.append("%s: button %r has no type" % (where, name))
            for attr in list(MODIFIERS) + [a for a in el.attrib if a.startswith("decoration-")]:
                expr = el.get(attr)
                if expr is None or expr.strip() in ("1", "0", "True", "False"):
                    continue
                if attr in MODIFIERS and expr.strip().startswith(("{", "[")):
                    problems.append("%s: %s=%r uses the pre-17 attrs syntax" % (where, attr, expr))
                    continue
                try:
                    names = _expression_names(expr)
                except SyntaxError:
                    problems.append("%s: %s=%r is not a Python expression" % (where, attr, expr))
                    continue
                for name in names - EXPRESSION_NAMES:
                    if name not in fields:
                        problems.append("%s: %s=%r uses unknown field %r of %s" % (where, attr, expr, name, model))
                    elif name not in in_view:
                        problems.append("%s: %s=%r uses field %r missing from the view" % (where, attr, expr, name))
            if el.get("attrs") is not None or el.get("states") is not None:
                problems.append("%s: attrs/states are not supported by Odoo 17" % where)
            if el.tag != "field":
                check(el, model, view_root)

    def check_root(root, model):
        for attr in [a for a in root.attrib if a.startswith("decoration-")]:
            for name in _expression_names(root.get(attr)) - EXPRESSION_NAMES:
                if name not in model_fields(model):
                    problems.append("%s: %s uses unknown field %r" % (where, attr, name))
                elif name not in present_fields(root):
                    problems.append("%s: %s uses field %r missing from the view" % (where, attr, name))
        check(root, model, root)

    check_root(arch_root, model)
    return problems


def view_records():
    for serie in SERIES:
        for path, rec in all_records(addon_dir(serie)):
            if rec.get("model") == "ir.ui.view":
                yield serie, path, rec


@pytest.mark.parametrize(
    "serie,path,rec",
    list(view_records()),
    ids=lambda v: v.get("id") if hasattr(v, "get") else str(v),
)
def test_view_references_existing_fields_and_methods(serie, path, rec):
    addon = addon_dir(serie)
    model = field_value(rec, "model").text
    assert model in MODELS or model in EXTERNAL, "view %s on unknown model %s" % (rec.get("id"), model)
    arch = field_value(rec, "arch")
    assert arch is not None and arch.get("type") == "xml"
    roots = list(arch)
    assert len(roots) == 1
    inherit = field_value(rec, "inherit_id")
    if inherit is not None:
        assert ref_exists(addon, inherit.get("ref")), inherit.get("ref")
    problems = _view_problems(roots[0], model, "%s:%s" % (path.name, rec.get("id")), addon)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("serie", SERIES)
def test_actions(serie):
    addon = addon_dir(serie)
    for path, rec in all_records(addon):
        kind = rec.get("model")
        if kind == "ir.actions.act_window":
            res_model = field_value(rec, "res_model").text
            assert res_model in MODELS, (path, res_model)
            # The list view type is "tree" until 17.0 and "list" from 18.0: no view_mode, each serie's
            # default applies.
            assert field_value(rec, "view_mode") is None or "tree" not in field_value(rec, "view_mode").text, \
                (path, rec.get("id"))
            for name in ("view_id", "search_view_id"):
                if field_value(rec, name) is not None:
                    assert ref_exists(addon, field_value(rec, name).get("ref")), (path, rec.get("id"), name)
        elif kind in ("ir.actions.server", "ir.cron"):
            ref = field_value(rec, "model_id").get("ref")
            model = model_xmlid_to_name().get(ref)
            assert model, "%s: %s refers to unknown model %s" % (path.name, rec.get("id"), ref)
            code = field_value(rec, "code").text.strip()
            match = re.fullmatch(r"(?:action = )?model\.(\w+)\(\)", code)
            assert match, code
            assert match.group(1) in model_methods(model), "%s has no method %s" % (model, match.group(1))
        elif kind == "ir.rule":
            assert field_value(rec, "model_id").get("ref") in model_xmlid_to_name()


@pytest.mark.parametrize("serie", SERIES)
def test_menus(serie):
    addon = addon_dir(serie)
    menus = {}
    for path in xml_files(addon):
        for menu in parse_xml(path).iter("menuitem"):
            menus[menu.get("id")] = menu
            if menu.get("action"):
                assert ref_exists(addon, menu.get("action")), menu.get("action")
            if menu.get("parent"):
                assert ref_exists(addon, menu.get("parent")), menu.get("parent")
            for group in (menu.get("groups") or "").split(","):
                if group:
                    assert re.fullmatch(r"[\w]+\.[\w]+", group), group
    # Configuration > Online Banking (19.0 has no Configuration > Banks).
    config = menus["menu_bank_bridge_configuration"]
    assert (config.get("parent"), config.get("groups")) == ("account.menu_finance_configuration",
                                                            "account.group_account_manager")
    assert menus["menu_bank_bridge_add_account"].get("parent") == "menu_bank_bridge_configuration"
    assert menus["menu_bank_bridge_link"].get("name") == "Bank Connections"
    # Invoicing > Bank: the journal cards, the transactions and the connections, for billing users and
    # administrators, without developer mode (Odoo's own Dashboard menu needs the full-accounting groups).
    root = menus["menu_bank_bridge_root"]
    assert (root.get("parent"), root.get("groups")) == ("account.menu_finance", "account.group_account_invoice")
    children = {menu.get("action") for menu in menus.values() if menu.get("parent") == "menu_bank_bridge_root"}
    assert {"action_bank_bridge_journals", "action_bank_bridge_statement_lines", "action_bank_bridge_link",
            "action_bank_bridge_add_account"} == children


def test_access_rights_cover_every_model():
    with open(COMMON / "security" / "ir.model.access.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0].keys()) == ["id", "name", "model_id:id", "group_id:id", "perm_read",
                                             "perm_write", "perm_create", "perm_unlink"]
    covered = {row["model_id:id"] for row in rows}
    by_xmlid = model_xmlid_to_name()
    for xmlid in covered:
        assert xmlid in by_xmlid, "access row for unknown model %s" % xmlid
    for name, model in MODELS.items():
        if model["defined_here"] and model["kind"] in ("Model", "TransientModel"):
            assert "model_" + name.replace(".", "_") in covered, "no access right for %s" % name
    assert len({row["id"] for row in rows}) == len(rows)


@pytest.mark.parametrize("serie", SERIES)
def test_translation_template_is_up_to_date(serie):
    """i18n/<module>.pot of each serie is what odoo_addon/tools/make_pot.py writes."""
    addon = addon_dir(serie)
    spec = importlib.util.spec_from_file_location("make_pot", ADDONS / "tools" / "make_pot.py")
    make_pot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_pot)
    pot = (addon / "i18n" / ("%s.pot" % MODULE)).read_text(encoding="utf-8")
    assert pot == make_pot.render(addon), "run: python3 odoo_addon/tools/make_pot.py " + str(addon)
    for path in walk(COMMON, ".py"):
        if "tests" in path.relative_to(COMMON).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                assert make_pot.quote(node.args[0].value) in pot


@pytest.mark.parametrize("serie", SERIES)
def test_readme_is_written_from_its_fragments(serie):
    """README.rst (the module's description page) is what odoo_addon/tools/make_readme.py writes."""
    addon = addon_dir(serie)
    spec = importlib.util.spec_from_file_location("make_readme", ADDONS / "tools" / "make_readme.py")
    make_readme = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_readme)
    assert (addon / "README.rst").read_text() == make_readme.render(addon), \
        "run: python3 odoo_addon/tools/make_readme.py " + str(addon)


def test_odoo_tests_are_not_collected_by_plain_pytest():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", str(ADDONS)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    # exit 5: no tests collected; never an import error of odoo
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "no tests collected" in proc.stdout
    assert "odoo" not in proc.stdout.replace("odoo_addon", "").lower()


def test_odoo_tests_compile_and_are_registered():
    tests_dir = COMMON / "tests"
    init = (tests_dir / "__init__.py").read_text()
    for path in tests_dir.glob("test_*.py"):
        compile(path.read_text(), str(path), "exec")
        assert "from . import %s" % path.stem in init, path.name
