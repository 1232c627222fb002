"""The WSGI application: one werkzeug URL map for the Wix API, the control routes and the payment page.

Each area handles its own errors in its own shape (Wix's for the API, the product's for ``/_sandbox``, HTML for
the page); this module only routes and stamps every response with an ``x-wix-request-id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from . import api, control, page
from .formats import new_request_id


class SandboxApp:
    def __init__(self, wix_api: api.WixApi, control_api: control.ControlApi, payment_page: page.PaymentPage):
        # Unbound copies: a Rule can belong to one Map only, and each server builds its own.
        self.url_map = Map([rule.empty() for rule in api.RULES + control.RULES + page.RULES])
        self.areas: dict[str, Any] = {"control": control_api, "page": payment_page}
        self.wix_api = wix_api

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        request_id = new_request_id()
        response = self._dispatch(request, request_id)
        response.headers["x-wix-request-id"] = request_id
        return response(environ, start_response)

    def _dispatch(self, request: Request, request_id: str) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as error:
            return self._unmatched(request, request_id, error)
        except HTTPException as error:  # e.g. a redirect to the canonical trailing-slash form
            return error.get_response(request.environ)
        area, name = endpoint.split(":", 1)
        if area == "api":
            return self.wix_api.handle(request, name, args, request_id)
        return self.areas[area].handle(request, name, args)

    def _unmatched(self, request: Request, request_id: str, error: HTTPException) -> Response:
        if request.path.startswith("/_sandbox"):
            return control.control_error(
                error.code,
                "NOT_FOUND" if error.code == 404 else "METHOD_NOT_ALLOWED",
                f"No control route for {request.method} {request.path}",
            )
        if request.path == "/" or request.path.startswith("/pay/"):
            return error.get_response(request.environ)
        # Anything else is a call to wixapis.com that Wix would also refuse; it is logged like any other call.
        return self.wix_api.handle(request, None, {}, request_id, unmatched_status=error.code)
