"""Validate Elasticsearch request bodies against the OpenAPI specification.

Usage: python3 es_validate_spec.py SPEC.json BODIES.json

BODIES.json is a list of {"name": ..., "kind": ..., "body": ...}; kind is one of
ilm_policy, component_template, index_template, ingest_pipeline. Prints a JSON list of
{"name": ..., "errors": [...]} (one per body, in order) and exits 0; exits 2 when a module is
missing (the Rust test reports the skip) and 3 on bad input.

Checks, per body:
- the request body schema of PUT /_ilm/policy/{policy}, /_component_template/{name},
  /_index_template/{name} or /_ingest/pipeline/{id}, with every $ref resolved inside the
  document (Draft 7 semantics, as the specification's README says);
- a strict pass the specification cannot express: an object key that its (resolved) schema
  does not list is reported, where the schema lists properties and allows no others. Schemas
  with oneOf/anyOf are followed into the one branch that validates, if exactly one does.

Relaxations: values that Elasticsearch accepts as "any value" are typed `object` in the
specification (`_types:Metadata` values, set/append `value`; see the specification's README):
their type is removed. Mapping properties are a oneOf with an OpenAPI discriminator on `type`;
plain JSON Schema would try all 49 branches at every level of the mapping (exponential), so the
oneOf becomes if/then cases on `type`. Dynamic templates: see relax().
"""

import json
import sys

try:
    import jsonschema
except ImportError as e:  # the Rust test turns this into a skip (or a failure under CI)
    print(f"missing Python module: {e.name}", file=sys.stderr)
    sys.exit(2)

PATHS = {
    "ilm_policy": "/_ilm/policy/{policy}",
    "component_template": "/_component_template/{name}",
    "index_template": "/_index_template/{name}",
    "ingest_pipeline": "/_ingest/pipeline/{id}",
}


def relax(doc):
    schemas = doc["components"]["schemas"]
    meta = schemas.get("_types:Metadata")
    if isinstance(meta, dict):
        meta.pop("type", None)
        if isinstance(meta.get("additionalProperties"), dict):
            meta["additionalProperties"] = {}
    for proc in ("ingest._types:SetProcessor", "ingest._types:AppendProcessor"):
        s = schemas.get(proc)
        for part in (s or {}).get("allOf", []):
            v = part.get("properties", {}).get("value")
            if isinstance(v, dict):
                part["properties"]["value"] = {}
    discriminate(doc, "_types.mapping:Property", "_types.mapping:ObjectProperty")
    # A dynamic template holds match conditions and exactly one of mapping/runtime; the
    # specification puts maxProperties: 1 on the whole object, which no real dynamic template
    # (ECS's own strings_as_keyword included) satisfies. Keep the intent, drop the count.
    for part in doc["components"]["schemas"]["_types.mapping:DynamicTemplate"]["allOf"]:
        if part.pop("maxProperties", None) is not None:
            part.pop("minProperties", None)
            part["oneOf"] = [{"required": ["mapping"]}, {"required": ["runtime"]}]
    return doc


def branch_values(doc, schema, prop):
    """The values a oneOf branch allows for its discriminator property."""
    schema = resolve(doc, schema)
    vals = []
    p = schema.get("properties", {}).get(prop)
    if isinstance(p, dict):
        p = resolve(doc, p)
        vals += p.get("enum", []) + ([p["const"]] if "const" in p else [])
    for part in schema.get("allOf", []):
        vals += branch_values(doc, part, prop)
    return vals


def discriminate(doc, name, default):
    """Turn a discriminated oneOf into if/then cases on the discriminator's value.

    OpenAPI's discriminator picks one branch by the value of a property; plain JSON Schema
    validates the instance against every branch. For mapping properties that is exponential
    in the depth of the mapping (every branch recurses into `properties` and `fields`), so
    dispatch on `type` as Elasticsearch does; no `type` means an object.
    """
    s = doc["components"]["schemas"][name]
    prop = s["discriminator"]["propertyName"]
    cases, known = [], []
    for b in s["oneOf"]:
        for v in branch_values(doc, b, prop):
            known.append(v)
            cases.append({"if": {"properties": {prop: {"const": v}}, "required": [prop]},
                          "then": b})
    cases.append({"if": {"required": [prop]}, "then": {"properties": {prop: {"enum": known}},
                                                  "additionalProperties": True}})
    cases.append({"if": {"not": {"required": [prop]}},
                  "then": {"$ref": f"#/components/schemas/{default}"}})
    doc["components"]["schemas"][name] = {"type": "object", "allOf": cases}


def resolve(doc, schema):
    for _ in range(50):
        if not (isinstance(schema, dict) and "$ref" in schema):
            break
        target = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def request_schema(doc, kind):
    rb = doc["paths"][PATHS[kind]]["put"]["requestBody"]
    if "$ref" in rb:
        name = rb["$ref"].split("/")[-1]
        rb = doc["components"]["requestBodies"][name]
    return rb["content"]["application/json"]["schema"]


class Strict:
    """The unknown-key pass (the specification never says additionalProperties: false)."""

    def __init__(self, doc):
        self.doc = doc
        self.cache = {}

    def resolve(self, schema):
        return resolve(self.doc, schema)

    def valid(self, instance, schema):
        key = id(schema)
        if key not in self.cache:
            self.cache[key] = validator(self.doc, schema)
        return self.cache[key].is_valid(instance)

    def flatten(self, schema):
        """(properties, open to other keys, oneOf/anyOf branches, lists properties)."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return {}, True, [], False
        props = dict(schema.get("properties", {}))
        lists = "properties" in schema
        addl = schema.get("additionalProperties")
        open_ = bool(addl) or "patternProperties" in schema
        branches = list(schema.get("oneOf", [])) + list(schema.get("anyOf", []))
        for part in schema.get("allOf", []):
            p, o, b, l = self.flatten(part)
            props.update(p)
            open_ = open_ or o
            branches += b
            lists = lists or l
        return props, open_, branches, lists

    def check(self, instance, schema, path, errors):
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return
        props, open_, branches, lists = self.flatten(schema)
        for part in schema.get("allOf", []):
            # Discriminator cases (see discriminate): follow the case that applies.
            if isinstance(part, dict) and "if" in part and self.valid(instance, part["if"]):
                self.check(instance, part["then"], path, errors)
        if branches:
            ok = [b for b in branches if self.valid(instance, self.resolve(b))]
            if len(ok) == 1:
                self.check(instance, ok[0], path, errors)
        if isinstance(instance, dict):
            addl = schema.get("additionalProperties")
            addl = self.resolve(addl) if isinstance(addl, dict) else None
            for k, v in instance.items():
                if k in props:
                    self.check(v, props[k], f"{path}.{k}", errors)
                elif addl:
                    self.check(v, addl, f"{path}.{k}", errors)
                elif lists and not open_:
                    errors.append(f"{path}: unknown key {k!r}")
        elif isinstance(instance, list):
            items = schema.get("items")
            if isinstance(items, dict):
                for i, v in enumerate(instance):
                    self.check(v, items, f"{path}[{i}]", errors)


def validator(doc, schema):
    """A Draft 7 validator of `schema` whose #/components/... references resolve in `doc`."""
    root = dict(schema)
    root["components"] = doc["components"]
    return jsonschema.Draft7Validator(root)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(3)
    with open(sys.argv[1]) as f:
        doc = relax(json.load(f))
    with open(sys.argv[2]) as f:
        bodies = json.load(f)
    strict = Strict(doc)
    out = []
    for b in bodies:
        kind = b["kind"]
        if kind not in PATHS:
            out.append({"name": b["name"], "errors": [f"unknown kind {kind}"]})
            continue
        schema = request_schema(doc, kind)
        errors = [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<body>'}: {e.message}"
            for e in validator(doc, schema).iter_errors(b["body"])
        ]
        if not errors:
            strict.check(b["body"], schema, "<body>", errors)
        out.append({"name": b["name"], "errors": errors})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
