#!/usr/bin/env python3
"""Architecture checks for the zccache crates (a developer tool, run by hand).

1. Import loops: builds the graph of module references (`use` paths and
   inline `crate::`/`super::`/`self::` paths) of each crate, collapses every
   edge to the two children of the modules' lowest common ancestor (so a
   reference from `daemon::rustc::run` to `daemon::route` is an edge
   `daemon::rustc -> daemon::route`; references between a module and its own
   ancestors are hierarchy, not edges), and prints every cycle among
   sibling modules.
2. Long functions: prints non-test functions longer than 60 lines.

Usage: scripts/arch_check.py [crate_src_dir ...]   (default: core/src cargo-zccache/src)
Exit code 1 when anything is found.
"""
import os
import re
import sys

MAX_FN_LINES = 60


def modules_of(src):
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            mods[tuple(rel)] = path
    return mods


def strip_tests(text):
    """Drop `#[cfg(test)]` items (mod tests { ... } and single items)."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]":
            # skip the next item: until braces balance after the first '{' or a ';'
            depth = 0
            started = False
            i += 1
            while i < len(lines):
                l = lines[i]
                depth += l.count("{") - l.count("}")
                if "{" in l:
                    started = True
                i += 1
                if (started and depth <= 0) or (not started and l.rstrip().endswith(";")):
                    break
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def expand_use(tree):
    """Expand a use tree `a::{b, c::{d}}` into paths."""
    tree = tree.strip()
    m = re.match(r"^(.*?)::\{(.*)\}$", tree, re.S)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        for e in expand_use(p):
            out.append(prefix + "::" + e if e != "self" else prefix)
    return out


def resolve(mod, path, mods):
    segs = [s.strip() for s in path.split("::")]
    segs = [re.sub(r"\s+as\s+\w+$", "", s) for s in segs]
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = list(mod)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                if not base:
                    return None
                base.pop()
            segs = segs[1:]
        base, rest = tuple(base), segs
    else:
        # a child module named directly (e.g. `blob::x` from a mod.rs)
        if mod + (segs[0],) in mods:
            base, rest = mod, segs
        else:
            return None
    best = base
    cur = base
    for s in rest:
        cur = cur + (s,)
        if cur in mods:
            best = cur
        else:
            break
    return best


def edges_of(mods):
    edges = set()
    for mod, path in mods.items():
        text = strip_comments(strip_tests(open(path).read()))
        refs = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            refs.extend(expand_use(m.group(1)))
        for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
            refs.append(m.group(1))
        for r in refs:
            tgt = resolve(mod, r, mods)
            if tgt is None or tgt == mod:
                continue
            # lowest common ancestor
            k = 0
            while k < len(mod) and k < len(tgt) and mod[k] == tgt[k]:
                k += 1
            if k == len(mod) or k == len(tgt):
                continue  # ancestor/descendant: hierarchy
            edges.add((mod[: k + 1], tgt[: k + 1], mod, tgt))
    return edges


def cycles(edges):
    graph = {}
    why = {}
    for a, b, fa, fb in edges:
        graph.setdefault(a, set()).add(b)
        why.setdefault((a, b), (fa, fb))
    # Tarjan SCC
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            strong(v)
    return out, graph, why


def long_functions(mods):
    found = []
    for mod, path in mods.items():
        lines = open(path).read().split("\n")
        in_test = False
        test_depth = 0
        depth = 0
        i = 0
        while i < len(lines):
            l = lines[i]
            if l.strip() == "#[cfg(test)]" or l.strip() == "#[test]":
                if not in_test:
                    in_test = True
                    test_depth = depth
            m = re.match(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)", l)
            if m and not in_test:
                start = i
                d = 0
                opened = False
                j = i
                while j < len(lines):
                    s = strip_comments(lines[j])
                    d += s.count("{") - s.count("}")
                    if "{" in s:
                        opened = True
                    if opened and d <= 0:
                        break
                    if not opened and s.rstrip().endswith(";"):
                        break
                    j += 1
                n = j - start + 1
                if opened and n > MAX_FN_LINES:
                    found.append((path, start + 1, m.group(6), n))
            s = strip_comments(l)
            depth += s.count("{") - s.count("}")
            if in_test and depth <= test_depth and ("}" in s):
                in_test = False
            i += 1
    return found


def main():
    srcs = sys.argv[1:] or ["core/src", "cargo-zccache/src"]
    bad = False
    for src in srcs:
        mods = modules_of(src)
        comps, graph, why = cycles(edges_of(mods))
        for comp in comps:
            bad = True
            names = sorted("::".join(c) or "<root>" for c in comp)
            print(f"{src}: import loop among {', '.join(names)}")
            cs = set(comp)
            for a in sorted(comp):
                for b in sorted(graph.get(a, ())):
                    if b in cs:
                        fa, fb = why[(a, b)]
                        print(f"    {'::'.join(a)} -> {'::'.join(b)}  (e.g. {'::'.join(fa)} uses {'::'.join(fb)})")
        for path, line, name, n in long_functions(mods):
            bad = True
            print(f"{path}:{line}: fn {name} is {n} lines (> {MAX_FN_LINES})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
