"""OpenAPI document settings, and a schema plugin for msgspec structs with ``{}`` defaults.

Litestar 2.x tests ``field.default not in {NODEFAULT, UNSET}``, which raises ``TypeError:
unhashable type`` for the read model's ``dict``/struct defaults (``CsiResult.factors = {}``).
This subclass does the same with identity checks and only documents scalar defaults.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any, Literal

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.plugins.core._msgspec import kwarg_definition_from_field
from litestar.types.empty import Empty
from litestar.typing import FieldDefinition

_SCALARS = (str, int, float, bool, type(None))


def _default(field: msgspec.inspect.Field) -> Any:
    value = field.default
    if value is msgspec.NODEFAULT or value is msgspec.UNSET or not isinstance(value, _SCALARS):
        return Empty
    return value


class StructSchema(StructSchemaPlugin):
    """``StructSchemaPlugin`` that tolerates unhashable defaults."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        hints = field_definition.get_type_hints(include_extras=True, resolve_generics=True)
        info: Any = msgspec.inspect.type_info(field_definition.type_)
        properties = {}
        for field in info.fields:
            extra = {}
            if kwarg := kwarg_definition_from_field(field)[0]:
                extra["kwarg_definition"] = kwarg
            properties[field.encode_name] = FieldDefinition.from_annotation(
                annotation=hints[field.name], name=field.encode_name, default=_default(field),
                **extra)
        required = [f.encode_name for f in info.fields if self._is_field_required(field=f)]
        if info.tag_field:
            properties[info.tag_field] = FieldDefinition.from_annotation(Literal[info.tag])
            required.append(info.tag_field)
        schema: Schema = schema_creator.create_component_schema(
            field_definition, required=sorted(required), property_fields=properties)
        return schema


def _version() -> str:
    try:
        return metadata.version("cxpulse")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0"


def openapi_config() -> OpenAPIConfig:
    """Served at ``/schema`` (``/schema/openapi.json``), without a token."""
    return OpenAPIConfig(
        title="cxpulse", version=_version(),
        description="Live customer-experience metrics. Send `Authorization: Bearer <token>` "
                    "(or `?token=`). docs/protocol.md describes the websocket protocol.",
        security=[{"bearer": []}],
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer",
                                     description="a token listed in [auth] of config.toml")}),
    )
