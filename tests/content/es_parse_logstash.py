"""Parse Logstash pipeline configurations with logstash-pipeline-parser.

Usage: python3 es_parse_logstash.py FILE...

Prints a JSON list, one entry per file: {"file", "ok", "error", "plugins"} where plugins lists
every plugin block as {"section", "name", "settings": {name: value}} (values rendered as
strings; a nested plugin such as a codec appears as its own entry with section
"<section>.<parent>.<setting>"). Exits 0; 2 when the module is missing (the Rust test reports
the skip). The parser checks syntax only, not plugin option names.
"""

import json
import sys

try:
    from logstash_pipeline_parser import Pipeline
except ImportError as e:
    print(f"missing Python module: {e.name}", file=sys.stderr)
    sys.exit(2)


def render(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, list):
        return [render(x) for x in v]
    return str(v)


def is_plugin(x):
    return (isinstance(x, list) and len(x) == 2 and isinstance(x[0], str)
            and isinstance(x[1], list))


def plugin_lists(x):
    """The lists of plugin blocks inside a conditional's body."""
    if isinstance(x, list) and x and all(is_plugin(e) for e in x):
        return [x]
    out = []
    if isinstance(x, list):
        for e in x:
            out += plugin_lists(e)
    return out


def plugins(section, items, out):
    """items: [[name, [[setting, [value]], ...]], ...] or conditionals (skipped into)."""
    for item in items:
        if not isinstance(item, list) or len(item) != 2:
            continue
        name, body = item
        if name in ("if", "else if", "else"):
            # The block is the last element, wrapped in extra lists.
            for block in plugin_lists(body[-1] if isinstance(body, list) and body else []):
                plugins(section, block, out)
            continue
        if not isinstance(name, str) or not isinstance(body, list):
            continue
        settings = {}
        for s in body:
            if isinstance(s, list) and len(s) == 2 and isinstance(s[0], str):
                key, value = s
                value = value[0] if isinstance(value, list) and len(value) == 1 else value
                # A nested plugin (codec => json { ... }).
                if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
                        and isinstance(value[1], list):
                    settings[key] = value[0]
                    plugins(f"{section}.{name}.{key}", [value], out)
                else:
                    settings[key] = render(value)
        out.append({"section": section, "name": name, "settings": settings})


def main():
    out = []
    for path in sys.argv[1:]:
        entry = {"file": path, "ok": False, "error": None, "plugins": []}
        try:
            tree = Pipeline.from_file(path).parse()
            for section in tree:
                if isinstance(section, list) and len(section) == 2:
                    plugins(section[0], section[1], entry["plugins"])
            entry["ok"] = True
        except Exception as e:  # pyparsing's ParseException and friends
            entry["error"] = f"{type(e).__name__}: {e}"
        out.append(entry)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
