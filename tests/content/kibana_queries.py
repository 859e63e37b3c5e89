#!/usr/bin/env python3
"""Parse KQL and EQL queries and list the fields they use.

Input (stdin): a JSON array of {"key": str, "language": "kuery"|"eql", "query": str}.
Output (stdout): a JSON array of {"key", "ok", "error", "fields", "categories"}, same order.

KQL is parsed with `kibana-ql` (module kibana_ql), EQL with Elastic's `eql` package using the
Elasticsearch dialect (as Kibana's EQL rules run it). Called from tests/content_kibana.rs,
which checks every returned field against the mapped field list.
"""

import json
import sys


def kql_fields(ast, out):
    """Collect field names from a kibana_ql AST (dicts with a "field" key)."""
    if isinstance(ast, dict):
        field = ast.get("field")
        if isinstance(field, str):
            out.add(field)
        for v in ast.values():
            kql_fields(v, out)
    elif isinstance(ast, (list, tuple)):
        for v in ast:
            kql_fields(v, out)


def parse_kql(query):
    from kibana_ql import KqlParser

    parser = KqlParser()
    ast = parser.ast(parser.parse(query))
    fields = set()
    kql_fields(ast, fields)
    return sorted(fields), []


def parse_eql(query):
    import eql

    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions, eql.parser.allow_runs:
        ast = eql.parse_query(query)
    fields = set()
    categories = set()
    for node in ast:
        if isinstance(node, eql.ast.Field):
            fields.add(".".join(str(p) for p in node.full_path))
        elif isinstance(node, eql.ast.EventQuery):
            categories.add(node.event_type)
    return sorted(fields), sorted(categories)


def check(item):
    language = item.get("language")
    query = item.get("query", "")
    result = {"key": item.get("key"), "ok": False, "error": None, "fields": [], "categories": []}
    try:
        if language == "kuery":
            fields, categories = parse_kql(query)
        elif language == "eql":
            fields, categories = parse_eql(query)
        else:
            raise ValueError(f"unsupported language {language!r}")
        result.update(ok=True, fields=fields, categories=categories)
    except Exception as e:  # every parser error becomes a reported failure
        result["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:300]
    return result


def main():
    items = json.load(sys.stdin)
    json.dump([check(i) for i in items], sys.stdout)


if __name__ == "__main__":
    main()
