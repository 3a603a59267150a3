"""OpenAI's OpenAPI spec (the copy vendored in tests/fixtures/openai) as JSON-schema validators, for
checking what the mock emits, not only what it accepts.

The spec says OpenAPI 3.1 but marks nullable fields the 3.0 way (``nullable: true``), which a JSON-schema
validator ignores; each such schema is read as "this, or null" here, as OpenAI's SDKs read it.
"""

from __future__ import annotations

import functools
import gzip
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.paths import ROOT

SPEC = ROOT / "tests" / "fixtures" / "openai" / "openapi.yaml.gz"


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _registry() -> tuple[Registry, dict[str, Any]]:
    with gzip.open(SPEC) as f:
        spec = yaml.load(f, Loader=yaml.CSafeLoader)
    spec["components"]["schemas"] = _nullable(spec["components"]["schemas"])
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource("spec", resource), spec["components"]["schemas"]


@functools.cache
def validator(schema: str) -> Draft202012Validator:
    registry, schemas = _registry()
    assert schema in schemas, f"no schema {schema!r} in the spec"
    return Draft202012Validator({"$ref": f"spec#/components/schemas/{schema}"}, registry=registry)


@functools.cache
def stream_event_schemas() -> dict[str, str]:
    """Each Responses stream event type (``response.created``...) and the schema the spec gives it."""
    _, schemas = _registry()
    out = {}
    for option in schemas["ResponseStreamEvent"]["anyOf"]:
        name = option["$ref"].rsplit("/", 1)[-1]
        kind = schemas[name].get("properties", {}).get("type", {})
        for value in kind.get("enum", []):
            out[value] = name
    return out


def violations(schema: str, obj: Any) -> list[str]:
    """What in ``obj`` does not validate against the spec's ``schema``, one line each."""
    return [
        f"{schema} at /{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator(schema).iter_errors(obj)
    ]


def event_violations(event: dict[str, Any]) -> list[str]:
    """A Responses stream event against the schema of its type (an unknown type is one violation)."""
    schema = stream_event_schemas().get(str(event.get("type")))
    if schema is None:
        return [f"event type {event.get('type')!r} is not in the spec"]
    return violations(schema, event)
