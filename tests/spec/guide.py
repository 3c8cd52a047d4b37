"""The sentences the spec table checks, quoted word for word (typos included): `G_` from the
product guide (../shared/spec/salesforce-installation.md), `D_` from the "Rules, made precise"
section of ../shared/DESIGN.md, `I_` from issue 10; and the configs many cases share."""

from __future__ import annotations

from tests.spec.builders import create

G_CREATE_ACCOUNTS = (
    "With this configuration, Gather will create a new Account for every Salesforce Account "
    "using the ID stored in the ID field you provided."
)
G_UPDATE_ACCOUNTS = (
    "With this configuration, Gather will only update existing Accounts that have a "
    "corresponding Salesforce Account."
)
G_ACCOUNT_TRAITS = (
    "The traits synced to a Gather Account from a Salesforce Account by default are: "
    "Name, Phone, Description, Industry, BillingAddress, Website, YearStarted, NumberOfEmployees"
)
G_ACCOUNT_SNAKE = (
    "Traits are automatically converted to snake_case, so `NumberOfEmployees` will become "
    "`number_of_employees`."
)
G_EXTRA = (
    "To sync additional traits in addition to the default traits, select them in the "
    "`Extra traits` dropdown. Traits are converted to snake_case."
)
G_CLOSED_WON = (
    "Enabling this option will only sync accounts that have any opportunity that has a the "
    "status `Closed Won`."
)
G_CREATE_USERS = (
    "With this configuration, Gather will create a new User for every Salesforce Contact "
    "using the ID stored in the ID field you provided."
)
G_LINK = (
    "Gather will automatically inspect the Salesforce relationships to correctly link the User "
    "to its Account."
)
G_UPDATE_USERS = (
    "With this configuration, Gather will only update existing User that have a corresponding "
    "Salesforce Contact."
)
G_USER_TRAITS = (
    "The traits synced to a Gather User from a Salesforce Contact by default are: "
    "Id, FirstName, LastName, Email, Phone"
)
G_USER_SNAKE = (
    "Traits are automatically converted to snake_case, so `FirstName` will become `first_name`."
)
G_FILTER_CONTACTS = "Gather will no only sync a Contact if the conditions match."
G_CUSTOM = (
    "In addition to Accounts and Users, Gather can be configured to sync any of the other "
    "objects in Salesforce to a dedicated model in Gather. All that's required is to choose the "
    "Salesforce Object to sync along with which field should be used as its ID."
)
G_MODEL = (
    "Choose a name for the model that the object records will be synced to - Gather will create "
    "this model for you after you save the configuration"
)
G_CUSTOM_FILTER = (
    "Optional: In the same as you can for Accounts and Contacts, you can optionally only sync "
    "records in the object that match one or more conditions"
)
D_EMPTY_ID = (
    "DESIGN: Accounts, create mode: the Gather account id is the value of the chosen Salesforce "
    "field; a record with that field empty is skipped and counted, not an error."
)
D_UPDATE = (
    "DESIGN: Accounts, update-existing mode: update the Gather account whose chosen trait equals "
    "the Salesforce Account Id; create nothing."
)
D_CUSTOM_FIELDS = "DESIGN: all snake_case ... Document and test the rule for custom fields."
D_CLOSED_WON = (
    "DESIGN: An Opportunity change that flips this (won, reopened, lost, deleted, moved to "
    "another account) re-evaluates the account at once."
)
D_STOP = (
    "DESIGN: A record that stops matching is no longer updated (not deleted); one that starts "
    "matching is synced in full."
)
D_LINK = (
    "DESIGN: each user is linked to the Gather account of its `AccountId`, whichever arrives first."
)
D_DELETE = (
    "DESIGN: A Salesforce delete marks the Gather entity deleted; an undelete clears the mark."
)
D_CONFIG = (
    "DESIGN: A config change (extra trait, filter, mode) re-evaluates the tenant's records from "
    "state, without re-reading Salesforce."
)
D_MODEL = "DESIGN: the model exists in the store once the config is saved."
I_ID_CHANGED = (
    "ISSUE 10: In create-new mode, when a record's id field value changes, the row under the old "
    "id is marked deleted (reason `id_changed`), not left live beside the new one"
)
I_EMPTY_ID = "ISSUE 10: a record whose id field is empty is skipped and counted."

BY_ID = create("Id")
ACME = {"name": "Acme"}
