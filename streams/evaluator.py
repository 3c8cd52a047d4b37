"""The worker's logic without its transport: changes and configs in, Gather upserts out.

The tables are injected mappings (plain dicts in tests; Faust tables in the worker):
`records` holds each record's merged state, `deals` each account's opportunities with whether
each is won, `configs` the tenants' configs. An Opportunity change that flips its account's
closed-won status (won, reopened, lost, deleted, moved to another account) re-evaluates the
account at once; a config change re-evaluates the tenant's records from state, without reading
Salesforce again.

In the Faust worker, `deals` is keyed like the account (`tenant:Account:Id`): opportunity
changes are repartitioned by their AccountId so the deal set lives with the account's state.

Filters compare values by the field's describe type, which `types` gives per tenant and object
(empty while unknown: a filtered record then waits, skipped as `types_unknown`, and is
re-evaluated when the types arrive). Every skip is reported to `on_skip` with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass

from schemas.changes import SalesforceChange
from schemas.contract import change_key, owned_by
from schemas.gather import GatherUpsert
from schemas.tenant import TenantConfig
from streams.merge import RecordState, apply
from streams.rules.entities import Skip, id_moves, outcome

# (tenant, object) -> {field: describe type}; empty while the object's describe is not known
TypesOf = Callable[[str, str], Mapping[str, str]]
OnSkip = Callable[[str, str, str], None]  # (tenant, object, reason)


def _uncounted(_tenant: str, _obj: str, _reason: str) -> None:
    return None


def account_key(tenant: str, account_id: str) -> str:
    return change_key(tenant, "Account", account_id)


@dataclass
class Evaluator:
    records: MutableMapping[str, RecordState]
    deals: MutableMapping[str, dict[str, bool]]  # account key -> {opportunity id: won}
    configs: Mapping[str, TenantConfig]
    types: TypesOf
    on_skip: OnSkip = _uncounted

    def on_change(self, change: SalesforceChange) -> list[GatherUpsert]:
        """One process holding every table: deal moves are applied here at once."""
        observed = self.observe(change)
        self.keep(observed)
        return observed.upserts + [u for move in observed.moves for u in self.on_deal(move)]

    def observe(self, change: SalesforceChange) -> Observed:
        """What the change decides, with the tables only read: the record's merged state, its
        upserts, and deal moves for the accounts' partitions. The worker keeps the state only
        after those messages are delivered, so a change delivered again decides them again."""
        before = self.records.get(change.key)
        state = apply(before, change)
        # deals are tracked even before the tenant's config is known: closed-won needs them; an
        # Opportunity may also be synced itself, as a custom object
        moves = deal_moves(change.tenant, before, state) if change.object == "Opportunity" else []
        config = self.configs.get(change.tenant)
        if config is None:
            self.on_skip(change.tenant, change.object, "tenant_not_configured")
            return Observed(change.key, state, [], moves)
        upserts = id_moves(config, before, state) + self._evaluate(config, state)
        return Observed(change.key, state, upserts, moves)

    def keep(self, observed: Observed) -> None:
        self.records[observed.key] = observed.state

    def on_deal(self, move: DealMove) -> list[GatherUpsert]:
        """Record one deal of an account; re-evaluate the account when its closed-won flips."""
        outcome = self.decide_deal(move)
        self.keep_deal(outcome)
        return outcome.upserts

    def decide_deal(self, move: DealMove) -> DealOutcome:
        """The account's deals with this move, and its upserts if its closed-won flips (the
        tables only read, as in `observe`)."""
        config = self.configs.get(move.tenant)
        deals = dict(self.deals.get(move.account_key, {}))
        was = any(deals.values())
        if move.won is None:
            deals.pop(move.deal, None)
        else:
            deals[move.deal] = move.won
        won = any(deals.values())
        state = self.records.get(move.account_key)
        if config is None or was == won or state is None:
            return DealOutcome(move.account_key, deals, [])
        return DealOutcome(move.account_key, deals, self._evaluate(config, state, won))

    def keep_deal(self, outcome: DealOutcome) -> None:
        self.deals[outcome.account_key] = outcome.deals

    def on_config(self, config: TenantConfig) -> list[GatherUpsert]:
        """Everything this tenant's state says under its new config (or new types)."""
        # keys first: the worker's table decodes a state only when it is read
        return self.reevaluate(
            config, [k for k in list(self.records) if owned_by(k, config.tenant)]
        )

    def reevaluate(self, config: TenantConfig, keys: Iterable[str]) -> list[GatherUpsert]:
        """What the tenant's rules say now for these records of its own."""
        return [u for k in keys for u in self._evaluate(config, self.records[k])]

    # --- rules ---------------------------------------------------------------------------------

    def _evaluate(
        self, config: TenantConfig, state: RecordState, won: bool | None = None
    ) -> list[GatherUpsert]:
        """The record's upserts under the config; an account's closed-won from the deals table
        unless `won` says it (a deal move not kept yet)."""

        def closed_won() -> bool:
            if won is not None:
                return won
            return any(self.deals.get(account_key(config.tenant, state.record_id), {}).values())

        found = outcome(config, state, self.types(config.tenant, state.object), closed_won)
        if isinstance(found, Skip):
            self.on_skip(config.tenant, state.object, found.reason)
            return [found.revive] if found.revive is not None else []
        return [found] if found is not None else []


@dataclass(frozen=True)
class Observed:
    """What one change decided: the record's new state (under `key`), upserts and deal moves."""

    key: str
    state: RecordState
    upserts: list[GatherUpsert]
    moves: list[DealMove]


@dataclass(frozen=True)
class DealOutcome:
    """An account's deals after one move, and the account's upserts when closed-won flipped."""

    account_key: str
    deals: dict[str, bool]
    upserts: list[GatherUpsert]


@dataclass(frozen=True)
class DealMove:
    """One opportunity's standing at one account: won, not won, or gone from it (None)."""

    tenant: str
    account_key: str
    deal: str
    won: bool | None

    def encode(self) -> bytes:
        return json.dumps([self.tenant, self.account_key, self.deal, self.won]).encode()

    @classmethod
    def decode(cls, value: bytes) -> DealMove:
        tenant, key, deal, won = json.loads(value)
        return cls(tenant, key, deal, won)


def deal_moves(tenant: str, before: RecordState | None, state: RecordState) -> list[DealMove]:
    """An opportunity leaving an account, and its standing at its (new) account."""
    old, new = _account_of(before), _account_of(state)
    moves = []
    if old and old != new:
        moves.append(DealMove(tenant, account_key(tenant, old), state.record_id, None))
    if new:
        won_field = state.fields.get("IsWon")
        won = bool(won_field and won_field.value) and not state.is_deleted
        moves.append(DealMove(tenant, account_key(tenant, new), state.record_id, won))
    return moves


def _account_of(state: RecordState | None) -> str | None:
    if state is None or "AccountId" not in state.fields:
        return None
    value = state.fields["AccountId"].value
    return str(value) if value else None
