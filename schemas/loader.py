"""Reading tenant configs from YAML, with errors that name the tenant, the path and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.errors import ConfigError, ConfigIssue
from schemas.tenant import AUTH_FLOWS, TenantConfig

UNKNOWN_TENANT = "?"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a config with both is refused instead."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_tenant_configs(path: Path) -> list[TenantConfig]:
    """Every tenant in a YAML file (one document per tenant, separated by `---`)."""
    return parse_tenant_configs(path.read_text(encoding="utf-8"), source=str(path))


def parse_tenant_configs(text: str, source: str = "<config>") -> list[TenantConfig]:
    documents = _parse_yaml(text, source)
    configs, issues = [], []
    for document in documents:
        try:
            configs.append(validate_tenant_config(document))
        except ConfigError as e:
            issues += e.issues
    if issues:
        raise ConfigError(source, issues)
    return configs


def validate_tenant_config(document: Any, source: str = "<config>") -> TenantConfig:
    tenant = _tenant_name(document)
    if not isinstance(document, dict):
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    tenant,
                    "(top level)",
                    "a tenant config is a mapping of keys like 'tenant:' and 'salesforce:'",
                )
            ],
        )
    try:
        return TenantConfig.model_validate(document)
    except ValidationError as e:
        raise ConfigError(source, [_issue(tenant, err) for err in e.errors()]) from e


def _parse_yaml(text: str, source: str) -> list[Any]:
    try:
        documents = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown place)"
        reason = " ".join(filter(None, [e.context, e.problem]))
        raise ConfigError(
            source, [ConfigIssue(UNKNOWN_TENANT, where, f"not valid YAML: {reason}")]
        ) from e
    if not documents:
        raise ConfigError(source, [ConfigIssue(UNKNOWN_TENANT, "(file)", "no tenant config in it")])
    return documents


def _tenant_name(document: Any) -> str:
    if isinstance(document, dict) and isinstance(document.get("tenant"), str):
        return str(document["tenant"])
    return UNKNOWN_TENANT


def _issue(tenant: str, error: ErrorDetails) -> ConfigIssue:
    unknown = error["type"] == "extra_forbidden"
    message = _unknown_key(error["loc"]) if unknown else _message(error)
    return ConfigIssue(tenant, _format_path(_clean_loc(error["loc"])), message)


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key, model = str(loc[-1]), _model_at(loc[:-1])
    if model is None:
        return f"unknown key '{key}'"
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ";"
    return f"unknown key '{key}'{hint} allowed here: {', '.join(allowed)}"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model class found by following a pydantic error location from the top."""
    model: type[BaseModel] | None = TenantConfig
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if part in AUTH_FLOWS:
            model = AUTH_FLOWS[part]
        elif part in model.model_fields:
            model = _single_model(model.model_fields[part].annotation)
        else:
            return None
    return model


def _single_model(annotation: Any) -> type[BaseModel] | None:
    """The one model inside `X | None`, `list[X]` or `Annotated[X, ...]`, if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = {m for arg in get_args(annotation) if (m := _single_model(arg)) is not None}
    return found.pop() if len(found) == 1 else None


def _clean_loc(loc: Iterable[int | str]) -> tuple[int | str, ...]:
    # A discriminated union puts the chosen tag into the location (auth.jwt_bearer.username);
    # the user wrote auth.username, so the tag goes.
    return tuple(part for part in loc if part not in AUTH_FLOWS)


def _format_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _message(error: ErrorDetails) -> str:
    kind, ctx, given = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        return "is required"
    if kind in ("literal_error", "enum"):
        return f"{given!r} is not allowed; use {ctx['expected']}"
    if kind == "union_tag_invalid":
        return f"unknown flow {ctx['tag']!r}; use {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        return f"'flow' is required; use one of {', '.join(sorted(AUTH_FLOWS))}"
    if kind == "string_pattern_mismatch":
        return f"{given!r} does not match the pattern {ctx['pattern']}"
    msg = error["msg"]
    return (
        msg.removeprefix("Value error, ")
        if kind == "value_error"
        else f"{msg} (got {given!r})"
        if kind.endswith(("_type", "_parsing", "too_short"))
        else msg
    )
