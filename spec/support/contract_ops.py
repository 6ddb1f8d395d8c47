#!/usr/bin/python3
"""Prints the operations of the contract (OpenAPI 3.1 YAML) as one JSON
array, for spec/tools/coverage_spec.lua:
  [{"id", "method", "path" (below /{workspaceId}/projects/{projectName}),
    "params" (path parameters after the project, in order), "success"
    (2xx statuses), "body" (the request body's schema name or null),
    "body_required"}]

usage: contract_ops.py CONTRACT.yaml
"""
import json
import re
import sys

import yaml

PREFIX = "/{workspaceId}/projects/{projectName}"


def main():
    with open(sys.argv[1]) as f:
        contract = yaml.safe_load(f)
    out = []
    for path, item in contract["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            rest = path[len(PREFIX):] if path.startswith(PREFIX) else path
            body = op.get("requestBody")
            schema = None
            if body:
                ref = body["content"]["application/json"]["schema"].get("$ref", "")
                schema = ref.rsplit("/", 1)[-1] or None
            out.append({
                "id": op["operationId"],
                "method": method.upper(),
                "path": rest,
                "params": re.findall(r"{([^}]+)}", rest),
                "success": sorted(int(s) for s in op["responses"] if s.startswith("2")),
                "body": schema,
                "body_required": bool(body and body.get("required")),
            })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
