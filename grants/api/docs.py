"""The API's front page and its documentation page, rendered on the server from the OpenAPI schema.

drf-spectacular's Swagger UI and ReDoc pages load their JavaScript from a CDN, which the foundation's
machines cannot reach, so the docs page is plain HTML made from the same schema as /api/v1/schema/.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template import engines
from django.urls import reverse
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
        return "one of " + ", ".join(str(value) for value in schema["enum"] if value is not None)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {type_text(schema.get('items', {}))}"
    text = f"{kind} ({schema['format']})" if "format" in schema else kind
    return f"{text}, nullable" if schema.get("nullable") else text


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


PAGE = """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ info.title }}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code,.path{font-family:ui-monospace,monospace}.op{border-top:1px solid #ccc;padding:.5rem 0}
.method{display:inline-block;min-width:4.5rem;font-weight:bold}table{border-collapse:collapse;margin:.3rem 0}
td,th{border:1px solid #ddd;padding:.15rem .5rem;text-align:left;vertical-align:top}.muted{color:#666}
</style></head><body>
<h1>{{ info.title }} <small class="muted">v{{ info.version }}</small></h1>
<p>{{ info.description }}</p>
<p>Schema: <a href="{{ schema_url }}">{{ schema_url }}</a> (YAML; <a href="{{ schema_url }}?format=json">JSON</a>).
Authenticate with <code>POST auth/token/</code> (username, password) and send
<code>Authorization: Token &lt;key&gt;</code>, or log in to the site and browse the endpoints.
Errors are <code>{"code", "message", "field"}</code>; messages follow <code>Accept-Language</code>.</p>
<h2>Operations</h2><ul>{% for op in operations %}
<li><a href="#{{ op.anchor }}"><span class="method">{{ op.method }}</span> <span class="path">{{ op.path }}</span></a>
 {{ op.summary }}</li>{% endfor %}</ul>
{% for op in operations %}<div class="op" id="{{ op.anchor }}">
<h3><span class="method">{{ op.method }}</span> <span class="path">{{ op.path }}</span></h3>
<p><b>{{ op.summary }}</b></p>{% if op.description %}<p>{{ op.description|linebreaksbr }}</p>{% endif %}
{% if op.parameters %}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code>{% if p.required %} *{% endif %}</td><td>{{ p.in }}</td>
<td>{{ p.type }}</td><td>{{ p.description }}</td></tr>{% endfor %}</table>{% endif %}
{% for media, type in op.request %}<p>Body ({{ media }}): <a href="#schema-{{ type }}">{{ type }}</a></p>{% endfor %}
<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{% for code, description, type in op.responses %}
<tr><td>{{ code }}</td><td>{{ description }}</td><td>{{ type }}</td></tr>{% endfor %}</table></div>{% endfor %}
<h2>Schemas</h2>{% for c in components %}<div class="op" id="schema-{{ c.name }}"><h3>{{ c.name }}</h3>
{% if c.description %}<p>{{ c.description|linebreaksbr }}</p>{% endif %}{% if c.type %}<p>{{ c.type }}</p>{% endif %}
{% if c.properties %}<table><tr><th>field</th><th>type</th><th>description</th></tr>{% for p in c.properties %}
<tr><td><code>{{ p.name }}</code>{% if p.required %} *{% endif %}
{% if p.read_only %}<span class="muted">(read only)</span>{% endif %}</td><td>{{ p.type }}</td>
<td>{{ p.description }}</td></tr>{% endfor %}</table>{% endif %}</div>{% endfor %}
</body></html>"""


class DocsView(APIView):
    """Every operation and schema of the API on one page, without JavaScript (fields marked * are required)."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> HttpResponse:
        schema = SchemaGenerator().get_schema(request=request, public=True)
        html = engines["django"].from_string(PAGE).render({
            "info": schema.get("info", {}), "operations": _operations(schema), "components": _components(schema),
            "schema_url": reverse("api-schema"), "language": getattr(request, "LANGUAGE_CODE", "zh-hans"),
        }, request=None)
        return HttpResponse(html)

