"""`gather-sync explain`'s text: the verdict and its causes first, then the evidence."""

from __future__ import annotations

from typing import Any

from schemas.versions import Version
from streams.explain.model import Explanation, StoreRow, when

MARKS = {True: "[ok]", False: "[no]", None: "[--]"}


def render(found: Explanation) -> str:
    lines = [
        f"{found.object} {found.record_id} of tenant {found.tenant or '?'}: {found.verdict.value}",
        *(f"  - {cause}" for cause in found.causes),
        "",
        *_record(found),
        "rules:",
        *(f"  {MARKS[s.passed]} {_indent(s.rule)}{s.rule}: {s.detail}" for s in found.steps),
        f"decision: {found.decision}",
        *_upsert(found.upsert),
        "store:",
        *(_row(row) for row in found.rows),
        *([] if found.rows else ["  no row"]),
        *_differences(found),
        "dead letters:",
        *(f"  {d.topic}: {d.stage}: {d.error}" for d in found.dead_letters),
        *([] if found.dead_letters else ["  none"]),
        "unread: " + ", ".join(f"{stage} {n}" for stage, n in sorted(found.lag.items())),
    ]
    return "\n".join(lines)


def _indent(rule: str) -> str:
    return "  " if rule == "condition" else ""


def _record(found: Explanation) -> list[str]:
    if found.record is None:
        return ["worker state: none", ""]
    state = "deleted" if found.record.deleted else "live"
    lines = [f"worker state ({state}, version {when(found.record.version)}):"]
    held = [f for f in found.record.fields if f.value is not None]
    lines += [f"  {f.name} = {_short(f.value)} @ {when(f.version)}" for f in held]
    empty = [f.name for f in found.record.fields if f.value is None]
    if empty:
        lines.append(f"  empty: {', '.join(empty)}")
    return [*lines, ""]


def _upsert(upsert: dict[str, Any] | None) -> list[str]:
    if upsert is None:
        return []
    where = upsert.get("gather_id") or f"match {upsert.get('match_trait')}"
    version = Version.model_validate(upsert["version"]).encode()
    lines = [f"upsert now: {upsert['kind']} {where!r}, version {when(version)}"]
    lines += [f"  {t} = {_short(v)}" for t, v in sorted(upsert.get("traits", {}).items())]
    if "account_sf_id" in upsert:
        lines.append(f"  account link: {upsert['account_sf_id']}")
    return lines


def _row(row: StoreRow) -> str:
    state = f"deleted ({row.deleted_reason})" if row.deleted else "live"
    link = f", account {row.account_id!r}" if row.account_id else ""
    traits = [
        f"\n    {t} = {_short(v)} @ {when(row.trait_versions.get(t))}"
        for t, v in sorted(row.traits.items())
    ]
    return f"  {row.table} {row.id!r} (sf_id {row.sf_id}, {state}{link}):" + "".join(traits)


def _differences(found: Explanation) -> list[str]:
    if not found.differences:
        return []
    lines = ["differences (now / stored):"]
    lines += [
        f"  {d.trait}: {_short(d.expected)} @ {when(d.expected_version)} / "
        f"{_short(d.stored)} @ {when(d.stored_version)}"
        for d in found.differences
    ]
    return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
