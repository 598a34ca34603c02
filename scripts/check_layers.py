#!/usr/bin/env python3
"""Fails when a module of the crate imports from a layer above its own.

The layers, top to bottom, are the table below (src/lib.rs states the same in words). A module may use
its own layer and the layers below it; test code (`#[cfg(test)]` modules and the files they declare) may
use anything. Every `use` tree and every `crate::a::b` path in the code is read; relative paths are
resolved against the file's own module: `super::` and `self::`, and a path that starts with a module the
file declares (`mod web;` then `web::configure` or `use web::callbacks`), also one declared with
`#[path = "..."]`, whose file is then read as that module.

Usage: scripts/check_layers.py [SRC_DIR]   (default: the crate's src/). Exit status 1 on a violation.
"""

import os
import re
import sys

# Top first. A name is a module path under `crate`; the longest listed prefix of a path decides its layer.
LAYERS = [
    ("start-up", ["main", "server"]),
    # The built-in Salt Edge and Enable Banking emulators: below start-up only, so nothing but start-up (and
    # tests) reaches them.
    ("sandbox", ["sandbox"]),
    # The sync engine's HTTP face (Salt Edge's callbacks and the return page) stands with the wire, above
    # the engine it calls.
    ("wire", ["rpc", "sync::web"]),
    ("models", ["models"]),
    ("sync", ["sync"]),
    ("app", ["app"]),
    ("orm, auth, aggregators", ["orm", "auth", "bank", "saltedge", "enablebanking", "aggregator_http"]),
    ("storage", ["db"]),
    ("neutral", ["types", "html", "error", "metrics"]),
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


MOD_DECLARATION = re.compile(
    r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])"
)


def declared_modules(text):
    """(name, #[path] or None, is test code) of every `mod` the file declares."""
    found = []
    for m in MOD_DECLARATION.finditer(text):
        attributes = m.group(1)
        path = re.search(r'#\[path\s*=\s*"([^"]*)"\s*\]', attributes)
        found.append((m.group(2), path.group(1) if path else None, "cfg(test)" in attributes.replace(" ", "")))
    return found


def child_file(src, file, module, name):
    """The file `mod name;` in `file` (module `module`) loads when it has no #[path]."""
    for candidate in (os.path.join(src, *module, name + ".rs"), os.path.join(src, *module, name, "mod.rs")):
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return os.path.normpath(os.path.join(src, *module, name + ".rs"))


def path_file(file, module_is_dir, path):
    """The file `#[path = "path"] mod x;` in `file` loads: relative to the file's folder (a mod.rs, lib.rs,
    main.rs) or to the folder named after the file (any other file)."""
    base = os.path.dirname(file) if module_is_dir else os.path.splitext(file)[0]
    return os.path.normpath(os.path.join(base, path))


def strip_comments_and_strings(text, keep_strings=False):
    """Blanks out comments and string literals (keeping line breaks), so paths in them are not read;
    `keep_strings` keeps the literals (for `#[path = "..."]`)."""
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
            out.append(text[i:end] if keep_strings else '""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"' and not text.startswith("b'\"'", i - 1):
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1] if keep_strings else '""' + "\n" * text.count("\n", i, j))
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


def imports_of(text, module, crate_name, children=()):
    """(line, target module path) for every crate-internal path the code names. `children` are the
    modules the file declares, which a path may start with."""
    found = []
    roots = ("crate", crate_name)
    # A name a `use` binds from elsewhere (`use actix_web::web;`) shadows a child module of that name.
    bound = set()
    for m in re.finditer(r"\buse\s+([^;]*);", text):
        for path in expand_use_tree(m.group(1)):
            if path and path[0] not in roots + ("super", "self") + tuple(children):
                bound.add(path[-1])
        for alias in re.findall(r"\bas\s+(\w+)", m.group(1)):
            bound.add(alias)
    children = tuple(c for c in children if c not in bound)

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
        elif path and path[0] in children:
            found.append((line, tuple(module) + tuple(path)))

    for m in re.finditer(r"\buse\s+([^;]*);", text):
        line = text.count("\n", 0, m.start()) + 1
        for path in expand_use_tree(m.group(1)):
            resolve(path, line)
    code = re.sub(r"\buse\s+[^;]*;", lambda m: "\n" * m.group(0).count("\n"), text)
    starts = "|".join(("crate", crate_name, "super", "self") + children)
    for m in re.finditer(r"(?<![\w:])((?:%s)(?:::\w+)+)" % starts, code):
        line = code.count("\n", 0, m.start()) + 1
        resolve(tuple(m.group(1).split("::")), line)
    return found


def check(src, crate_name="bankbridge"):
    violations, unknown = [], []
    test_files = set()
    files = sorted(os.path.normpath(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs"))
    modules = {file: module_of(src, file) for file in files}
    texts, children = {}, {}
    # Module paths first: a `#[path]` declaration gives its file the declaring module's path, and files
    # declared by test code are test code. Declarations are followed from the crate roots down.
    pending = [f for f in files if os.path.basename(f) in ("lib.rs", "main.rs") and os.path.dirname(f) == os.path.normpath(src)]
    pending += [f for f in files if f not in pending]
    seen = set()
    while pending:
        file = pending.pop(0)
        if file in seen:
            continue
        seen.add(file)
        source = open(file, encoding="utf-8").read()
        text, _ = without_test_modules(strip_comments_and_strings(source))
        texts[file] = text
        module = modules[file]
        is_dir = os.path.basename(file) in ("mod.rs", "lib.rs", "main.rs")
        names = []
        for name, path, test in declared_modules(strip_comments_and_strings(source, keep_strings=True)):
            target = path_file(file, is_dir, path) if path else child_file(src, file, module, name)
            if test or file in test_files:
                test_files.add(target)
                continue
            names.append(name)
            if path and target in modules:
                modules[target] = module + (name,)
                seen.discard(target)
                pending.insert(0, target)
        children[file] = tuple(names)
    for file in files:
        if file in test_files:
            continue
        module = modules[file]
        if not module:
            continue  # lib.rs declares the modules; it imports nothing
        own = layer_of(module)
        if own is None:
            unknown.append(f"{os.path.relpath(file, src)}: module {'::'.join(module)} is in no layer of {__file__}")
            continue
        for line, target in imports_of(texts[file], module, crate_name, children[file]):
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
