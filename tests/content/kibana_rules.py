#!/usr/bin/env python3
"""Validate detection rules (NDJSON creation payloads) against Elastic's rule schemas.

Usage: kibana_rules.py SCHEMA_DIR VERSION[,VERSION...] RULES.ndjson

For each rule and each stack version, the payload is validated (JSON Schema draft-04) against
SCHEMA_DIR/<version>/<version>.<type>.json, the schema the detection-rules tooling generates for
the rule creation payload of that rule type. The query is parsed (KQL with kibana-ql, EQL with
eql, see kibana_queries.py) and its fields are reported.

One difference between the API payload and those schemas: the schemas describe new_terms in
the shape of the detection-rules TOML files, `new_terms: {field: "new_terms_fields", value:
[...], history_window_start: [{field: "history_window_start", ...}]}`, while the API (and the
import file) take `new_terms_fields` and `history_window_start` at the top level. The payload
is converted to the schema's shape for validation (the generated schema has no `value` key in
the history_window_start items, so only `field` is kept there), and history_window_start is
checked here as date math instead.

Output (stdout): a JSON array, one object per rule, in file order:
{"line", "rule_id", "name", "type", "schema_errors": {version: [message]}, "errors": [message],
 "query": {"ok", "error", "fields", "categories"}}
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kibana_queries import check as check_query  # noqa: E402

DATE_MATH = re.compile(r"^now-[1-9][0-9]*[smhdwMy]$")


def schema_shape(rule):
    """The payload in the shape the generated schemas describe."""
    payload = dict(rule)
    if payload.get("type") == "new_terms":
        fields = payload.pop("new_terms_fields", None)
        history = payload.pop("history_window_start", None)
        new_terms = {"field": "new_terms_fields"}
        if fields is not None:
            new_terms["value"] = fields
        new_terms["history_window_start"] = (
            [{"field": "history_window_start"}] if history is not None else []
        )
        payload["new_terms"] = new_terms
    return payload


def own_checks(rule):
    errors = []
    if rule.get("type") == "new_terms":
        if not rule.get("new_terms_fields"):
            errors.append("new_terms_fields missing or empty")
        history = rule.get("history_window_start")
        if not isinstance(history, str) or not DATE_MATH.match(history):
            errors.append(f"history_window_start is not date math like now-7d: {history!r}")
    return errors


def main():
    import jsonschema

    schema_dir, versions, path = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    schemas = {}
    results = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        result = {"line": n, "rule_id": None, "name": None, "type": None,
                  "schema_errors": {}, "errors": [], "query": None}
        try:
            rule = json.loads(line)
        except json.JSONDecodeError as e:
            result["errors"].append(f"not JSON: {e}")
            results.append(result)
            continue
        if not isinstance(rule, dict):
            result["errors"].append("not a JSON object")
            results.append(result)
            continue
        rule_type = rule.get("type")
        result.update(rule_id=rule.get("rule_id"), name=rule.get("name"), type=rule_type)
        for v in versions:
            file = os.path.join(schema_dir, v, f"{v}.{rule_type}.json")
            if not isinstance(rule_type, str) or not os.path.isfile(file):
                result["schema_errors"][v] = [f"no schema for rule type {rule_type!r}"]
                continue
            if file not in schemas:
                with open(file, encoding="utf-8") as s:
                    schemas[file] = jsonschema.Draft4Validator(json.load(s))
            errs = sorted(
                schemas[file].iter_errors(schema_shape(rule)), key=lambda e: list(e.absolute_path)
            )
            result["schema_errors"][v] = [
                f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"[:300]
                for e in errs
            ]
        result["errors"].extend(own_checks(rule))
        result["query"] = check_query(
            {"key": rule.get("rule_id"), "language": rule.get("language"), "query": rule.get("query", "")}
        )
        results.append(result)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
