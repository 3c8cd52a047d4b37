"""The REST API: versions, sObjects, describe, record CRUD, SOQL query/queryAll with paging, limits.

Every authenticated call counts against the daily API allocation and answers with
`Sforce-Limit-Info`; errors are Salesforce's `[{"message", "errorCode"}]` bodies.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_list.htm
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from sfsim import errors, soql
from sfsim.metadata import ObjectDef
from sfsim.server.oauth import bearer_token
from sfsim.server.state import API_VERSIONS, SESSION_KEY, SimState, state_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
QUERY_BATCH = 2000
MIN_BATCH = 200


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response([{"message": message, "errorCode": code}], status=status)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, faults and limits for /services/data/vXX.X/...; the versions list is public."""
    if not request.path.startswith("/services/data/v"):
        return await handler(request)
    state = state_of(request)
    if (refused := _refuse(request, state)) is not None:
        return refused
    state.limits.api_used += 1
    try:
        response = await handler(request)
    except errors.SfsimError as e:
        response = web.json_response(e.body(), status=e.status)
    except soql.SoqlError as e:
        response = error_response(400, e.error_code, str(e))
    response.headers["Sforce-Limit-Info"] = state.limits.header()
    return response


def _refuse(request: web.Request, state: SimState) -> web.Response | None:
    session = state.identity.session(bearer_token(request) or "")
    if session is None:
        return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
    request[SESSION_KEY] = session
    if state.faults.take_busy():
        return error_response(503, "SERVER_UNAVAILABLE", "Server is unavailable, try again later")
    if state.faults.request_limit_exceeded or state.limits.api_used >= state.limits.api_max:
        return error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    return None


async def versions(request: web.Request) -> web.Response:
    return web.json_response(
        [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
    )


async def resources(request: web.Request) -> web.Response:
    base = f"/services/data/v{request.match_info['version']}"
    names = ("sobjects", "query", "queryAll", "limits", "jobs")
    return web.json_response({n: f"{base}/{n}" for n in names})


async def limits(request: web.Request) -> web.Response:
    lim = state_of(request).limits
    return web.json_response(
        {
            "DailyApiRequests": {
                "Max": lim.api_max,
                "Remaining": max(0, lim.api_max - lim.api_used),
            },
            "DailyDeliveredPlatformEvents": {
                "Max": lim.events_max,
                "Remaining": max(0, lim.events_max - lim.events_delivered),
            },
        }
    )


async def sobjects(request: web.Request) -> web.Response:
    objects = state_of(request).org.schema.objects.values()
    return web.json_response(
        {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [_summary(o) for o in objects]}
    )


def _summary(obj: ObjectDef) -> dict[str, Any]:
    return {
        "name": obj.name,
        "label": obj.label,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "queryable": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "undeletable": True,
        "replicateable": True,
    }


async def describe(request: web.Request) -> web.Response:
    state = state_of(request)
    obj = state.org.object(request.match_info["object"])
    fields = [f.describe() for f in obj.fields.values()]
    if state.faults.take_malformed_describe():
        fields = [{k: v for k, v in f.items() if k != "type"} for f in fields]
    return web.json_response(_summary(obj) | {"fields": fields})


async def get_record(request: web.Request) -> web.Response:
    state = state_of(request)
    obj = state.org.object(request.match_info["object"])
    record = state.org.get(obj.name, request.match_info["id"])
    wanted = request.query.get("fields")
    names = [_field(obj, n).name for n in wanted.split(",")] if wanted else list(obj.fields)
    return web.json_response(render(obj, record, names, request.match_info["version"]))


def _field(obj: ObjectDef, name: str) -> Any:
    found = obj.field_ci(name.strip())
    if found is None:
        raise errors.InvalidField(f"No such column '{name}' on entity '{obj.name}'")
    return found


async def create_record(request: web.Request) -> web.Response:
    state = state_of(request)
    values = await _json_body(request)
    record_id = state.org.create(
        request.match_info["object"], values, request[SESSION_KEY].user.user_id
    )
    return web.json_response({"id": record_id, "success": True, "errors": []}, status=201)


async def update_record(request: web.Request) -> web.Response:
    state = state_of(request)
    values = await _json_body(request)
    state.org.update(
        request.match_info["object"],
        request.match_info["id"],
        values,
        request[SESSION_KEY].user.user_id,
    )
    return web.Response(status=204)


async def delete_record(request: web.Request) -> web.Response:
    state_of(request).org.delete(request.match_info["object"], request.match_info["id"])
    return web.Response(status=204)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as e:
        raise errors.InvalidValue(f"JSON parser error: {e}") from e
    if not isinstance(body, dict):
        raise errors.InvalidValue("the body must be a JSON object of field values")
    return body


def render(
    obj: ObjectDef, record: dict[str, Any], names: list[str], version: str
) -> dict[str, Any]:
    """A record as REST shows it: attributes first, compound address fields composed."""
    url = f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"
    shown: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
    for name in names:
        parts = obj.compounds.get(name) if obj.fields[name].type == "address" else None
        shown[name] = _address(record, parts) if parts else record.get(name)
    return shown


def _address(record: dict[str, Any], parts: tuple[str, ...]) -> dict[str, Any] | None:
    """BillingAddress -> {"city": ..., "street": ..., "geocodeAccuracy": None}, keys sorted."""
    values = {_camel(p): record.get(p) for p in parts}
    if all(v is None for v in values.values()):
        return None
    return {**dict(sorted(values.items())), "geocodeAccuracy": None}


def _camel(name: str) -> str:
    for prefix in ("Billing", "Shipping", "Mailing", "Other"):
        if name.startswith(prefix):
            part = name[len(prefix) :]
            return part[0].lower() + part[1:]
    return name


# --- SOQL --------------------------------------------------------------------------------------


async def query(request: web.Request) -> web.Response:
    return _start_query(request, include_deleted=False)


async def query_all(request: web.Request) -> web.Response:
    return _start_query(request, include_deleted=True)


def _start_query(request: web.Request, include_deleted: bool) -> web.Response:
    state = state_of(request)
    text = request.query.get("q")
    if not text:
        raise errors.InvalidValue("the query parameter q is required")
    parsed = soql.parse(text)
    obj = state.org.schema.get(parsed.object_name)
    if obj is None:
        raise soql.no_such_object(parsed)
    rows = list(state.org.rows(obj.name, include_deleted=include_deleted))
    if parsed.is_count:
        total = soql.count(parsed, rows, obj.types(), state.clock.now())
        return web.json_response({"totalSize": total, "done": True, "records": []})
    found = soql.run(_with_id(parsed), rows, obj.types(), state.clock.now())
    version = request.match_info["version"]
    shown = [
        _project(obj, row, "id" in {n.lower() for n in parsed.field_names}, version)
        for row in found
    ]
    return _page(request, state, shown, _batch_size(request), version)


def _with_id(parsed: soql.Query) -> soql.Query:
    """The record URL in `attributes` needs the id even when the query does not select it."""
    if "id" in {n.lower() for n in parsed.field_names}:
        return parsed
    return replace(parsed, fields=(*parsed.fields, soql.FieldRef("Id", 0)))


def _project(obj: ObjectDef, row: dict[str, Any], keep_id: bool, version: str) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}"
    shown = {k: v for k, v in row.items() if keep_id or k != "Id"}
    return {"attributes": {"type": obj.name, "url": url}, **shown}


def _batch_size(request: web.Request) -> int:
    """`Sforce-Query-Options: batchSize=500` (200..2000)
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
    """
    option = request.headers.get("Sforce-Query-Options", "")
    for part in option.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "batchSize" and value.strip().isdigit():
            return max(MIN_BATCH, min(QUERY_BATCH, int(value)))
    return QUERY_BATCH


def _page(
    request: web.Request, state: SimState, records: list[dict[str, Any]], size: int, version: str
) -> web.Response:
    body: dict[str, Any] = {
        "totalSize": len(records),
        "done": len(records) <= size,
        "records": records[:size],
    }
    if len(records) > size:
        cursor = f"01gDn{next(state.counter):013d}"
        state.query_cursors[cursor] = {"records": records, "size": size}
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{size}"
    return web.json_response(body)


async def query_more(request: web.Request) -> web.Response:
    state = state_of(request)
    cursor, _, offset_text = request.match_info["locator"].partition("-")
    saved = state.query_cursors.get(cursor)
    if saved is None or not offset_text.isdigit():
        raise errors.SfsimError("invalid query locator")
    offset, size, records = int(offset_text), saved["size"], saved["records"]
    page = records[offset : offset + size]
    done = offset + size >= len(records)
    body: dict[str, Any] = {"totalSize": len(records), "done": done, "records": page}
    if done:
        state.query_cursors.pop(cursor, None)
    else:
        version = request.match_info["version"]
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{offset + size}"
    return web.json_response(body)
