#!/usr/bin/env python3
"""Checks schemas/openapi.yaml, and the admin API's answers against it.

  openapi_check.py lint OPENAPI_YAML
      every component and response schema is a valid JSON Schema 2020-12 schema, every
      $ref resolves, every operation has responses and declares its path parameters.
  openapi_check.py responses OPENAPI_YAML EXCHANGE_DIR
      each line of EXCHANGE_DIR/*.jsonl (written by tests/support/api_exchanges.cpp: one
      answer the integration tests received) is matched to its operation (path template,
      method, status) and its body validated against that response's schema. An answer
      of a status the operation does not list, of another content type, or a body the
      schema refuses fails, naming the test that received it.

Uses Debian's python3-jsonschema (4.10: Draft 2020-12) and python3-yaml, run by
/usr/bin/python3 so that another Python on the PATH does not change the validator.
"""
import glob
import json
import os
import re
import sys
import warnings

import jsonschema
import yaml

# RefResolver is what 4.10 offers; newer releases warn that it is deprecated.
warnings.simplefilter("ignore", DeprecationWarning)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def walk_refs(node, where=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from walk_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_refs(value, f"{where}/{i}")


def lint(doc):
    problems = []
    if doc.get("openapi") != "3.1.0":
        problems.append("openapi must be 3.1.0")
    resolver = jsonschema.RefResolver.from_schema(doc)
    for where, ref in walk_refs(doc):
        if not ref.startswith("#/"):
            problems.append(f"{where}: $ref {ref} leaves the document")
            continue
        try:
            resolver.resolve(ref)
        except jsonschema.exceptions.RefResolutionError as e:
            problems.append(f"{where}: $ref {ref} does not resolve: {e}")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            problems.append(f"components/schemas/{name}: {e.message}")
    for path, item in doc.get("paths", {}).items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        shared = {p.get("name") for p in item.get("parameters", []) if "$ref" not in p}
        shared |= {resolver.resolve(p["$ref"])[1]["name"] for p in item.get("parameters", [])
                   if "$ref" in p}
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            declared = set(shared)
            for p in op.get("parameters", []):
                declared.add(resolver.resolve(p["$ref"])[1]["name"] if "$ref" in p else p["name"])
            for missing in names - declared:
                problems.append(f"{method.upper()} {path}: path parameter {missing} undeclared")
            if not op.get("responses"):
                problems.append(f"{method.upper()} {path}: no responses")
            if not op.get("operationId"):
                problems.append(f"{method.upper()} {path}: no operationId")
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = resolver.resolve(response["$ref"])[1]
                for media in response.get("content", {}).values():
                    try:
                        jsonschema.Draft202012Validator.check_schema(media.get("schema", {}))
                    except jsonschema.exceptions.SchemaError as e:
                        problems.append(f"{method.upper()} {path} {status}: {e.message}")
    return problems


class Matcher:
    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.validators = {}
        self.seen = set()  # (operationId, status) pairs answered
        self.templates = []
        for path, item in doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
            # Literal segments win over parameters: /v1/deliveries/retry before {id}.
            literal = len(re.sub(r"\{[^}]+\}", "", path))
            self.templates.append((literal, path, re.compile(pattern), item))
        self.templates.sort(key=lambda t: -t[0])

    def error_schema(self):
        return {"$ref": "#/components/schemas/Error"}

    def validate(self, schema, body):
        key = json.dumps(schema, sort_keys=True)
        validator = self.validators.get(key)
        if validator is None:
            validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
            self.validators[key] = validator
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"[:400]
                for e in errors[:3]]

    def check(self, x):
        """Problems with one recorded exchange (an empty list when it conforms)."""
        method = x["method"].upper()
        path = x["target"].split("?", 1)[0]
        status = str(x["status"])
        head = method == "HEAD"
        item = next((item for _, _, rx, item in self.templates if rx.match(path)), None)
        if item is None:
            # A path the API does not have: refused (401 under /v1 without a token) or 404.
            if status not in ("401", "404"):
                return [f"unlisted path answered {status}, not 401 or 404"]
            return self.check_body(x, {"application/json": {"schema": self.error_schema()}}, head)
        op = item.get("get" if head else method.lower())
        if op is None:
            if status not in ("401", "404", "405"):
                return [f"method not in the document answered {status}, not 401, 404 or 405"]
            return self.check_body(x, {"application/json": {"schema": self.error_schema()}}, head)
        response = op["responses"].get(status) or op["responses"].get(status[0] + "XX") \
            or op["responses"].get("default")
        if response is None:
            return [f"status {status} is not among {sorted(op['responses'])}"]
        self.seen.add((op["operationId"], status))
        if "$ref" in response:
            response = self.resolver.resolve(response["$ref"])[1]
        return self.check_body(x, response.get("content", {}), head)

    def check_body(self, x, content, head):
        media = x["content_type"].split(";", 1)[0].strip().lower()
        if not content:
            if x["body"] and not head:
                return [f"a body ({media or 'no content type'}) where the document has none"]
            return []
        if media not in content:
            return [f"content type '{media}' is not among {sorted(content)}"]
        if head:
            return []
        schema = content[media].get("schema", {})
        if media.endswith("json"):
            try:
                body = json.loads(x["body"])
            except ValueError as e:
                return [f"body is not JSON: {e}"]
        else:
            body = x["body"]
        return self.validate(schema, body)


def responses(doc, folder):
    matcher = Matcher(doc)
    count, tests, failures = 0, set(), []
    for name in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        with open(name, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                x = json.loads(line)
                if x["status"] == 0:
                    continue  # no answer (the test closed or timed out on purpose)
                count += 1
                tests.add(x["test"])
                for problem in matcher.check(x):
                    failures.append((x, problem))
    for x, problem in failures[:40]:
        print(f"MISMATCH {x['test']}: {x['method']} {x['target'][:200]} -> {x['status']}: "
              f"{problem}")
    if len(failures) > 40:
        print(f"... and {len(failures) - 40} more")
    print(f"{count} admin API answers from {len(tests)} tests checked against the OpenAPI "
          f"document: {len(failures)} mismatches")
    documented = {(op["operationId"], status) for item in doc["paths"].values()
                  for method, op in item.items() if method in METHODS
                  for status in op["responses"]}
    unseen = sorted(documented - matcher.seen)
    print(f"coverage: {len(documented) - len(unseen)} of {len(documented)} documented "
          f"(operation, status) pairs answered; never answered: "
          + ", ".join(f"{o} {s}" for o, s in unseen))
    if count == 0:
        print(f"no exchange recorded in {folder}: run the integration tests first")
        return 1
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "lint":
        problems = lint(load(argv[2]))
        for p in problems:
            print("LINT", p)
        print(f"{argv[2]}: {len(problems)} problems")
        return 1 if problems else 0
    if len(argv) == 4 and argv[1] == "responses":
        return responses(load(argv[2]), argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
