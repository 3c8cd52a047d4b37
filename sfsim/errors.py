"""The exceptions of sfsim, each carrying the Salesforce error code a client would see.

REST error bodies are `[{"message": ..., "errorCode": ...}]`:
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
"""

from __future__ import annotations


class SfsimError(Exception):
    """Root of sfsim's errors; `error_code` and `status` say how the HTTP layer answers."""

    error_code = "UNKNOWN_EXCEPTION"
    status = 500

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    def body(self) -> list[dict[str, object]]:
        entry: dict[str, object] = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            entry["fields"] = self.fields
        return [entry]


class NotFound(SfsimError):
    error_code = "NOT_FOUND"
    status = 404


class EntityIsDeleted(SfsimError):
    error_code = "ENTITY_IS_DELETED"
    status = 404


class InvalidField(SfsimError):
    error_code = "INVALID_FIELD"
    status = 400


class InvalidFieldForInsertUpdate(SfsimError):
    error_code = "INVALID_FIELD_FOR_INSERT_UPDATE"
    status = 400


class RequiredFieldMissing(SfsimError):
    error_code = "REQUIRED_FIELD_MISSING"
    status = 400


class InvalidType(SfsimError):
    error_code = "NOT_FOUND"
    status = 404


class MalformedId(SfsimError):
    error_code = "MALFORMED_ID"
    status = 400


class InvalidValue(SfsimError):
    error_code = "INVALID_TYPE_ON_FIELD_IN_RECORD"
    status = 400


class UndeleteFailed(SfsimError):
    error_code = "UNDELETE_FAILED"
    status = 400


class DuplicateDeveloperName(SfsimError):
    """Setup refuses a new field whose API name the object already has."""

    error_code = "DUPLICATE_DEVELOPER_NAME"
    status = 400


class SchemaFileError(SfsimError):
    """A custom-object schema is wrong: a file at start-up, or a field the admin API adds (400)."""

    status = 400
