"""The spec table: the product guide's rules as cases, each citing the sentence it checks.

`guide` quotes ../shared/spec/salesforce-installation.md word for word (typos included);
"DESIGN:" quotes the "Rules, made precise" section of ../shared/DESIGN.md and "ISSUE 10:" the
issue that made a rule precise. Expected rows are written by hand. Record ids: `acc(1)` is
Account 1, `con(2)` Contact 2, `opp(3)` Opportunity 3, `inv(4)` Invoice__c 4. The filter cases
(every operator on every field type) are in `tests/spec/filter_cases.py`; the quoted sentences
in `tests/spec/guide.py`; the others in `cases_accounts.py`, `cases_lifecycle.py` and
`cases_contacts.py`.
"""

from __future__ import annotations

from tests.spec.builders import Case
from tests.spec.cases_accounts import ACCOUNT_MODES, ACCOUNT_TRAITS, CLOSED_WON_CASES
from tests.spec.cases_contacts import CONTACTS, CUSTOM_OBJECTS, LINKS
from tests.spec.cases_lifecycle import DELETES, ID_CHANGES, OVER_TIME
from tests.spec.filter_cases import FILTER_CASES

CASES: list[Case] = [
    *ACCOUNT_MODES,
    *ACCOUNT_TRAITS,
    *CLOSED_WON_CASES,
    *FILTER_CASES,
    *OVER_TIME,
    *DELETES,
    *ID_CHANGES,
    *CONTACTS,
    *LINKS,
    *CUSTOM_OBJECTS,
]
