"""Secret references (`{env: NAME}` or `{file: PATH}`) resolved to `SecretStr`, never logged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import SecretStr

from connectors.salesforce.errors import SecretUnavailable
from schemas.tenant import SecretRef


def _read_file(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def resolve(
    ref: SecretRef, environ: Mapping[str, str], read_file: Callable[[str], str] = _read_file
) -> SecretStr:
    """The secret's value; the error names where it was looked for, never what it holds."""
    if ref.env is not None:
        value = environ.get(ref.env)
        if not value:
            raise SecretUnavailable(f"environment variable {ref.env} is not set")
        return SecretStr(value)
    assert ref.file is not None
    try:
        return SecretStr(read_file(ref.file))
    except OSError as e:
        raise SecretUnavailable(f"cannot read secret file {ref.file}: {e.strerror}") from e
