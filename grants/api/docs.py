"""The API's front page and its documentation page, rendered on the server from the OpenAPI schema.

drf-spectacular's Swagger UI and ReDoc pages load their JavaScript from a CDN, which the foundation's
machines cannot reach, so the docs page is plain HTML made from the same schema as /api/v1/schema/.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootView(APIView):
    """The entry points of the API, its schema and its documentation."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response({
            "applications": link("api-application-list"),
            "tasks": link("api-task-list"),
            "token": link("api-token"),
            "funds": request.build_absolute_uri(reverse("api-root")) + "funds/{id}/statement/",
            "schema": link("api-schema"),
            "docs": link("api-docs"),
        })


def type_text(schema: dict[str, Any]) -> str:
    """A schema's type in a few words: `Application`, `array of BudgetLine`, `string (date)`, `one of a, b`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "allOf" in schema or "oneOf" in schema:
        return " | ".join(type_text(part) for part in schema.get("allOf") or schema.get("oneOf"))
    if "enum" in schema:
        values = ", ".join(str(value) for value in schema["enum"] if value is not None)
        return _("one of %(values)s") % {"values": values}
    kind = schema.get("type", "object")
    if kind == "array":
        return _("array of %(type)s") % {"type": type_text(schema.get("items", {}))}
    text = f"{kind} ({schema['format']})" if "format" in schema else kind
    return _("%(type)s, nullable") % {"type": text} if schema.get("nullable") else text


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            rows.append({
                "anchor": operation.get("operationId", f"{method}-{path}"),
                "method": method.upper(), "path": path,
                "summary": operation.get("summary", ""), "description": operation.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": type_text(p.get("schema", {})), "description": p.get("description", "")}
                               for p in operation.get("parameters", [])],
                "request": [(media, type_text(body.get("schema", {})))
                            for media, body in operation.get("requestBody", {}).get("content", {}).items()],
                "responses": [(code, response.get("description", ""),
                               ", ".join(sorted({type_text(body.get("schema", {}))
                                                 for body in response.get("content", {}).values()})))
                              for code, response in operation.get("responses", {}).items()],
            })
    return rows


def _components(schema: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        rows.append({"name": name, "description": component.get("description", ""),
                     "type": "" if "properties" in component else type_text(component),
                     "properties": [{"name": key, "type": type_text(value), "required": key in required,
                                     "read_only": value.get("readOnly", False),
                                     "description": value.get("description", "")}
                                    for key, value in component.get("properties", {}).items()]})
    return rows


@functools.cache
def docs_content(language: str) -> dict[str, Any]:
    """The docs page's rows in one language, built once per process: the schema changes only with the code."""
    # One entry per language of settings.LANGUAGES (LocaleMiddleware activates no other): the schema's labels
    # and help texts are translated. Built without the request, as the page is public and the same for all.
    with translation.override(language):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        return {"info": schema.get("info", {}), "operations": _operations(schema),
                "components": _components(schema)}


class DocsView(APIView):
    """Every operation and schema of the API on one page, without JavaScript (fields marked * are required)."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> HttpResponse:
        language = translation.get_language()
        schema_url = reverse("api-schema")
        html = render_to_string("grants/api/docs.html", {
            **docs_content(language), "language": language,
            "schema_url": schema_url, "schema_json_url": f"{schema_url}?format=json",
        })
        return HttpResponse(html)
