#!/usr/bin/env python3
"""Write README.rst of an addon from its readme/ fragments, as OCA's
oca-gen-addon-readme does (for the Markdown this addon's fragments use:
paragraphs, numbered and bulleted lists, **bold**, *italics*, `code`).
Run: python3 odoo_addon/tools/make_readme.py odoo_addon/<serie>/account_online_bridge"""

import ast
import re
import sys
from pathlib import Path

SECTIONS = (
    ("DESCRIPTION.md", None),
    ("INSTALL.md", "Installation"),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
)


def rst_inline(text):
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def render(addon):
    addon = Path(addon)
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
    title = manifest["name"]
    lines = [
        "=" * len(title), title, "=" * len(title), "",
        ".. This file is written by odoo_addon/tools/make_readme.py from the readme/ fragments; edit those.",
        "",
        "|badge1|", "",
        ".. |badge1| image:: https://img.shields.io/badge/license-LGPL--3-blue.png",
        "    :target: http://www.gnu.org/licenses/lgpl-3.0-standalone.html",
        "    :alt: License: LGPL-3", "",
        "Odoo %s" % ".".join(manifest["version"].split(".")[:2]), "",
    ]
    for name, heading in SECTIONS:
        if heading:
            lines += [heading, "=" * len(heading), ""]
        elif name == "DESCRIPTION.md":
            pass
        lines += [rst_inline(line) for line in (addon / "readme" / name).read_text().strip().splitlines()]
        lines.append("")
        if name == "DESCRIPTION.md":
            lines += ["**Table of contents**", "", ".. contents::", "   :local:", ""]
    contributors = (addon / "readme" / "CONTRIBUTORS.md").read_text().strip().splitlines()
    lines += ["Credits", "=======", "", "Authors", "-------", "", "- %s" % manifest["author"], "",
              "Contributors", "------------", ""] + contributors + [""]
    return "\n".join(lines)


def main(paths):
    for path in paths:
        target = Path(path) / "README.rst"
        target.write_text(render(path))
        print(target)


if __name__ == "__main__":
    main(sys.argv[1:])
