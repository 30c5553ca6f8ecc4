#!/usr/bin/env python3
"""Judges every event of tests/corpus by schemas/*.schema.json.

  corpus_check.py SCHEMA_DIR CORPUS_DIR

Each file of CORPUS_DIR/valid must pass and each of CORPUS_DIR/invalid must fail. The
C++ validator judges the same files (tests/unit/event_corpus_test.cpp), so the two sources
of truth cannot disagree without one of the two tests failing.

A payload is judged in two steps, as the dispatcher does: first the rules on the JSON text
that no JSON Schema can state (event.schema.json's description lists them), then
event.schema.json, which refers to the schema of each known connection event. "integer"
means a number written without fraction or exponent (1.0 is not one), as the dispatcher's
parser reads it; JSON Schema's data model alone would call 1.0 an integer.

Uses Debian's python3-jsonschema (Draft 2020-12) under /usr/bin/python3.
"""
import glob
import json
import os
import sys
import warnings

import jsonschema

warnings.simplefilter("ignore", DeprecationWarning)

MAX_PAYLOAD = 256 * 1024
MAX_DEPTH = 64


class TextError(Exception):
    pass


def no_duplicates(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise TextError(f"key '{key}' repeated in an object")
        seen.add(key)
    return dict(pairs)


def refuse_constant(name):
    raise TextError(f"{name} is not JSON")


def depth_and_strings(value, level=1):
    """Checks nesting and that every string is encodable UTF-8 (no lone surrogates)."""
    if isinstance(value, (dict, list)):
        if level > MAX_DEPTH:
            raise TextError(f"nested deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                key.encode("utf-8")
            depth_and_strings(item, level + 1)
    elif isinstance(value, str):
        value.encode("utf-8")


def parse_text(raw):
    if not raw:
        raise TextError("empty")
    if len(raw) > MAX_PAYLOAD:
        raise TextError(f"{len(raw)} bytes, more than {MAX_PAYLOAD}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise TextError("byte order mark")
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=refuse_constant)
        depth_and_strings(doc)
    except (UnicodeError, ValueError, RecursionError) as e:
        raise TextError(str(e)[:200])
    return doc


def strict_integer(checker, instance):
    return isinstance(instance, int) and not isinstance(instance, bool)


def main(schema_dir, corpus_dir):
    store = {}
    for path in glob.glob(os.path.join(schema_dir, "*.schema.json")):
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        store[schema["$id"]] = schema
    root = store["event.schema.json"]
    Validator = jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer",
                                                                           strict_integer))
    validator = Validator(root, resolver=jsonschema.RefResolver("event.schema.json", root,
                                                                store=store))
    wrong, count = [], 0
    for expected in ("valid", "invalid"):
        files = sorted(glob.glob(os.path.join(corpus_dir, expected, "*.json")))
        if not files:
            wrong.append(f"{expected}/: no files")
        for path in files:
            count += 1
            with open(path, "rb") as f:
                raw = f.read()
            try:
                errors = [e.message[:160] for e in validator.iter_errors(parse_text(raw))]
            except TextError as e:
                errors = [f"text: {e}"]
            name = os.path.relpath(path, corpus_dir)
            if expected == "valid" and errors:
                wrong.append(f"{name}: refused by the schemas: {errors[0]}")
            elif expected == "invalid" and not errors:
                wrong.append(f"{name}: accepted by the schemas")
    for w in wrong:
        print("DISAGREE", w)
    print(f"{count} corpus events judged by schemas/: {len(wrong)} disagreements")
    return 1 if wrong else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
