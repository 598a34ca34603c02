#!/usr/bin/env python3
"""Fails when a module of the crate imports from a layer above its own.

The layers, top to bottom, are the table below (src/lib.rs states the same in words). A module may use
its own layer and the layers below it; test code (`#[cfg(test)]` modules and the files they declare) may
use anything. Every `use crate::...` tree and every `crate::a::b` path in the code is read; `super::`
paths are resolved against the file's own module.

Usage: scripts/check_layers.py [SRC_DIR]   (default: the crate's src/). Exit status 1 on a violation.
"""

import os
import re
import sys

# Top first. A name is a module path under `crate`; the longest listed prefix of a path decides its layer.
LAYERS = [
    ("start-up", ["main", "server"]),
    # The built-in Salt Edge emulator: below start-up only, so nothing but start-up (and tests) reaches it.
    ("sandbox", ["sandbox"]),
    # The sync engine's HTTP face (Salt Edge's callbacks and the return page) stands with the wire, above
    # the engine it calls: sync::web here, sync::callbacks and sync::return_page on the `sync` branch.
    ("wire", ["rpc", "sync::web", "sync::callbacks", "sync::return_page"]),
    ("models", ["models"]),
    ("sync", ["sync"]),
    ("app", ["app"]),
    ("orm, auth, Salt Edge client", ["orm", "auth", "saltedge"]),
    ("storage", ["db"]),
    ("neutral", ["types", "html", "error"]),
]

LEVEL = {}
for level, (_, names) in enumerate(LAYERS):
    for name in names:
        LEVEL[tuple(name.split("::"))] = level


def layer_of(path):
    """The level of the longest listed prefix of `path` (a tuple of segments), or None."""
    for end in range(len(path), 0, -1):
        if path[:end] in LEVEL:
            return LEVEL[path[:end]], "::".join(path[:end])
    return None


def module_of(src, file):
    """`src/orm/domain/mod.rs` -> ('orm', 'domain'); `src/lib.rs` -> ()."""
    rel = os.path.relpath(file, src)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments_and_strings(text):
    """Blanks out comments and string literals (keeping line breaks), so paths in them are not read."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"' and not text.startswith("b'\"'", i - 1):
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            # A char literal (not a lifetime): '"' would otherwise open a string.
            m = re.match(r"'(\\.|[^\\'])'", text[i:i + 4])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_test_modules(text):
    """Drops inline `#[cfg(test)] mod x { ... }` blocks; returns the text and the names of test modules
    declared in other files (`#[cfg(test)] mod x;`)."""
    test_files = set(re.findall(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text))
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", text)
        if not m:
            return text, test_files
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        text = text[: m.start()] + "\n" * text.count("\n", m.start(), j) + text[j:]


def expand_use_tree(tree):
    """`a::{b, c::{d, self}}` -> [('a','b'), ('a','c','d'), ('a','c')]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        parts = [p for p in re.sub(r"\bas\b.*$", "", tree).split("::") if p and p != "*"]
        return [tuple(p for p in parts if p != "self")]
    prefix = [p for p in m.group(1).split("::") if p]
    items, depth, current = [], 0, ""
    for ch in m.group(2):
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    items.append(current)
    paths = []
    for item in filter(None, items):
        for sub in expand_use_tree(item):
            paths.append(tuple(prefix) + sub)
    return paths


def imports_of(text, module, crate_name):
    """(line, target module path) for every crate-internal path the code names."""
    found = []
    roots = ("crate", crate_name)

    def resolve(path, line):
        if path and path[0] in roots:
            found.append((line, path[1:]))
        elif path and path[0] in ("super", "self"):
            base = list(module)
            while path and path[0] in ("super", "self"):
                if path[0] == "super":
                    base = base[:-1]
                path = path[1:]
            found.append((line, tuple(base) + tuple(path)))

    for m in re.finditer(r"\buse\s+([^;]*);", text):
        line = text.count("\n", 0, m.start()) + 1
        for path in expand_use_tree(m.group(1)):
            resolve(path, line)
    code = re.sub(r"\buse\s+[^;]*;", lambda m: "\n" * m.group(0).count("\n"), text)
    for m in re.finditer(r"(?<![\w:])((?:crate|%s|super)(?:::\w+)+)" % crate_name, code):
        line = code.count("\n", 0, m.start()) + 1
        resolve(tuple(m.group(1).split("::")), line)
    return found


def check(src, crate_name="bankbridge"):
    violations, unknown = [], []
    test_files = set()
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs"))
    texts = {}
    for file in files:
        text, tests = without_test_modules(strip_comments_and_strings(open(file, encoding="utf-8").read()))
        texts[file] = text
        module = module_of(src, file)
        for name in tests:
            for candidate in (os.path.join(src, *module, name + ".rs"), os.path.join(src, *module, name, "mod.rs")):
                test_files.add(os.path.normpath(candidate))
    for file in files:
        if os.path.normpath(file) in test_files:
            continue
        module = module_of(src, file)
        if not module:
            continue  # lib.rs declares the modules; it imports nothing
        own = layer_of(module)
        if own is None:
            unknown.append(f"{os.path.relpath(file, src)}: module {'::'.join(module)} is in no layer of {__file__}")
            continue
        for line, target in imports_of(texts[file], module, crate_name):
            theirs = layer_of(target)
            if theirs is None:
                continue  # a name defined at the crate root, or an external crate
            if theirs[0] < own[0]:
                violations.append(
                    f"src/{os.path.relpath(file, src)}:{line}: {'::'.join(module)} (layer '{LAYERS[own[0]][0]}') "
                    f"imports {'::'.join(target)} from the layer above it, '{LAYERS[theirs[0]][0]}'"
                )
    return violations, unknown


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    violations, unknown = check(src)
    for problem in unknown + violations:
        print(problem, file=sys.stderr)
    if violations or unknown:
        print(f"check_layers: {len(violations)} import(s) run back up, {len(unknown)} module(s) unplaced", file=sys.stderr)
        return 1
    print("check_layers: every import runs down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
