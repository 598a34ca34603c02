#!/usr/bin/env python3
"""Write i18n/<module>.pot of an addon without Odoo.

Collects the strings Odoo would export: ``_("...")`` calls in Python,
``string=``/``help=`` of fields (and the label Odoo derives from a field
name), and the translatable attributes and texts of the XML views, menus
and actions. Run: python3 odoo_addon/tools/make_pot.py odoo_addon/<serie>/account_online_bridge
"""

import ast
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

VIEW_ATTRS = ("string", "help", "placeholder", "confirm", "title", "sum", "avg")
SKIP_TAGS = ("field", "xpath")


def walk(root, suffix):
    """Files under ``root`` ending with ``suffix``, through a serie's links to the shared folder."""
    found = []
    for directory, _dirs, files in os.walk(root, followlinks=True):
        found += [Path(directory) / name for name in files if name.endswith(suffix)]
    return sorted(found)


def field_label(name):
    label = name[:-3] if name.endswith("_id") else name[:-4] if name.endswith("_ids") else name
    return label.replace("_", " ").title()


def python_strings(addon):
    found = {}
    for path in walk(addon, ".py"):
        rel = path.relative_to(addon)
        if "tests" in rel.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.setdefault(node.args[0].value, set()).add("code:addons/%s/%s:0" % (addon.name, rel))
            if isinstance(node, ast.ClassDef):
                model = None
                for stmt in node.body:
                    if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                            and stmt.targets[0].id in ("_name", "_inherit")):
                        value = ast.literal_eval(stmt.value)
                        if isinstance(value, str) and (model is None or stmt.targets[0].id == "_name"):
                            model = value
                    if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                            and stmt.targets[0].id == "_description"):
                        found.setdefault(ast.literal_eval(stmt.value), set()).add(
                            "model:ir.model,name:%s.model_%s" % (addon.name, (model or "").replace(".", "_")))
                for stmt in node.body:
                    if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                            and isinstance(stmt.value.func, ast.Attribute)
                            and isinstance(stmt.value.func.value, ast.Name)
                            and stmt.value.func.value.id == "fields"):
                        continue
                    fname = stmt.targets[0].id
                    ref = "model:ir.model.fields,field_description:%s.field_%s__%s" % (
                        addon.name, (model or "").replace(".", "_"), fname)
                    label = field_label(fname)
                    for kw in stmt.value.keywords:
                        if kw.arg == "string":
                            label = ast.literal_eval(kw.value)
                        elif kw.arg == "help":
                            found.setdefault(ast.literal_eval(kw.value), set()).add(ref.replace(
                                "field_description", "help"))
                        elif kw.arg == "selection" and isinstance(kw.value, ast.Name):
                            pass
                    found.setdefault(label, set()).add(ref)
    return found


def xml_strings(addon):
    found = {}
    for path in walk(addon, ".xml"):
        root = ET.parse(path).getroot()
        for menu in root.iter("menuitem"):
            if menu.get("name"):
                found.setdefault(menu.get("name"), set()).add("model:ir.ui.menu,name:%s.%s" % (addon.name, menu.get("id")))
        for rec in root.iter("record"):
            xid = "%s.%s" % (addon.name, rec.get("id"))
            for field in rec.findall("field"):
                if rec.get("model", "").startswith("ir.actions") and field.get("name") == "name":
                    found.setdefault(field.text.strip(), set()).add("model:%s,name:%s" % (rec.get("model"), xid))
                if rec.get("model") == "ir.cron" and field.get("name") == "name":
                    found.setdefault(field.text.strip(), set()).add("model:ir.cron,cron_name:%s" % xid)
                if field.get("type") in ("xml", "html"):
                    for el in field.iter():
                        for attr in VIEW_ATTRS:
                            if el.get(attr) and el.tag not in ("xpath",):
                                found.setdefault(el.get(attr), set()).add(
                                    "model_terms:ir.ui.view,arch_db:%s" % xid)
                        for text in (el.text, el.tail):
                            text = " ".join((text or "").split())
                            if text and el.tag not in ("field",) and el is not field:
                                found.setdefault(text, set()).add("model_terms:ir.ui.view,arch_db:%s" % xid)
    return found


def quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(addon):
    entries = {}
    for source in (python_strings(addon), xml_strings(addon)):
        for text, refs in source.items():
            entries.setdefault(text, set()).update(refs)
    out = [
        "# Translation of Odoo Server.",
        "# This file contains the translation of the following modules:",
        "# \t* %s" % addon.name,
        "#",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: Odoo Server 17.0\\n"',
        '"Report-Msgid-Bugs-To: \\n"',
        '"Last-Translator: \\n"',
        '"Language-Team: \\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: \\n"',
        '"Plural-Forms: \\n"',
        "",
    ]
    for text in sorted(entries):
        refs = sorted(entries[text])
        out.append("#. module: %s" % addon.name)
        if any(ref.startswith("code:") for ref in refs):
            out.append("#. odoo-python")
        for ref in refs:
            out.append("#: %s" % ref)
        if "%(" in text or "%s" in text:
            out.append("#, python-format")
        out.append("msgid %s" % quote(text))
        out.append('msgstr ""')
        out.append("")
    return "\n".join(out)


def main(argv):
    addon = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[1] / "account_online_bridge")
    target = addon / "i18n" / ("%s.pot" % addon.name)
    target.parent.mkdir(exist_ok=True)
    target.write_text(render(addon), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main(sys.argv)
