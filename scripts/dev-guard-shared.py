#!/usr/bin/env python3
"""Adds `require_shared!();` to every integration test that reads ../shared, so a clone without
the shared data skips those tests with one SKIPPED line instead of failing (idempotent).

    python3 scripts/dev-guard-shared.py tests/*.rs
"""
import re
import sys

DIRECT = re.compile(r"\b(shared|corpus|corpus_pcaps|read_capture|read_capture_ok|truth_lines|"
                    r"captures_where|captures_with_app|Differences)\b\s*(\(|::)")
FN = re.compile(r"^(?P<indent>\s*)(pub\s+)?(async\s+)?fn\s+(?P<name>\w+)[^{;]*\{\s*$", re.M)


def functions(text):
    """(name, is_test, body_start, body_end) of every fn whose opening brace ends its line."""
    out = []
    for m in FN.finditer(text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        before = text[:m.start()].rstrip().splitlines()[-3:]
        is_test = any(l.strip().startswith("#[test]") for l in before)
        out.append((m.group("name"), is_test, m.end(), i, m.group("indent")))
    return out


def guard(path):
    text = open(path).read()
    fns = functions(text)
    uses = {name for name, _, s, e, _ in fns if DIRECT.search(text[s:e])}
    changed = True
    while changed:  # helpers that call helpers that read ../shared
        changed = False
        for name, _, s, e, _ in fns:
            if name not in uses and any(re.search(rf"\b{u}\s*\(", text[s:e]) for u in uses):
                uses.add(name)
                changed = True
    inserts = []
    for name, is_test, s, e, indent in fns:
        if is_test and name in uses and "require_shared!()" not in text[s:e]:
            inserts.append((s, f"\n{indent}    require_shared!();"))
    for at, line in sorted(inserts, reverse=True):
        text = text[:at] + line + text[at:]
    open(path, "w").write(text)
    return len(inserts)


for p in sys.argv[1:]:
    n = guard(p)
    if n:
        print(f"{p}: {n} tests guarded")
