#!/usr/bin/python3
"""Checks recorded answers against the response schemas of an OpenAPI 3.1
document, with jsonschema's Draft 2020-12 validator (Debian's
python3-jsonschema and python3-yaml; run it as /usr/bin/python3).

usage: validate_contract.py CONTRACT.yaml RECORDS.json [--loose]

RECORDS is a JSON array of {"operation", "status", "body" (the raw text),
"content_type"}. For each one the schema is the one the contract gives for
that operationId and status, its $refs resolved within the document. A
status the operation does not document is checked against the document's
shared response for it (components/responses: 400 BadRequest, 401
Unauthorized, 404 NotFound) and reported as undocumented; any other
undocumented status is a failure. A response without content must have an
empty body.

Unless --loose, every object schema that lists properties and says nothing
of additionalProperties gets additionalProperties: false, so a member the
contract does not name counts as drift too.

Prints one JSON report on standard output:
  {"operations": {operationId: [documented statuses]},
   "checked": [[operation, status, undocumented]], "failures": [
     {"index", "operation", "status", "errors": [text]}]}
"""
import json
import sys

import jsonschema
import yaml

SHARED = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Keywords that only annotate: a $ref beside them is replaced by its target.
ANNOTATIONS = {"description", "summary", "example", "examples", "title", "externalDocs", "deprecated"}


def pointer(doc, ref):
    if not ref.startswith("#/"):
        raise ValueError("only references within the document: " + ref)
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(doc, node, stack=()):
    """The schema with every $ref replaced by (a copy of) its target."""
    if isinstance(node, list):
        return [inline(doc, item, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            raise ValueError("reference cycle: " + " -> ".join(stack + (ref,)))
        target = inline(doc, pointer(doc, ref), stack + (ref,))
        rest = {k: v for k, v in node.items() if k != "$ref"}
        if set(rest) <= ANNOTATIONS:
            return target
        return {"allOf": [target, inline(doc, rest, stack)]}
    return {k: inline(doc, v, stack) for k, v in node.items()}


# Members whose value is data, not a schema; members that map names to schemas.
LITERAL = {"example", "examples", "enum", "const", "default", "required", "discriminator"}
MAPS = {"properties", "patternProperties", "$defs", "dependentSchemas"}


def strict(node):
    """additionalProperties: false where a schema lists properties only."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in LITERAL:
            out[key] = value
        elif key in MAPS and isinstance(value, dict):
            out[key] = {name: strict(schema) for name, schema in value.items()}
        else:
            out[key] = strict(value)
    if "properties" in out and "additionalProperties" not in out and "unevaluatedProperties" not in out:
        out["additionalProperties"] = False
    return out


def operations(doc):
    found = {}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op and "operationId" in op:
                found[op["operationId"]] = op
    return found


def response_for(doc, op, status):
    """(response object, undocumented?) or (None, None)."""
    responses = op.get("responses", {})
    response = responses.get(status)
    undocumented = False
    if response is None:
        shared = SHARED.get(status)
        if shared is None:
            return None, None
        response, undocumented = {"$ref": "#/components/responses/" + shared}, True
    while "$ref" in response:
        response = pointer(doc, response["$ref"])
    return response, undocumented


def check(doc, ops, record, loose):
    name, status = record.get("operation"), str(record.get("status"))
    op = ops.get(name)
    if op is None:
        return ["no operation %r in the contract" % name], False
    response, undocumented = response_for(doc, op, status)
    if response is None:
        return ["status %s is not documented for %s" % (status, name)], False
    body = record.get("body") or ""
    content = response.get("content")
    if not content:
        return (["the contract gives no body for %s, got %d bytes" % (status, len(body))] if body else []), undocumented
    media = content.get("application/json")
    if media is None:
        return ["the contract has no application/json body for %s" % status], undocumented
    content_type = (record.get("content_type") or "").split(";")[0].strip()
    if content_type != "application/json":
        return ["content type %r, not application/json" % content_type], undocumented
    try:
        value = json.loads(body)
    except ValueError as err:
        return ["body is not JSON: %s" % err], undocumented
    schema = inline(doc, media.get("schema", {}))
    if not loose:
        schema = strict(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append("%s: %s" % (where, error.message))
    return errors, undocumented


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    loose = "--loose" in argv
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(args[0], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    with open(args[1], encoding="utf-8") as f:
        records = json.load(f)
    ops = operations(doc)
    report = {
        "operations": {name: sorted(op.get("responses", {})) for name, op in ops.items()},
        "checked": [],
        "failures": [],
    }
    for index, record in enumerate(records):
        errors, undocumented = check(doc, ops, record, loose)
        report["checked"].append([record.get("operation"), record.get("status"), bool(undocumented)])
        if errors:
            report["failures"].append({"index": index, "operation": record.get("operation"),
                                       "status": record.get("status"), "errors": errors})
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
