"""The chaos run's tenants and workload: sfsim's generator at a steady pace (creates, updates,
deletes, undeletes, deals won and lost, contacts moving between accounts), a few change events
published malformed on purpose, and the canaries that time how long the store takes to catch up
after a fault.

The guide says the contact field a tenant keys its Gather users by must identify each contact
uniquely ("the Salesforce Contact must have a field that can be used to uniquely identify the
User in Gather"), and alpha keys users by Email; sfsim's generator draws emails from a small
space (`first.last<1-9999>@example.com`), so two contacts sometimes shared one and the store
answered for either. This workload's contacts get an email of their own (a counter in the local
part), so the test honours the guide's precondition.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from connectors.gather.schema import users
from sfsim.errors import SfsimError
from sfsim.generator import Generator
from sfsim.testing import ThreadedSfsim
from tests.chaos.schedule import Plan
from tests.connectors.salesforce.builders import tenant_document

MALFORMED = "chaos-malformed"  # in each malformed event, so its dead letter can be told apart
EMPLOYEES = {"field": "NumberOfEmployees", "operator": "gte", "value": 10}
C_LEVEL = {"field": "Title", "operator": "in", "value": ["CEO", "CTO", "CFO"]}


class UniqueEmails(Generator):
    """sfsim's generator, each new contact's email unique (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._contacts = 0

    def _contact_values(self, account_id: str | None) -> dict[str, Any]:
        values = super()._contact_values(account_id)
        self._contacts += 1
        local, domain = values["Email"].split("@")
        values["Email"] = f"{local}.{self._contacts}@{domain}"
        return values


def alpha(org: ThreadedSfsim) -> dict[str, Any]:
    """New Gather accounts by Salesforce Id for accounts of 10 employees or more (edits move
    accounts across that line), users by email."""
    return tenant_document(
        org,
        "alpha",
        accounts={
            "sync_mode": "create_new",
            "id_field": "Id",
            "filter": {"match": "all", "conditions": [EMPLOYEES]},
        },
        contacts={"sync_mode": "create_new", "id_field": "Email", "extra_traits": ["Title"]},
    )


def beta(org: ThreadedSfsim) -> dict[str, Any]:
    """Existing Gather accounts updated once they have a Closed Won deal; users by Salesforce Id
    for C-level contacts."""
    return tenant_document(
        org,
        "beta",
        accounts={
            "sync_mode": "update_existing",
            "match_trait": "salesforce_id",
            "closed_won_only": True,
        },
        contacts={
            "sync_mode": "create_new",
            "id_field": "Id",
            "filter": {"match": "any", "conditions": [C_LEVEL]},
        },
    )


def gather_accounts(org: ThreadedSfsim) -> list[dict[str, Any]]:
    """Two of every three of the org's first accounts already exist in beta's Gather."""
    ids = org.call(lambda: sorted(r["Id"] for r in org.state.org.rows("Account")))
    return [
        {"tenant": "beta", "id": f"g-{n}", "traits": {"salesforce_id": i, "plan": "pro"}}
        for n, i in enumerate(ids)
        if n % 3
    ]


def malformed_event(n: int) -> dict[str, Any]:
    """A Contact change event without its ChangeEventHeader: the listener's normalizer refuses
    it, and each tenant's listener sends it to `sf.changes.dlq`."""
    return {
        "channel": "/data/ContactChangeEvent",
        "data": {"schema": "chaos", "payload": {"LastName": f"{MALFORMED}-{n}"}},
    }


@dataclass
class Workload:
    """`plan.profile.changes` changes at `plan.profile.rate` a second, in a thread."""

    org: ThreadedSfsim
    plan: Plan
    made: int = 0
    malformed: list[str] = field(default_factory=list)  # the markers published
    finished: threading.Event = field(default_factory=threading.Event)
    finished_at: float = 0.0  # monotonic

    def start(self) -> Workload:
        threading.Thread(target=self._run, name="workload", daemon=True).start()
        return self

    def _run(self) -> None:
        tick, debt, total = 0.1, 0.0, self.plan.profile.changes
        pending = list(self.plan.malformed_at)
        next_tick = time.monotonic()
        while self.made < total:
            debt += self.plan.profile.rate * tick
            want = min(int(debt), total - self.made)
            debt -= want
            # the generator draws the same records in the same order whatever the timing: the
            # workload is the seed's, only its interleaving with the faults varies
            self.made += self.org.call(lambda n=want: self.org.generator.burst(n))  # type: ignore[misc]
            while pending and pending[0] <= self.made:
                self._publish_malformed(len(self.malformed) + 1)
                pending.pop(0)
            next_tick += tick
            time.sleep(max(0.0, next_tick - time.monotonic()))
        self.finished_at = time.monotonic()
        self.finished.set()

    def digest(self) -> str:
        """The generator's state after the workload: equal in two runs when they drew the same
        changes (what reproducing a seed's workload means; the faults' timing may differ)."""
        state = self.org.call(lambda: repr(self.org.generator.rng.getstate()))
        return hashlib.sha256(f"{self.made}:{state}".encode()).hexdigest()[:16]

    def _publish_malformed(self, n: int) -> None:
        self.org.admin("publish-raw", malformed_event(n))
        self.malformed.append(f"{MALFORMED}-{n}")


@dataclass
class Canary:
    """Changes made the moment a fault ends, each visible in both tenants' users: the store has
    caught up once every one of them is there.

    Each canary gives a live contact a phone number of its own and the title CEO (which brings it
    into beta's filter); the contacts are spread over the partitions by their keys. What the rules
    let the store skip is not waited for: a contact deleted since (its row may be a tombstone or
    none), and in beta one that left the filter again (a listener that catches up by query reads
    the record as it is now, so its moment as CEO may never reach the worker)."""

    # (tenant, user id) -> (contact id, phone)
    expected: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def make(
        cls, org: ThreadedSfsim, fault: int, rng: random.Random, used: set[str], count: int = 9
    ) -> Canary:
        """`used`: contacts earlier canaries changed, left alone so that no later canary
        overwrites a phone an earlier one still waits for."""
        canary = cls()

        def change() -> None:
            live = [
                r
                for r in org.state.org.records["Contact"].values()
                if not r["IsDeleted"] and r["Id"] not in used
            ]
            for k, contact in enumerate(rng.sample(live, min(count, len(live)))):
                used.add(contact["Id"])
                phone = f"+1 555 {fault:03d} {k:04d}"
                try:
                    org.state.org.update("Contact", contact["Id"], {"Phone": phone, "Title": "CEO"})
                except SfsimError:
                    continue
                canary.expected[("alpha", contact["Email"])] = (contact["Id"], phone)
                canary.expected[("beta", contact["Id"])] = (contact["Id"], phone)

        org.call(change)
        return canary

    def arrived(self, engine: Engine, org: ThreadedSfsim) -> bool:
        return not self.missing(engine, org)

    def missing(self, engine: Engine, org: ThreadedSfsim) -> list[str]:
        """The canaries not in the store yet, with what the store holds for each."""
        try:
            with engine.connect() as db:
                found = db.execute(
                    select(users.c.tenant, users.c.id, users.c.traits, users.c.deleted).where(
                        tuple_(users.c.tenant, users.c.id).in_(list(self.expected))
                    )
                ).all()
        except SQLAlchemyError as e:
            return [f"the database is down: {type(e).__name__}"]
        seen = {
            (t, i): "deleted" if gone else (traits or {}).get("phone")
            for t, i, traits, gone in found
        }
        waiting = {k: v for k, v in self.expected.items() if seen.get(k) not in ("deleted", v[1])}
        excused = org.call(lambda: {k for k, (i, _) in waiting.items() if _excused(org, k[0], i)})
        return [
            f"{k}: store has {seen.get(k)}, canary {v[1]}"
            for k, v in waiting.items()
            if k not in excused
        ]


def _excused(org: ThreadedSfsim, tenant: str, contact_id: str) -> bool:
    record = org.state.org.records["Contact"].get(contact_id)
    if record is None or record["IsDeleted"]:
        return True
    return tenant == "beta" and record.get("Title") not in C_LEVEL["value"]
