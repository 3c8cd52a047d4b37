"""Seeded, realistic org data and live change traffic.

`seed_org` builds accounts with their contacts and opportunities in various stages (and records
of every custom object); `burst` makes N changes of the kinds a sales team makes (edits,
new contacts, contacts moving between accounts, deals won, lost and reopened, deletes and
undeletes). Same seed, same org: tests and benchmarks are repeatable.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sfsim import errors
from sfsim.metadata import INDUSTRIES, STAGES, FieldDef, ObjectDef
from sfsim.org import Org

WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Pied",
    "Piper",
    "Monarch",
    "Oscorp",
    "Nakatomi",
    "Aperture",
)
SUFFIXES = ("Corp", "Inc", "Ltd", "Group", "Labs", "Systems", "Partners", "Holdings")
FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Shafi",
    "Donald",
    "Katherine",
    "John",
    "Hedy",
    "Claude",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Goldwasser",
    "Knuth",
    "Johnson",
    "Backus",
)
CITIES = (
    ("Paris", "FR"),
    ("Berlin", "DE"),
    ("Austin", "US"),
    ("Toronto", "CA"),
    ("Lisbon", "PT"),
    ("Osaka", "JP"),
    ("Nairobi", "KE"),
    ("Denver", "US"),
)
OPEN_STAGES = [s for s, (closed, _) in STAGES.items() if not closed]


class Generator:
    def __init__(self, org: Org, seed: int = 7) -> None:
        self.org = org
        self.rng = random.Random(seed)

    # --- seed data -----------------------------------------------------------------------------

    def seed_org(self, accounts: int) -> dict[str, int]:
        for _ in range(accounts):
            with self.org.transaction():
                account = self.org.create("Account", self._account_values())
                for _ in range(self.rng.randint(0, 4)):
                    self.org.create("Contact", self._contact_values(account))
                for _ in range(self.rng.randint(0, 3)):
                    self.org.create("Opportunity", self._opportunity_values(account))
        for obj in self._custom_objects():
            for _ in range(max(1, accounts // 2)):
                self.org.create(obj.name, self._custom_values(obj))
        return {name: len(rows) for name, rows in self.org.records.items()}

    def _account_values(self) -> dict[str, Any]:
        name = f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)} {self.rng.choice(SUFFIXES)}"
        city, country = self.rng.choice(CITIES)
        since = self.rng.randint(2005, 2025)
        return {
            "Name": name,
            "Industry": self.rng.choice(INDUSTRIES),
            "BillingCity": city,
            "BillingCountry": country,
            "BillingStreet": f"{self.rng.randint(1, 999)} Main St",
            "BillingPostalCode": f"{self.rng.randint(10000, 99999)}",
            "Phone": self._phone(),
            "Website": f"https://www.{name.split()[0].lower()}{self.rng.randint(1, 99)}.example",
            "NumberOfEmployees": self.rng.choice((5, 12, 40, 250, 1200, 8000)),
            "YearStarted": str(self.rng.randint(1950, 2024)),
            "AnnualRevenue": self.rng.randint(1, 500) * 100_000,
            "Description": f"{self.rng.choice(INDUSTRIES)} customer since {since}",
        }

    def _contact_values(self, account_id: str | None) -> dict[str, Any]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        return {
            "FirstName": first,
            "LastName": last,
            "AccountId": account_id,
            "Email": f"{first.lower()}.{last.lower()}{self.rng.randint(1, 9999)}@example.com",
            "Phone": self._phone(),
            "Title": self.rng.choice(("CEO", "CTO", "VP Sales", "Buyer")),
        }

    def _opportunity_values(self, account_id: str) -> dict[str, Any]:
        close = self.org.clock.now().date() + timedelta(days=self.rng.randint(-90, 180))
        return {
            "Name": f"Deal {self.rng.randint(1000, 9999)}",
            "AccountId": account_id,
            "StageName": self.rng.choice(list(STAGES)),
            "CloseDate": close.isoformat(),
            "Amount": self.rng.randint(1, 200) * 1000,
        }

    def _phone(self) -> str:
        return f"+1 555 {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}"

    def _custom_objects(self) -> list[ObjectDef]:
        return [o for o in self.org.schema.objects.values() if o.custom]

    def _custom_values(self, obj: ObjectDef) -> dict[str, Any]:
        values: dict[str, Any] = {"Name": f"{obj.label} {self.rng.randint(1, 10**6)}"}
        for f in obj.fields.values():
            if f.custom:
                values[f.name] = self._value_for(f)
        return values

    def _value_for(self, f: FieldDef) -> Any:
        kinds: dict[str, Callable[[], Any]] = {
            "int": lambda: self.rng.randint(0, 1000),
            "boolean": lambda: self.rng.random() < 0.5,
            "double": lambda: round(self.rng.uniform(0, 1000), 2),
            "currency": lambda: round(self.rng.uniform(0, 10**5), 2),
            "percent": lambda: self.rng.randint(0, 100),
            "date": lambda: (
                self.org.clock.now().date() - timedelta(days=self.rng.randint(0, 900))
            ).isoformat(),
            "picklist": lambda: self.rng.choice(f.picklist_values) if f.picklist_values else "A",
            "reference": lambda: self._any_id(f.reference_to[0]) if f.reference_to else None,
        }
        return kinds.get(f.type, lambda: f"{self.rng.choice(WORDS)}-{self.rng.randint(1, 9999)}")()

    def _any_id(self, obj_name: str) -> str | None:
        ids = [r["Id"] for r in self.org.rows(obj_name)]
        return self.rng.choice(ids) if ids else None

    # --- live traffic --------------------------------------------------------------------------

    def burst(self, changes: int) -> int:
        made = 0
        for _ in range(changes):
            try:
                self.rng.choice(self._actions())()
                made += 1
            except (errors.SfsimError, IndexError):
                continue  # the picked record was gone (deleted meanwhile): pick again next time
        return made

    def _actions(self) -> list[Callable[[], None]]:
        return [
            self._edit_account,
            self._edit_account,
            self._new_contact,
            self._move_contact,
            self._edit_contact,
            self._advance_deal,
            self._advance_deal,
            self._new_account,
            self._delete_or_undelete,
        ]

    def _pick(self, obj: str, deleted: bool = False) -> dict[str, Any]:
        rows = [r for r in self.org.records[obj].values() if r["IsDeleted"] == deleted]
        return self.rng.choice(rows)

    def _edit_account(self) -> None:
        account = self._pick("Account")
        field, value = self.rng.choice(
            [
                ("Phone", self._phone()),
                ("Industry", self.rng.choice(INDUSTRIES)),
                ("NumberOfEmployees", self.rng.randint(1, 10_000)),
                ("BillingCity", self.rng.choice(CITIES)[0]),
                ("Website", None),
            ]
        )
        self.org.update("Account", account["Id"], {field: value})

    def _new_account(self) -> None:
        self.org.create("Account", self._account_values())

    def _new_contact(self) -> None:
        self.org.create("Contact", self._contact_values(self._pick("Account")["Id"]))

    def _move_contact(self) -> None:
        self.org.update(
            "Contact", self._pick("Contact")["Id"], {"AccountId": self._pick("Account")["Id"]}
        )

    def _edit_contact(self) -> None:
        contact = self._pick("Contact")
        self.org.update(
            "Contact",
            contact["Id"],
            {"Title": self.rng.choice(("CEO", "CFO", "Buyer", "Engineer"))},
        )

    def _advance_deal(self) -> None:
        deal = self._pick("Opportunity")
        stage = self.rng.choice([*OPEN_STAGES, "Closed Won", "Closed Won", "Closed Lost"])
        self.org.update("Opportunity", deal["Id"], {"StageName": stage})

    def _delete_or_undelete(self) -> None:
        obj = self.rng.choice(("Account", "Contact", "Opportunity"))
        deleted = [r for r in self.org.records[obj].values() if r["IsDeleted"]]
        if deleted and self.rng.random() < 0.5:
            self.org.undelete(obj, self.rng.choice(deleted)["Id"])
        else:
            self.org.delete(obj, self._pick(obj)["Id"])

    async def run(
        self,
        rate: float,
        stop: asyncio.Event,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> int:
        """About `rate` changes a second until `stop` is set; returns how many were made. Paced
        by the clock: each tick makes what is owed by now (a tick's burst takes time too; slept
        a whole tick after each burst, 1,000 a second asked made 657)."""
        made, tick, start = 0, 0.1, clock()
        while not stop.is_set():
            owed = int((clock() - start) * rate) - made
            if owed > 0:
                made += self.burst(min(owed, max(1, int(rate))))  # at most a second's worth
            await sleep(tick)
        return made
