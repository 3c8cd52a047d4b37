"""Bulk API 2.0 query jobs, as simple-salesforce's `bulk2` drives them.

POST /jobs/query creates a job (state UploadComplete), GET /jobs/query/{id} reports JobComplete,
GET /jobs/query/{id}/results pages the CSV with `maxRecords` and `locator`, answering the
`Sforce-Locator` ("null" on the last page) and `Sforce-NumberOfRecords` headers.
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from sfsim import errors, soql
from sfsim.clock import sf_datetime
from sfsim.server.state import SESSION_KEY, SimState, state_of

DEFAULT_MAX_RECORDS = 50_000


async def create_job(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await request.json()
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        raise errors.InvalidValue(f"operation must be query or queryAll, not {operation!r}")
    parsed = soql.parse(str(body.get("query", "")))
    obj = state.org.schema.get(parsed.object_name)
    if obj is None:
        raise soql.no_such_object(parsed)
    rows = list(state.org.rows(obj.name, include_deleted=operation == "queryAll"))
    found = soql.run(parsed, rows, obj.types(), state.clock.now())
    job_id = f"750Dn{next(state.counter):013d}"
    columns = list(found[0]) if found else list(parsed.field_names)
    state.bulk_jobs[job_id] = _job_info(state, job_id, operation, obj.name, request) | {
        "_rows": found,
        "_columns": columns,
        "numberRecordsProcessed": len(found),
    }
    return web.json_response(_public(state.bulk_jobs[job_id] | {"state": "UploadComplete"}))


def _job_info(
    state: SimState, job_id: str, operation: str, obj: str, request: web.Request
) -> dict[str, Any]:
    now = sf_datetime(state.clock.now())
    return {
        "id": job_id,
        "operation": operation,
        "object": obj,
        "createdById": request[SESSION_KEY].user.user_id,
        "createdDate": now,
        "systemModstamp": now,
        "state": "JobComplete",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(request.match_info["version"]),
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
        "retries": 0,
        "totalProcessingTime": 0,
    }


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _job(state: SimState, request: web.Request) -> dict[str, Any]:
    job = state.bulk_jobs.get(request.match_info["job"])
    if job is None:
        raise errors.NotFound("The requested resource does not exist")
    return job


async def get_job(request: web.Request) -> web.Response:
    return web.json_response(_public(_job(state_of(request), request)))


async def results(request: web.Request) -> web.Response:
    job = _job(state_of(request), request)
    start = int(request.query.get("locator") or 0)
    size = int(request.query.get("maxRecords") or DEFAULT_MAX_RECORDS)
    rows = job["_rows"][start : start + size]
    more = start + size < len(job["_rows"])
    headers = {
        "Sforce-Locator": str(start + size) if more else "null",
        "Sforce-NumberOfRecords": str(len(rows)),
    }
    return web.Response(text=_csv(job["_columns"], rows), headers=headers, content_type="text/csv")


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """Bulk CSV: a header row, every value quoted, null as empty, booleans as true/false.
    The csv module writes None as empty and other values as str() itself; only booleans are
    turned into text here (a million-row backfill reads 20 pages of this)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(
        [_BOOLEAN[v] if v.__class__ is bool else v for v in map(row.get, columns)] for row in rows
    )
    return out.getvalue()


_BOOLEAN = {True: "true", False: "false"}


async def delete_job(request: web.Request) -> web.Response:
    state = state_of(request)
    _job(state, request)
    del state.bulk_jobs[request.match_info["job"]]
    return web.Response(status=204)


async def abort_job(request: web.Request) -> web.Response:
    job = _job(state_of(request), request)
    job["state"] = "Aborted"
    return web.json_response(_public(job))
