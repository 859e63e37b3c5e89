"""Validate ingest pipelines with estceque (pydantic models of Elasticsearch's processors).

Usage: python3 es_validate_ingest.py PIPELINES.json

PIPELINES.json is a list of {"name": ..., "body": <PUT _ingest/pipeline body>}. Prints a JSON
list of {"name": ..., "errors": [...]}, one per pipeline, and exits 0; exits 2 when estceque is
missing (the Rust test reports the skip) and 3 on bad input. estceque forbids unknown options
and processors, and checks option types.
"""

import json
import sys

try:
    from estceque import (
        validate_ingest_pipeline_failure_processors,
        validate_ingest_pipeline_processors,
    )
except ImportError as e:
    print(f"missing Python module: {e.name}", file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(3)
    with open(sys.argv[1]) as f:
        pipelines = json.load(f)
    out = []
    for p in pipelines:
        body = p["body"]
        errors = []
        try:
            validate_ingest_pipeline_processors(body.get("processors", []))
        except Exception as e:  # pydantic's ValidationError and estceque's own errors
            errors.append(f"processors: {e}")
        if "on_failure" in body:
            try:
                validate_ingest_pipeline_failure_processors(body["on_failure"])
            except Exception as e:
                errors.append(f"on_failure: {e}")
        out.append({"name": p["name"], "errors": errors})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
