"""classify() over HTTP: a small ASGI application, served by uvicorn (the ``serve`` extra).

    smtp-classifier serve --port 8080 --rules /etc/smtp-classifier/rules

Endpoints: POST /v1/classify, POST /v1/classify-mail, GET /v1/codes, GET /healthz and the
OpenAPI description at GET /openapi.json. The application itself needs nothing beyond the
package; only running it needs uvicorn.
"""

from __future__ import annotations

from .app import ServeApp, ServeLimits, app_from_env

__all__ = ["ServeApp", "ServeLimits", "app_from_env"]
