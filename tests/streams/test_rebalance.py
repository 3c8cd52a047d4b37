"""Partitions moving between two workers while changes for the same records keep arriving.

Two Faust workers (one group, a data directory each) run on a topic prefix of their own while two
tenants' Accounts, Contacts and Opportunities change round after round: the fields their filters
and traits read flip back and forth, deals are won, lost and moved between accounts, records are
deleted and undeleted, contacts move between accounts, and a contact's id field (Email, in create
mode) changes. Meanwhile (TIMELINE), with tables in RocksDB as the chart deploys them: worker B
joins (partitions move) as one tenant's config widens its filters and adds traits; A stops
(SIGTERM: its partitions move to B); A starts again and B is killed (kill -9) in the middle of a
burst, just after the group committed offsets into it; B comes back on its data directory and
the config widens again as it joins; A is killed in a burst and started again, as an autoscaler
and node failures would.

At the end, with the group quiet:
- every record's state in the `records` changelog holds the values last published for it, and
  every account's entry in the `deals` changelog the opportunities last published at it;
- the upserts of the Gather topics, written by the real store, equal the reference's rows
  (tests/spec/reference.py, no product code) for the whole history, in the order it was published.

The history is made so that its outcome does not depend on how a correct worker interleaves its
topics (a config on `gather.tenants`, a deal move on `sf.deals`, changes on `sf.changes`): a
record that ends matching its rules ends with its last traits whatever the timing, and every other
record (ending filtered out, not closed won, without an id, or deleted) is written matching once
more after the traffic and, once the group is quiet, given its end. So a difference is a loss.
`REBALANCE_SEED=n` replays a history (the timing is the machine's).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from connectors.gather.engine import make_engine
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.contract import Topics, change_key, tenant_of
from schemas.describe import ObjectSchema
from schemas.gather import GatherUpsert
from schemas.versions import Version
from tests.spec.builders import TYPES, acc, any_of, con, create, opp, tenant, where
from tests.spec.compare import differences
from tests.spec.product import NOW, migrated, read_store
from tests.spec.reference import Step, expected
from tests.support.topics import read_all
from tests.support.worker import WorkerProcess, provision, quiet

SEED = int(os.environ.get("REBALANCE_SEED") or random.SystemRandom().randrange(2**31))
ACCOUNTS, CONTACTS, DEALS = 16, 16, 12  # per tenant
FIRST_COMMIT = 1_767_225_600_000  # each write commits one millisecond after the one before
TRAFFIC = 36.0  # seconds of changes; the workers move at these seconds into it:
TIMELINE = [
    (2.0, "start B"),
    (2.0, "config"),  # as B joins: partitions have just moved to it
    (9.0, "stop A"),  # SIGTERM: A's partitions move to B
    (14.0, "start A"),
    (15.0, "burst, kill B"),  # a node failure while a burst of changes is processed
    (17.0, "start B"),  # restarted on its data directory, as a StatefulSet's pod
    (17.0, "config"),  # as B joins again
    (25.0, "burst, kill A"),
    (27.0, "start A"),
]
PAUSE = 0.1  # between rounds

# tenant one's configs in turn, each letting more in and adding traits: (tiers, departments its
# filters let in, account extra traits, contact extra traits)
ONE_CONFIGS = [
    (["Gold", "Silver"], ["Sales"], ["Tier__c"], ["Title"]),
    (
        ["Gold", "Silver", "Bronze"],
        ["Sales", "Support"],
        ["Tier__c", "Rating"],
        ["Title", "Department"],
    ),
    (
        ["Gold", "Silver", "Bronze", "Platinum"],
        ["Sales", "Support", "Marketing"],
        ["Tier__c", "Rating", "AnnualRevenue"],
        ["Title", "Department"],
    ),
]
TIERS, DEPARTMENTS = ONE_CONFIGS[-1][0], ONE_CONFIGS[-1][1]  # what the last config lets in
POOLS: dict[str, dict[str, list[Any]]] = {
    "Account": {
        "Name": ["Acme", "Globex", "Initech", "Umbrella"],
        "Phone": ["555-0100", "555-0101", None],
        "Industry": ["Energy", "Retail", "Banking"],
        "BillingCity": ["Paris", "Oslo", "Lima", None],
        "BillingCountry": ["FR", "NO", "PE", None],
        "Website": ["a.example", "b.example", None],
        "NumberOfEmployees": [10, 50, 200, None],
        "Tier__c": ["Gold", "Silver", "Bronze", "Platinum", None],
        "Rating": ["Hot", "Warm", "Cold", None],
        "AnnualRevenue": [100000, 2500000, None],
    },
    "Contact": {
        "FirstName": ["Ada", "Grace", "Alan"],
        "Phone": ["555-0200", "555-0201", None],
        "Title": ["CEO", "CTO", "VP", None],
        "Department": ["Sales", "Support", "Marketing", None],
    },
    "Opportunity": {
        "StageName": ["Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost"],
        "Amount": [1000, 5000, None],
    },
}
# a field written anew by every write, so a lost last write always shows
UNIQUE = {"Account": "Description", "Contact": "LastName", "Opportunity": "Name"}
Name = tuple[str, str, str]  # (tenant, object, Id)
Writes = list[tuple[Name, dict[str, Any]]]  # each record's full state after the write
Ending = Callable[[], Writes]


def one_config(name: str, stage: int) -> dict[str, Any]:
    """Tenant one: filtered accounts and contacts (ONE_CONFIGS[stage])."""
    tiers, departments, account_traits, contact_traits = ONE_CONFIGS[stage]
    return tenant(
        accounts=create(
            "Id", filter=any_of(where("Tier__c", "in", tiers)), extra_traits=account_traits
        ),
        contacts=create(
            "Id",
            filter=any_of(where("Department", "in", departments)),
            extra_traits=contact_traits,
        ),
    ) | {"tenant": name}


def two_config(name: str) -> dict[str, Any]:
    """Tenant two: closed-won accounts; contacts created under their Email, which changes."""
    return tenant(
        accounts=create("Id", closed_won_only=True, extra_traits=["Tier__c"]),
        contacts=create("Email", extra_traits=["Title"]),
    ) | {"tenant": name}


# --- the org's history ---------------------------------------------------------------------------


@dataclass
class Org:
    """Both tenants' records as last published, and every write and config in publish order."""

    rng: random.Random
    one: str
    two: str
    records: dict[Name, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[str, Step]] = field(default_factory=list)  # (tenant, step)
    emails: dict[Name, int] = field(default_factory=dict)
    writes: int = 0

    def write(self, name: Name, record: dict[str, Any]) -> SalesforceChange:
        before = self.records.get(name)
        self.records[name], self.writes = record, self.writes + 1
        self.history.append((name[0], Step({name[1]: [record]})))
        common = {
            "tenant": name[0],
            "object": name[1],
            "record_id": name[2],
            "version": Version(commit_ts=FIRST_COMMIT + self.writes),
        }
        if record["IsDeleted"]:
            assert before is not None and not before["IsDeleted"]
            return SalesforceChange(**common, change_type=ChangeType.DELETE)
        fields = {k: v for k, v in record.items() if k not in ("Id", "IsDeleted")}
        return SalesforceChange(
            **common, change_type=ChangeType.SNAPSHOT, fields=fields, source=ChangeSource.BACKFILL
        )

    def config(self, document: dict[str, Any]) -> None:
        self.history.append((str(document["tenant"]), Step({}, document)))

    def steps(self, tenant_name: str) -> list[Step]:
        return [s for t, s in self.history if t == tenant_name]

    # --- records -----------------------------------------------------------------------------

    def accounts(self, tenant_name: str) -> list[str]:
        return [acc(n) for n in range(1, ACCOUNTS + 1)]

    def fresh(self, name: Name, changed: int) -> dict[str, Any]:
        """The record alive, `changed` of its fields drawn again, its unique field new."""
        tenant_name, obj, record_id = name
        record = dict(self.records.get(name) or {"Id": record_id})
        pools = POOLS[obj]
        for key in self.rng.sample(sorted(pools), k=min(changed, len(pools))):
            record[key] = self.rng.choice(pools[key])
        record |= {"IsDeleted": False, UNIQUE[obj]: f"{record_id[-6:-3]}-w{self.writes}"}
        if obj == "Opportunity":
            record["IsWon"] = record["StageName"] == "Closed Won"
        moves = obj in ("Contact", "Opportunity") and self.rng.random() < 0.3
        if moves or (obj != "Account" and "AccountId" not in record):
            record["AccountId"] = self.rng.choice(self.accounts(tenant_name))  # moves
        if obj == "Opportunity" and self.rng.random() < 0.05:
            record["AccountId"] = None
        if obj == "Contact":
            record["Email"] = self.email(name, record.get("Email"))
        return record

    def email(self, name: Name, now: str | None) -> str | None:
        """Tenant two's contacts are keyed by Email: it changes now and then, rarely to none."""
        if name[0] == self.one:
            return f"{name[2][-6:-3]}@one.example"
        if now is not None and self.rng.random() > 0.15:
            return now
        if now is not None and self.rng.random() < 0.3:
            return None
        self.emails[name] = self.emails.get(name, 0) + 1
        return f"{name[2][-6:-3]}.{self.emails[name]}@two.example"

    def first(self) -> Writes:
        """Every record, alive; tenant two's first DEALS accounts each win a deal."""
        made = []
        for t in (self.one, self.two):
            for n in range(1, ACCOUNTS + 1):
                made.append(((t, "Account", acc(n)), self.fresh((t, "Account", acc(n)), 9)))
            for n in range(1, CONTACTS + 1):
                made.append(((t, "Contact", con(n)), self.fresh((t, "Contact", con(n)), 4)))
            for n in range(1, DEALS + 1):
                record = self.fresh((t, "Opportunity", opp(n)), 2)
                if t == self.two:
                    record |= {"AccountId": acc(n), "StageName": "Closed Won", "IsWon": True}
                made.append(((t, "Opportunity", opp(n)), record))
        return made

    def churn(self, many: int | None = None) -> Writes:
        """One round: a few records (or `many`) each changed, deleted or undeleted."""
        made = []
        for name in self.rng.sample(sorted(self.records), k=many or self.rng.randint(4, 9)):
            now = self.records[name]
            if now["IsDeleted"]:
                if self.rng.random() < 0.6:
                    made.append((name, self.fresh(name, self.rng.randint(0, 2))))
            elif self.rng.random() < 0.07:
                made.append((name, now | {"IsDeleted": True}))
            else:
                made.append((name, self.fresh(name, self.rng.randint(1, 3))))
        return made

    # --- the end -----------------------------------------------------------------------------

    def matching(self, name: Name) -> bool:
        """Whether the record, as it is, is synced by its tenant's final rules."""
        record = self.records[name]
        if record["IsDeleted"]:
            return False
        if name[1] == "Account" and name[0] == self.one:
            return record["Tier__c"] in TIERS
        if name[1] == "Account":
            return self.won(name)
        if name[0] == self.one:
            return record["Department"] in DEPARTMENTS
        return record["Email"] is not None

    def won(self, name: Name) -> bool:
        """Whether an opportunity not deleted is won at the account."""
        return any(
            r["AccountId"] == name[2] and r["IsWon"] and not r["IsDeleted"]
            for (t, o, _), r in self.records.items()
            if (t, o) == (name[0], "Opportunity")
        )

    def settle(self) -> tuple[Writes, list[Ending]]:
        """Every record that does not match now, and a few that do, written matching; then, to
        be published once the group is quiet, each one's end (filtered out, deleted, or as is)."""
        first: Writes = []
        ends: list[Ending] = []
        for name in sorted(n for n in self.records if n[1] != "Opportunity"):
            matched = self.matching(name)
            if matched and self.rng.random() > 0.2:
                continue
            made = self.matched(name)
            first += made
            ends.append(self.end(name, not matched, made[1][0] if len(made) > 1 else None))
        return first, ends

    def matched(self, name: Name) -> Writes:
        record = self.fresh(name, 2)
        if name[1] == "Account" and name[0] == self.one:
            record["Tier__c"] = self.rng.choice(TIERS)
        elif name[1] == "Contact" and name[0] == self.one:
            record["Department"] = self.rng.choice(DEPARTMENTS)
        elif name[1] == "Contact" and record["Email"] is None:
            record["Email"] = self.email(name, None)
        made = [(name, record)]
        if name[1] == "Account" and name[0] == self.two and not self.won(name):
            deal = (self.two, "Opportunity", opp(100 + int(name[2][3:15])))
            won = {"Id": deal[2], "IsDeleted": False, "AccountId": name[2], "Amount": 10}
            made.append((deal, won | {"StageName": "Closed Won", "IsWon": True, "Name": "s"}))
        return made

    def end(self, name: Name, keep: bool, deal: Name | None) -> Ending:
        """What happens to the record last (`deal`: the one won to make an account match): a
        choice made now, its writes made when it runs."""
        closed_won = name[1] == "Account" and name[0] == self.two
        choices = ["deleted"] + (["kept"] if keep else []) + ["unmatched"]
        if closed_won and deal is None:
            choices.remove("unmatched")
        choice = self.rng.choice(choices)

        def run() -> Writes:
            record = self.records[name]
            if choice == "deleted":
                return [(name, record | {"IsDeleted": True})]
            if choice == "kept":
                return []
            if deal is not None:
                lost = {"StageName": "Closed Lost", "IsWon": False}
                return [(deal, self.records[deal] | lost)]
            if name[1] == "Account":
                return [(name, record | {"Tier__c": None})]
            if name[0] == self.one:
                return [(name, record | {"Department": None})]
            return [(name, record | {"Email": None})]

        return run


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Run:
    kafka: KafkaSettings
    topics: Topics
    org: Org
    producer: Producer
    moved: list[str] = field(default_factory=list)
    stage: int = 0  # tenant one's config, in ONE_CONFIGS
    joined: int = 0  # B's assignments logged before its last start
    stopping: threading.Thread | None = None  # a worker shutting down after SIGTERM

    def publish(self, writes: Writes) -> None:
        for name, record in writes:
            change = self.org.write(name, record)
            self.producer.produce(
                self.topics.sf_changes, key=change.key.encode(), value=change.model_dump_json()
            )
        assert self.producer.flush(30) == 0

    def configure(self, document: dict[str, Any]) -> None:
        self.org.config(document)
        value = json.dumps(document).encode()
        self.producer.produce(self.topics.gather_tenants, key=document["tenant"], value=value)
        assert self.producer.flush(30) == 0

    def types(self, tenant_name: str) -> None:
        for obj in ("Account", "Contact", "Opportunity"):
            schema = ObjectSchema(
                tenant=tenant_name, object=obj, fields=dict(TYPES[obj]), read_at=NOW
            )
            self.producer.produce(
                self.topics.sf_schemas, key=schema.key, value=schema.model_dump_json()
            )
        assert self.producer.flush(30) == 0

    def traffic(self, a: WorkerProcess, b: WorkerProcess) -> None:
        """Rounds of changes for TRAFFIC seconds, the workers moving as TIMELINE says."""
        pending, start = list(TIMELINE), time.monotonic()
        while (elapsed := time.monotonic() - start) < TRAFFIC:
            while pending and pending[0][0] <= elapsed and self.ready(pending[0][1], b):
                what = pending.pop(0)[1]
                self.moved.append(f"{elapsed:4.1f}s {what} (after {self.org.writes} writes)")
                self.act(what, a, b)
            self.publish(self.org.churn())
            time.sleep(PAUSE)

    def ready(self, what: str, b: WorkerProcess) -> bool:
        """A config changes as B joins the group (its log shows one more assignment)."""
        return what != "config" or len(assignments(b.log)) > self.joined

    def act(self, what: str, a: WorkerProcess, b: WorkerProcess) -> None:
        workers = {"A": a, "B": b}
        verb, name = what.rsplit(" ", 1) if " " in what else (what, "")
        if what == "config":
            self.stage += 1
            self.configure(one_config(self.org.one, self.stage))
        elif verb == "start":
            if self.stopping is not None:
                self.stopping.join()
            if name == "B" and b.log.exists():
                self.joined = len(assignments(b.log))
            workers[name].start()
        elif verb == "stop":
            self.stopping = threading.Thread(target=workers[name].stop)
            self.stopping.start()
        else:  # a burst, and the worker killed while it works on it
            self.burst_and_kill(workers[name])

    def burst_and_kill(self, worker: WorkerProcess) -> None:
        """Three rounds of every record at once; kill -9 as soon as the group has committed
        offsets into the burst, while the outputs of those events may still be in flight."""
        admin = AdminClient(self.kafka.admin_config())
        before = _committed(admin, worker.group, self.topics.sf_changes)
        for _ in range(3):
            self.publish(self.org.churn(len(self.org.records)))
        deadline = time.monotonic() + 5.0
        while _committed(admin, worker.group, self.topics.sf_changes) == before:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        worker.kill()
        self.moved.append(
            f"      killed {_committed(admin, worker.group, self.topics.sf_changes) - before} changes into a burst of {3 * len(self.org.records)}"
        )


@pytest.fixture
def workers(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    prefix, app = f"rebalance-{uuid.uuid4().hex[:8]}.", f"rebalance-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "6",
        "METRICS_PORT": "0",
        "WORKER_APP_ID": app,
        "WORKER_COMMIT_INTERVAL": "0.3",
        # Faust's own settings (read from the environment): a killed worker's partitions move
        # after 8 s rather than the default 60 s
        "BROKER_SESSION_TIMEOUT": "8",
        "BROKER_HEARTBEAT_INTERVAL": "1",
        "WORKER_STORE": "rocksdb://",  # as the chart deploys it
    }
    provision(env)
    made = tuple(
        WorkerProcess(
            env | {"WORKER_DATADIR": str(tmp_path / name)},
            tmp_path / f"{name}.log",
            Topics(prefix),
            app,
            level="info",
        )
        for name in ("a", "b")
    )
    yield made[0], made[1]
    for running in made:
        if running.running():
            running.stop()


def test_given_two_workers_trading_partitions_while_records_change_then_no_state_or_upsert_is_lost(
    kafka_settings: KafkaSettings,
    workers: tuple[WorkerProcess, WorkerProcess],
    tmp_path: Path,
) -> None:
    a, b = workers
    run_id = uuid.uuid4().hex[:6]
    org = Org(random.Random(SEED), f"one-{run_id}", f"two-{run_id}")
    run = Run(kafka_settings, a.topics, org, Producer(kafka_settings.producer_config()))
    _say(f"\nseed {SEED} (REBALANCE_SEED={SEED} replays this history)")
    for name in (org.one, org.two):
        run.types(name)
    run.configure(one_config(org.one, 0))
    run.configure(two_config(org.two))
    a.start()
    run.publish(org.first())
    assert quiet(kafka_settings, a), "the first worker did not take the first round"

    run.traffic(a, b)
    first, ends = org.settle()
    run.publish(first)
    assert quiet(kafka_settings, a), "the group did not go quiet after the traffic"
    run.publish([w for end in ends for w in end()])
    assert quiet(kafka_settings, a), "the group did not go quiet after the last writes"
    for running in (a, b):
        if running.running():
            running.stop()
    _say("\n".join(run.moved))
    _say(f"{org.writes} writes to {len(org.records)} records")

    worked = {p.log.name: assignments(p.log) for p in (a, b)}
    _say(f"sf.changes partitions assigned, in turn: {worked}")
    assert all(worked.values()), f"a worker never held a partition: {worked}"
    wrong_state = _state_differences(kafka_settings, app_id=a.group, org=org)
    wrong_rows, compared = _store_differences(kafka_settings, a.topics, org, tmp_path)
    _say(f"{compared} rows compared; {len(wrong_rows)} differ; {len(wrong_state)} states differ")
    assert compared > 2 * (ACCOUNTS + CONTACTS)
    assert wrong_state == [] and wrong_rows == [], "\n".join(
        [f"seed {SEED}", *org_moves(run), *wrong_state[:40], *wrong_rows[:40]]
    )


def _committed(admin: AdminClient, group: str, topic: str) -> int:
    """The group's committed offsets on the topic, summed over its partitions."""
    metadata = admin.list_topics(topic, timeout=10).topics[topic]
    request = [
        ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in metadata.partitions])
    ]
    result = admin.list_consumer_group_offsets(request)[group].result(timeout=10)
    return sum(max(tp.offset, 0) for tp in result.topic_partitions)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")  # shown with -s: the seed, what moved, what was compared


def org_moves(run: Run) -> list[str]:
    return ["what moved:", *run.moved]


def assignments(log: Path) -> list[str]:
    """The `sf.changes` partitions of each assignment in a worker's log (Faust logs a table of
    them at info after "Setting newly assigned partitions")."""
    found, table = [], False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("["):
            table = "Setting newly assigned partitions" in line
        elif table and (row := re.match(r"\|\s*\S+\.sf\.changes\s*\|\s*(\{.+\})", line)):
            found.append(row.group(1))
    return found


# --- the checks ----------------------------------------------------------------------------------


def _state_differences(kafka: KafkaSettings, app_id: str, org: Org) -> list[str]:
    """Each record's last state in the `records` changelog against its last published values;
    each account's last entry in the `deals` changelog against the deals last published at it."""
    states = _latest(kafka, f"{app_id}-records-changelog")
    wrong = []
    for (t, obj, record_id), record in sorted(org.records.items()):
        key = change_key(t, obj, record_id)
        want = {
            "deleted": record["IsDeleted"],
            "fields": {k: v for k, v in record.items() if k not in ("Id", "IsDeleted")},
        }
        got = _plain(states.get(key))
        if got != want:
            wrong.append(f"state {key}: expected {want}, got {got}")
    deals = {k: v for k, v in _latest(kafka, f"{app_id}-deals-changelog").items() if v}
    got_deals = {k: json.loads(v) for k, v in deals.items() if json.loads(v)}
    want_deals = _deals(org)
    for key in sorted(set(got_deals) | set(want_deals)):
        if got_deals.get(key) != want_deals.get(key):
            wrong.append(f"deals {key}: expected {want_deals.get(key)}, got {got_deals.get(key)}")
    return wrong


def _plain(raw: bytes | None) -> dict[str, Any] | None:
    """A stored state as values and a deleted mark, read without the product's code: the
    compact form `[1, tenant, object, id, {field: [value, *version]}, [deleted, *version] or
    null, ...]` (streams/state_codec.py), or RecordState's JSON as it was stored before."""
    if not raw:
        return None
    state = json.loads(raw)
    if isinstance(state, list):
        fields, deleted = state[4], state[5]
        return {
            "deleted": bool(deleted and deleted[0]),
            "fields": {k: v[0] for k, v in fields.items()},
        }
    deleted = state.get("deleted")
    return {
        "deleted": bool(deleted and deleted["value"]),
        "fields": {k: v["value"] for k, v in state["fields"].items()},
    }


def _deals(org: Org) -> dict[str, dict[str, bool]]:
    """Account key -> {opportunity: won and not deleted}, over opportunities as last published."""
    found: dict[str, dict[str, bool]] = {}
    for (t, obj, record_id), record in org.records.items():
        if obj == "Opportunity" and record["AccountId"]:
            key = change_key(t, "Account", record["AccountId"])
            found.setdefault(key, {})[record_id] = record["IsWon"] and not record["IsDeleted"]
    return found


def _store_differences(
    kafka: KafkaSettings, topics: Topics, org: Org, tmp_path: Path
) -> tuple[list[str], int]:
    """Each tenant's upserts through the real store (SQLite) against the reference's rows."""
    upserts: dict[str, list[GatherUpsert]] = {}
    for key, value in read_all(kafka, topics.gather_data):
        upserts.setdefault(tenant_of(key), []).append(GatherUpsert.model_validate_json(value))
    empty, wrong, compared = migrated(tmp_path / "empty.db"), [], 0
    for tenant_name in (org.one, org.two):
        engine = make_engine(f"sqlite:///{shutil.copy(empty, tmp_path / f'{tenant_name}.db')}")
        SqlStore.for_engine(engine).apply(upserts.get(tenant_name, []), NOW)
        steps = org.steps(tenant_name)
        want = expected(steps[0].config or {}, TYPES, steps, {}).rows
        wrong += differences(read_store(engine), want)
        compared += len(want)
        engine.dispose()
    return wrong, compared


def _latest(kafka: KafkaSettings, topic: str) -> dict[str, bytes | None]:
    """A table's changelog: the last value per key (Faust writes a str key as JSON)."""
    return {json.loads(key): value for key, value in read_all(kafka, [topic])}
