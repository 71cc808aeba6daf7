"""The Google discovery document for commentanalyzer v1alpha1, pointing at this server.

Schemas are derived from the proto descriptors, so the REST contract and the gRPC
contract cannot drift apart; ``rootUrl`` is the caller's view of this server, which is
what lets ``googleapiclient.discovery.build(..., discoveryServiceUrl=...)`` work unchanged.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from perspective_local.models.attributes import ATTRIBUTES
from perspective_local.proto import commentanalyzer_pb2 as ca

REVISION = "20260504"
_SCALARS: dict[int, dict[str, str]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
}
_WRAPPERS = {"google.protobuf.FloatValue": {"type": "number", "format": "float"}}


def _value_schema(field: FieldDescriptor) -> dict[str, Any]:
    if field.message_type is not None:
        wrapped = _WRAPPERS.get(field.message_type.full_name)
        return dict(wrapped) if wrapped else {"$ref": field.message_type.name}
    if field.enum_type is not None:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    return dict(_SCALARS[field.type])


def _field_schema(field: FieldDescriptor) -> dict[str, Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        return {
            "type": "object",
            "additionalProperties": _value_schema(entry.fields_by_name["value"]),
        }
    if field.is_repeated:
        return {"type": "array", "items": _value_schema(field)}
    return _value_schema(field)


def _schema(message: Descriptor) -> dict[str, Any]:
    properties = {f.json_name: _field_schema(f) for f in message.fields}
    return {"id": message.name, "type": "object", "properties": properties}


def _query(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "location": "query", "description": description, **extra}


def discovery_document(root_url: str) -> dict[str, Any]:
    """The discovery document, with requests directed to ``root_url`` (ends with ``/``)."""
    schemas = {
        name: _schema(message) for name, message in ca.DESCRIPTOR.message_types_by_name.items()
    }
    attributes = ", ".join(ATTRIBUTES)
    schemas["AnalyzeCommentRequest"]["properties"]["requestedAttributes"]["description"] = (
        f"Attributes to score; this server knows: {attributes}."
    )

    def method(name: str, request: str, response: str, description: str) -> dict[str, Any]:
        path = f"v1alpha1/comments:{name}"
        return {
            "id": f"commentanalyzer.comments.{name}",
            "path": path,
            "flatPath": path,
            "httpMethod": "POST",
            "parameters": {},
            "parameterOrder": [],
            "request": {"$ref": request},
            "response": {"$ref": response},
            "description": description,
            "scopes": ["https://www.googleapis.com/auth/userinfo.email"],
        }

    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1",
        "name": "commentanalyzer",
        "version": "v1alpha1",
        "revision": REVISION,
        "title": "Perspective Comment Analyzer API (perspective-local)",
        "description": "A local, offline stand-in for the Perspective Comment Analyzer API.",
        "ownerDomain": "google.com",
        "ownerName": "Google",
        "protocol": "rest",
        "rootUrl": root_url,
        "mtlsRootUrl": root_url,
        "baseUrl": root_url,
        "basePath": "/",
        "servicePath": "",
        "batchPath": "batch",
        "fullyEncodeReservedExpansion": True,
        "parameters": {
            "key": _query("API key; checked only when the server has keys configured."),
            "access_token": _query("OAuth access token (accepted as a key)."),
            "oauth_token": _query("OAuth 2.0 token (accepted as a key)."),
            "alt": _query(
                "Data format for the response.", default="json", enum=["json", "media", "proto"]
            ),
            "fields": _query("Top-level fields to include in the response."),
            "prettyPrint": {
                "type": "boolean",
                "location": "query",
                "default": "true",
                "description": "Returns the response with indentations and line breaks.",
            },
            "quotaUser": _query("Ignored."),
            "callback": _query("JSONP (ignored)."),
            "$.xgafv": _query("V1 error format.", enum=["1", "2"]),
            "uploadType": _query("Ignored."),
            "upload_protocol": _query("Ignored."),
        },
        "auth": {
            "oauth2": {
                "scopes": {
                    "https://www.googleapis.com/auth/userinfo.email": {
                        "description": "See your primary Google Account email address"
                    }
                }
            }
        },
        "schemas": schemas,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Analyzes the provided text and returns scores for requested attributes.",
                    ),
                    "suggestscore": method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Suggest comment scores as training data (acknowledged, not stored).",
                    ),
                }
            }
        },
    }
