"""The service's OpenAPI 3.1 description, served at GET /openapi.json."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from .app import ServeLimits

__all__ = ["openapi"]

_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": "#/components/schemas/Error"})}


def openapi(limits: ServeLimits) -> dict[str, Any]:
    """The description, with the limits this instance enforces."""
    classification = {
        "type": "object",
        "description": "One classification; code is null when the reply was not recognised.",
        "properties": {
            "code": _NULLABLE_STRING,
            "label_es": {"type": "string"},
            "label_en": {"type": "string"},
            "estado": {"type": "string"},
            "retry": {"type": "boolean"},
            "final": {"type": "boolean"},
            "verdict": {"type": "string", "enum": ["permanent", "transient", "success", "none"]},
            "reason": _NULLABLE_STRING,
            "basic": {"type": ["integer", "null"]},
            "enhanced": _NULLABLE_STRING,
            "stage": {"type": "string"},
            "rule_id": _NULLABLE_STRING,
            "matched": _NULLABLE_STRING,
            "tier": {"type": "string", "enum": ["rule", "enhanced", "basic", "default", "none"]},
            "text": {"type": "string"},
            "note": _NULLABLE_STRING,
            "explanation": {"type": "string", "description": 'only with "explain": true'},
        },
    }
    reply_item = {
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["reply"],
                "properties": {"reply": {"type": "string"}, "stage": {"type": "string"}},
            },
        ]
    }
    stage = {
        "type": "string",
        "maxLength": limits.max_stage,
        "description": "SMTP stage: connect, helo, mail, rcpt, data, end_of_data",
    }
    request = {
        "oneOf": [
            {
                "type": "object",
                "required": ["reply"],
                "properties": {
                    "reply": {"type": "string"},
                    "stage": stage,
                    "explain": {"type": "boolean"},
                },
            },
            {
                "type": "object",
                "required": ["replies"],
                "properties": {
                    "replies": {"type": "array", "items": reply_item, "maxItems": limits.max_batch},
                    "stage": stage,
                    "explain": {"type": "boolean"},
                },
            },
        ]
    }
    bad = {
        "400": _error("the body is not JSON"),
        "413": _error(f"body over {limits.max_body} bytes or over {limits.max_batch} replies"),
        "422": _error("JSON of the wrong shape or types"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smtp-classifier",
            "version": __version__,
            "description": "SMTP replies, DSN texts and bounce mail as MasterBase bounce codes.",
        },
        "paths": {
            "/v1/classify": {
                "post": {
                    "summary": "Classify one reply or a batch",
                    "requestBody": {"required": True, "content": _json(request)},
                    "responses": {
                        "200": {
                            "description": '{"result": …} for one reply, {"results": […]} '
                            "for a batch, in order",
                            "content": _json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "result": classification,
                                        "count": {"type": "integer"},
                                        "results": {"type": "array", "items": classification},
                                    },
                                }
                            ),
                        },
                        **bad,
                    },
                }
            },
            "/v1/classify-mail": {
                "post": {
                    "summary": "Classify a bounce message: one result per recipient reported",
                    "requestBody": {
                        "required": True,
                        "content": {"message/rfc822": {"schema": {"type": "string"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "the report: kind and recipients",
                            "content": _json({"type": "object"}),
                        },
                        "400": _error("empty body"),
                        "413": _error(f"message over {limits.max_mail} bytes"),
                        "422": _error("not a mail message (binary data, no header fields)"),
                    },
                }
            },
            "/v1/codes": {
                "get": {
                    "summary": "The MasterBase code catalogue",
                    "responses": {"200": {"description": "every code with its labels"}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness: version and number of rules",
                    "responses": {"200": {"description": "ready"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "integer"},
                                "type": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
