"""One record's explanation from what `cli.explain` read: the rules' steps, the decision, the
store's rows and the verdict."""

from __future__ import annotations

from schemas.gather import GatherUpsert
from streams.explain.compare import Findings, differences, own_row, verdict
from streams.explain.model import Explanation, Verdict
from streams.explain.rules import Inputs, decide, record_view, steps
from streams.rules.entities import Skip, section_of


def explain(inputs: Inputs, found: Findings) -> Explanation:
    decision = decide(inputs)
    if decision is None:
        standing, causes = _unsynced(inputs, found)
    else:
        standing, causes = verdict(decision, found)
    upsert = decision if isinstance(decision, GatherUpsert) else None
    return Explanation(
        tenant=inputs.config.tenant if inputs.config else "",
        object=inputs.object,
        record_id=inputs.record_id,
        record=record_view(inputs.state) if inputs.state else None,
        steps=steps(inputs),
        decision=_decision(decision),
        upsert=upsert.model_dump(mode="json", exclude_none=True) if upsert else None,
        rows=found.rows,
        differences=differences(upsert, own_row(upsert, found.rows)) if upsert else [],
        dead_letters=found.dead_letters,
        lag=dict(found.lag),
        verdict=standing,
        causes=causes,
    )


def _decision(decision: GatherUpsert | Skip | None) -> str:
    if decision is None:
        return "none"
    if isinstance(decision, Skip):
        return f"skip:{decision.reason}"
    return decision.op.value


def _unsynced(inputs: Inputs, found: Findings) -> tuple[Verdict, list[str]]:
    """No decision: the tenant or its config does not sync the object, or the worker has not
    seen the record."""
    if inputs.config is None:
        return Verdict.NOT_SYNCED, ["the tenant is not applied: gather-sync tenants apply FILE"]
    if section_of(inputs.config, inputs.object) is None:
        return Verdict.NOT_SYNCED, [f"the tenant's config has no section for {inputs.object}"]
    causes = ["the worker holds no state for this record: no change of it has reached it"]
    if found.lag.get("worker"):
        causes.append(f"the worker has {found.lag['worker']} unread change(s); it may be one")
    else:
        causes.append(
            "nothing is pending: check the id, or backfill the tenant (gather-sync backfill)"
        )
    return Verdict.NOT_SEEN, causes
