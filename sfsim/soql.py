"""The subset of SOQL that sfsim answers: parse a query, then run it over in-memory records.

Pure: no I/O, and no clock of its own (`now` is passed in). Supported:

    SELECT f1, f2 | COUNT() FROM Object [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

cond: field op value, with op among = != <> < <= > >= LIKE IN NOT IN; values are 'strings', numbers,
true/false, null, dates, datetimes and the date literals TODAY, YESTERDAY, TOMORROW, THIS_MONTH,
LAST_MONTH, LAST_N_DAYS:n and NEXT_N_DAYS:n; combined with AND, OR, NOT and parentheses.

The grammar follows Salesforce's, as transcribed in the Apex parser
(https://github.com/apex-dev-tools/apex-parser/blob/main/antlr/ApexParser.g4, `logicalExpression`):
AND and OR cannot be mixed at one level without parentheses, and NOT negates one condition, so
`a AND b OR c` and `a AND NOT b` are MALFORMED_QUERY, as in a real org. "Parentheses are required
whenever you mix the operators":
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_logicaloperators.htm

Nulls use two-valued logic (an assumption, not verified against a live org): `= v`, `IN`, `LIKE`
and `< <= > >=` never match a null field, `!= v` and `NOT IN` always do, and NOT is the complement.
A null boolean field counts as false, as the reference says:
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_null.htm

Records are `dict[str, object]` keyed by canonical API field name; `field_types` maps each
canonical name to its describe type, which types every comparison: text is compared without
regard to case, ids exactly (an 18-character id equals its 15-character form), numbers as numbers,
dates ('YYYY-MM-DD') as dates, datetimes ('2026-01-31T10:00:00.000+0000') as instants whatever
their offset. Date literals are day ranges in UTC (a real org uses the user's time zone).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Literal, TypeAlias

ErrorCode: TypeAlias = Literal["MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE"]
Record: TypeAlias = Mapping[str, object]


class SoqlError(Exception):
    """A query Salesforce would refuse; the HTTP layer answers `[{"message", "errorCode"}]`."""

    def __init__(self, message: str, error_code: ErrorCode = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.message = message
        self.error_code: ErrorCode = error_code


# --- the syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """A field name as written, and its offset in the query text (for error messages)."""

    name: str
    pos: int


@dataclass(frozen=True)
class RelativeDate:
    """A date literal such as TODAY or LAST_N_DAYS:7 (`n` only for the `_N_` ones)."""

    name: str
    n: int | None = None


Scalar: TypeAlias = str | int | float | bool | date | datetime | None
Value: TypeAlias = Scalar | RelativeDate
CompareOp: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: CompareOp
    value: Value


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldRef
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = Compare | InList | Like | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool = False
    nulls_first: bool | None = None  # None: as written, no NULLS clause


@dataclass(frozen=True)
class Query:
    soql: str
    object_name: str
    fields: tuple[FieldRef, ...]  # empty for COUNT()
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    is_count: bool
    object_pos: int = 0

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


# --- errors shaped like Salesforce's -----------------------------------------------------------


def _located(soql: str, pos: int, text: str) -> str:
    """The offending line, a caret, 'ERROR at Row:r:Column:c', then the text, as an org says it."""
    start = soql.rfind("\n", 0, pos) + 1
    end = soql.find("\n", pos)
    line = soql[start : len(soql) if end < 0 else end]
    row, col = soql.count("\n", 0, pos) + 1, pos - start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{text}"


def _error(soql: str, pos: int, text: str, code: ErrorCode = "MALFORMED_QUERY") -> SoqlError:
    return SoqlError(_located(soql, pos, text), code)


def no_such_object(query: Query) -> SoqlError:
    """The INVALID_TYPE error for a FROM object the org does not have."""
    text = (
        f"sObject type '{query.object_name}' is not supported. If you are attempting to use a "
        "custom object, be sure to append the '__c' after the entity name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )
    return _error(query.soql, query.object_pos, text, "INVALID_TYPE")


# --- tokens ------------------------------------------------------------------------------------

# Date and datetime formats: YYYY-MM-DD and YYYY-MM-DDThh:mm:ss(Z|+hh:mm|-hh:mm), unquoted;
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
# Clients also send milliseconds and a colon-less offset (2026-01-31T10:00:00.000+0000).
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
_TOKEN_RE = re.compile(
    rf"""(?P<ws>\s+)
    |(?P<datetime>{_DATETIME})
    |(?P<date>\d{{4}}-\d{{2}}-\d{{2}})
    |(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),:])""",
    re.VERBOSE | re.IGNORECASE,
)
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):?(\d{2}))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # a group name of _TOKEN_RE, or "eof"
    text: str
    pos: int


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if match is None:
            what = "unterminated string literal" if soql[pos] == "'" else "unexpected token"
            raise _error(soql, pos, f"{what}: '{soql[pos : pos + 20]}'")
        if match.lastgroup != "ws":
            tokens.append(_Token(str(match.lastgroup), match.group(), pos))
        pos = match.end()
    return [*tokens, _Token("eof", "", len(soql))]


def parse_datetime(text: str) -> datetime:
    """An aware UTC datetime from Salesforce's format; ValueError if it is not one."""
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"not a Salesforce datetime: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    offset = timedelta()
    if m.group(8) is None:
        sign = -1 if m.group(9) == "-" else 1
        offset = sign * timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
    local = datetime(year, month, day, hour, minute, second, micro, timezone(offset))
    return local.astimezone(UTC)


# Escapes: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
# \n \r \t \b \f (either case), \" \' \\, \uXXXX; \% and \_ only in LIKE; any other backslash errs.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _string_parts(soql: str, tok: _Token) -> list[tuple[str, bool]]:
    """The characters of a string literal, each with whether it was escaped."""
    raw, parts, i = tok.text[1:-1], [], 0
    while i < len(raw):
        if raw[i] != "\\":
            parts.append((raw[i], False))
            i += 1
            continue
        char, width = _escape(soql, tok, raw, i)
        parts.append((char, True))
        i += width
    return parts


def _escape(soql: str, tok: _Token, raw: str, i: int) -> tuple[str, int]:
    code = raw[i + 1]
    if code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
        return chr(int(raw[i + 2 : i + 6], 16)), 6
    if code in "%_":
        return code, 2
    key = code.lower() if code in "NRTBF" else code
    if key not in _ESCAPES:
        raise _error(soql, tok.pos + 1 + i, f"Invalid string literal: illegal escape '\\{code}'")
    return _ESCAPES[key], 2


# --- the parser --------------------------------------------------------------------------------

_RESERVED = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "OFFSET", "NULLS", "ASC",
    "DESC", "IN", "LIKE", "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "WITH", "FOR", "USING",
    "INCLUDES", "EXCLUDES",
})  # fmt: skip
_UNSUPPORTED_CLAUSES = frozenset({"GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF"})
_FIXED_RANGES = frozenset({"TODAY", "YESTERDAY", "TOMORROW", "THIS_MONTH", "LAST_MONTH"})
_N_RANGES = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
_OTHER_DATE_LITERAL = re.compile(r"(LAST|NEXT|THIS)_\w+|N_\w+_(AGO|FROM_NOW)", re.IGNORECASE)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokenize(soql)
        self.i = 0

    # token helpers

    @property
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def _after(self) -> _Token:
        return self.tokens[min(self.i + 1, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        tok = self.peek
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def _is_kw(self, *words: str) -> bool:
        return self.peek.kind == "ident" and self.peek.text.upper() in words

    def _accept_kw(self, word: str) -> bool:
        if self._is_kw(word):
            self._next()
            return True
        return False

    def _expect_kw(self, word: str) -> None:
        if not self._accept_kw(word):
            raise self._unexpected()

    def _is_punct(self, text: str, tok: _Token | None = None) -> bool:
        tok = tok or self.peek
        return tok.kind == "punct" and tok.text == text

    def _accept_punct(self, text: str) -> bool:
        if self._is_punct(text):
            self._next()
            return True
        return False

    def _expect_punct(self, text: str) -> None:
        if not self._accept_punct(text):
            raise self._unexpected()

    def _unexpected(self, tok: _Token | None = None) -> SoqlError:
        tok = tok or self.peek
        shown = "<EOF>" if tok.kind == "eof" else tok.text
        return _error(self.soql, tok.pos, f"unexpected token: '{shown}'")

    def _unsupported(self, tok: _Token, what: str) -> SoqlError:
        return _error(self.soql, tok.pos, f"sfsim does not support {what}")

    # the query

    def query(self) -> Query:
        self._expect_kw("SELECT")
        is_count, fields = self._select_list()
        self._expect_kw("FROM")
        obj = self._name("relationship paths in FROM")
        where = self._logical() if self._accept_kw("WHERE") else None
        order = self._order_by() if self._accept_kw("ORDER") else ()
        limit, offset = self._count_clause("LIMIT"), self._count_clause("OFFSET")
        if self._is_kw(*_UNSUPPORTED_CLAUSES):
            raise self._unsupported(self.peek, f"the {self.peek.text.upper()} clause")
        if self.peek.kind != "eof":
            raise self._unexpected()
        return Query(self.soql, obj.name, fields, where, order, limit, offset, is_count, obj.pos)

    def _select_list(self) -> tuple[bool, tuple[FieldRef, ...]]:
        if self._is_kw("COUNT") and self._is_punct("(", self._after()):
            self._next()
            self._next()
            if not self._is_punct(")"):
                raise self._unsupported(self.peek, "COUNT(field); use COUNT()")
            self._next()
            return True, ()
        fields = [self._select_item()]
        while self._accept_punct(","):
            fields.append(self._select_item())
        return False, tuple(fields)

    def _select_item(self) -> FieldRef:
        tok = self.peek
        if self._is_punct("("):
            raise self._unsupported(tok, "subqueries")
        if tok.kind == "ident" and self._is_punct("(", self._after()):
            if tok.text.upper() == "FIELDS":
                raise self._unsupported(tok, "FIELDS(...); list the fields explicitly")
            raise self._unsupported(tok, f"functions in SELECT ({tok.text}(...))")
        return self._name("relationship fields")

    def _name(self, dotted: str) -> FieldRef:
        """A field or object name; a dotted path is a relationship, which sfsim lacks."""
        tok = self._next()
        if tok.kind != "ident" or tok.text.upper() in _RESERVED:
            raise self._unexpected(tok)
        if "." in tok.text:
            raise self._unsupported(tok, f"{dotted} ('{tok.text}')")
        return FieldRef(tok.text, tok.pos)

    def _count_clause(self, word: str) -> int | None:
        if not self._accept_kw(word):
            return None
        tok = self._next()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self._unexpected(tok)
        return int(tok.text)

    def _order_by(self) -> tuple[OrderItem, ...]:
        self._expect_kw("BY")
        items = [self._order_item()]
        while self._accept_punct(","):
            items.append(self._order_item())
        return tuple(items)

    # ORDER BY f [ASC|DESC] [NULLS FIRST|LAST]:
    # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm
    def _order_item(self) -> OrderItem:
        field = self._name("relationship fields")
        descending = self._is_kw("DESC")
        if self._is_kw("ASC", "DESC"):
            self._next()
        nulls_first: bool | None = None
        if self._accept_kw("NULLS"):
            if not self._is_kw("FIRST", "LAST"):
                raise self._unexpected()
            nulls_first = self._next().text.upper() == "FIRST"
        return OrderItem(field, descending, nulls_first)

    # conditions: logicalExpression := NOT cond | cond (AND cond)* | cond (OR cond)*

    def _logical(self) -> Expr:
        if self._accept_kw("NOT"):
            return Not(self._condition())
        first = self._condition()
        for word, node in (("AND", And), ("OR", Or)):
            if self._is_kw(word):
                items = [first]
                while self._accept_kw(word):
                    items.append(self._condition())
                return node(tuple(items))
        return first

    def _condition(self) -> Expr:
        if self._accept_punct("("):
            inner = self._logical()
            self._expect_punct(")")
            return inner
        return self._field_expression()

    def _field_expression(self) -> Expr:
        field = self._name("relationship fields")
        tok = self._next()
        if tok.kind == "op":
            op: CompareOp = "!=" if tok.text == "<>" else tok.text  # type: ignore[assignment]
            return Compare(field, op, self._value())
        word = tok.text.upper() if tok.kind == "ident" else ""
        if word == "LIKE":
            return Like(field, self._like_pattern())
        if word == "NOT":
            self._expect_kw("IN")  # SOQL has NOT IN, but no NOT LIKE
        if word in ("IN", "NOT"):
            return InList(field, self._value_list(), negated=word == "NOT")
        if word in ("INCLUDES", "EXCLUDES"):
            raise self._unsupported(tok, word)
        raise self._unexpected(tok)

    def _value_list(self) -> tuple[Value, ...]:
        self._expect_punct("(")
        if self._is_kw("SELECT"):
            raise self._unsupported(self.peek, "semi-joins (IN (SELECT ...))")
        values = [self._value()]
        while self._accept_punct(","):
            values.append(self._value())
        self._expect_punct(")")
        return tuple(values)

    def _value(self) -> Value:
        tok = self._next()
        if tok.kind == "string":
            return self._plain_string(tok)
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind in ("date", "datetime"):
            return self._date_value(tok)
        if tok.kind == "ident":
            return self._word_value(tok)
        if self._is_punct(":", tok):
            raise self._unsupported(tok, "bind variables (they are Apex only)")
        raise self._unexpected(tok)

    def _date_value(self, tok: _Token) -> date | datetime:
        try:
            if tok.kind == "date":
                return date.fromisoformat(tok.text)
            return parse_datetime(tok.text)
        except ValueError:
            raise _error(self.soql, tok.pos, f"invalid {tok.kind} literal: {tok.text}") from None

    def _word_value(self, tok: _Token) -> Value:
        word = tok.text.upper()
        if word in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[word]
        if word in _FIXED_RANGES:
            return RelativeDate(word)
        if word in _N_RANGES:
            return RelativeDate(word, self._literal_n(tok))
        if _OTHER_DATE_LITERAL.fullmatch(word):
            raise self._unsupported(tok, f"the date literal {word}")
        raise self._unexpected(tok)

    def _literal_n(self, tok: _Token) -> int:
        self._expect_punct(":")
        n = self._next()
        if n.kind != "number" or not n.text.isdigit():
            raise _error(self.soql, n.pos, f"invalid date literal: {tok.text}:{n.text}")
        return int(n.text)

    def _plain_string(self, tok: _Token) -> str:
        parts = _string_parts(self.soql, tok)
        if any(escaped and char in "%_" for char, escaped in parts):
            text = "Invalid string literal: \\% and \\_ are only valid in a LIKE pattern"
            raise _error(self.soql, tok.pos, text)
        return "".join(char for char, _ in parts)

    # LIKE: % matches zero or more characters, _ exactly one, \% and \_ themselves; it is
    # case-insensitive like every comparison on a non-unique text field:
    # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
    def _like_pattern(self) -> re.Pattern[str]:
        tok = self._next()
        if tok.kind != "string":
            raise self._unexpected(tok)
        wild = {"%": ".*", "_": "."}
        body = "".join(
            wild[char] if char in wild and not escaped else re.escape(char)
            for char, escaped in _string_parts(self.soql, tok)
        )
        return re.compile(body, re.IGNORECASE | re.DOTALL)


def parse(soql: str) -> Query:
    """The query's tree; SoqlError (MALFORMED_QUERY) if it is not SOQL that sfsim supports."""
    return _Parser(soql).query()


# --- evaluation --------------------------------------------------------------------------------

_TEXT_TYPES = ("string", "textarea", "phone", "url", "email", "picklist", "combobox")
_KINDS = {
    **dict.fromkeys(_TEXT_TYPES, "text"),
    **dict.fromkeys(("id", "reference"), "id"),
    **dict.fromkeys(("int", "double", "currency", "percent", "long"), "number"),
    **{t: t for t in ("boolean", "date", "datetime")},
}
# How "value of filter criterion ... must be of type X" names each kind.
_TYPE_WORDS = {"text": "string", "id": "id", "number": "number", "boolean": "boolean",
               "date": "date", "datetime": "dateTime"}  # fmt: skip
Predicate: TypeAlias = Callable[[Record], bool]


def _key(kind: str, value: object) -> Any:
    """A comparable form of a record value or literal of the given kind (None stays None)."""
    if kind == "boolean":
        return value in (True, "true")  # a null checkbox is false
    if value is None:
        return None
    if kind == "text":
        return str(value).casefold()
    if kind == "id":
        return str(value)[:15] if len(str(value)) == 18 else str(value)
    if kind == "number":
        return float(value) if isinstance(value, str) else value
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if kind == "datetime":
        return value.astimezone(UTC) if isinstance(value, datetime) else parse_datetime(str(value))
    return value


def _fits(kind: str, value: Scalar) -> bool:
    if kind in ("text", "id"):
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "datetime":
        return isinstance(value, datetime)
    return kind == "date" and isinstance(value, date) and not isinstance(value, datetime)


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    return bool(_ORDERINGS[op](left, right))


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# Date literals are ranges of whole days [start, end):
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
# LAST_N_DAYS:n runs from n days before today through the end of today (LAST_N_DAYS:1 is
# yesterday and today; https://salesforce.stackexchange.com/questions/190643); NEXT_N_DAYS:n
# starts at 00:00:00 tomorrow and lasts n days.
def _date_range(literal: RelativeDate, today: date) -> tuple[date, date]:
    day, n = timedelta(days=1), literal.n or 0
    ranges = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_MONTH": (_month_start(today, 0), _month_start(today, 1)),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today, 0)),
        "LAST_N_DAYS": (today - n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
    }
    return ranges[literal.name]


# "= literal" is within the range, "<" before its start, ">" after its end, and so on.
def _range_test(op: str, value: Any, start: Any, end: Any) -> bool:
    if value is None:
        return op == "!="
    inside = start <= value < end
    tests = {"=": inside, "!=": not inside, "<": value < start, "<=": value < end,
             ">": value >= end, ">=": value >= start}  # fmt: skip
    return bool(tests[op])


class _Evaluator:
    """A query bound to one object's field types and one instant, checked before any record."""

    def __init__(self, query: Query, field_types: Mapping[str, str], now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.query, self.types = query, field_types
        self.canonical = {name.lower(): name for name in field_types}
        self.today = now.astimezone(UTC).date()
        self.selected = self._selected()
        self.predicate = self._compile(query.where) if query.where else (lambda _r: True)
        self.sorts = [self._sorter(item) for item in query.order_by]

    def _error(self, ref: FieldRef, text: str, code: ErrorCode = "INVALID_FIELD") -> SoqlError:
        return _error(self.query.soql, ref.pos, text, code)

    def resolve(self, ref: FieldRef) -> str:
        name = self.canonical.get(ref.name.lower())
        if name is None:
            raise self._error(ref, (
                f"No such column '{ref.name}' on entity '{self.query.object_name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom "
                "field name. Please reference your WSDL or the describe call for the appropriate "
                "names."
            ))  # fmt: skip
        return name

    def _selected(self) -> list[str]:
        names: list[str] = []
        for ref in self.query.fields:
            name = self.resolve(ref)
            if name in names:
                raise self._error(ref, f"duplicate field selected: {name}", "MALFORMED_QUERY")
            names.append(name)
        return names

    def _usable(self, ref: FieldRef, use: str) -> tuple[str, str]:
        """The canonical name and kind of a field used to filter or sort."""
        name = self.resolve(ref)
        kind = _KINDS.get(self.types[name])
        if kind is None:
            raise self._error(ref, f"field '{name}' can not be {use} in a query call")
        return name, kind

    # WHERE

    def _compile(self, expr: Expr) -> Predicate:
        if isinstance(expr, And | Or):
            parts = [self._compile(item) for item in expr.items]
            combine = all if isinstance(expr, And) else any
            return lambda r: combine(p(r) for p in parts)
        if isinstance(expr, Not):
            inner = self._compile(expr.item)
            return lambda r: not inner(r)
        if isinstance(expr, InList):
            return self._compile_in(expr)
        if isinstance(expr, Like):
            return self._compile_like(expr)
        return self._compile_compare(expr)

    def _compile_compare(self, node: Compare) -> Predicate:
        name, kind = self._usable(node.field, "filtered")
        if isinstance(node.value, RelativeDate):
            return self._compile_range(node, name, kind, node.value)
        if node.value is not None and not _fits(kind, node.value):
            raise self._type_error(node.field, kind)
        literal, op = _key(kind, node.value), node.op
        return lambda r: _compare(op, _key(kind, r.get(name)), literal)

    def _compile_range(self, node: Compare, name: str, kind: str, lit: RelativeDate) -> Predicate:
        if kind not in ("date", "datetime"):
            raise self._type_error(node.field, kind)
        start, end = _date_range(lit, self.today)
        if kind == "datetime":
            start, end = _midnight(start), _midnight(end)
        op = node.op
        return lambda r: _range_test(op, _key(kind, r.get(name)), start, end)

    def _type_error(self, ref: FieldRef, kind: str) -> SoqlError:
        quotes = "should" if kind in ("text", "id") else "should not"
        return self._error(ref, (
            f"value of filter criterion for field '{self.resolve(ref)}' must be of type "
            f"{_TYPE_WORDS[kind]} and {quotes} be enclosed in quotes"
        ))  # fmt: skip

    def _compile_in(self, node: InList) -> Predicate:
        parts = [self._compile_compare(Compare(node.field, "=", v)) for v in node.values]
        negated = node.negated
        return lambda r: any(p(r) for p in parts) != negated

    def _compile_like(self, node: Like) -> Predicate:
        name, kind = self._usable(node.field, "filtered")
        if kind not in ("text", "id"):
            raise self._error(node.field, f"invalid operator on field '{name}': LIKE needs text")
        pattern = node.pattern
        return lambda r: r.get(name) is not None and bool(pattern.fullmatch(str(r.get(name))))

    # ORDER BY: sorting ignores case; nulls come first unless NULLS LAST ("By default, null
    # values are sorted first", whatever the direction; see the ORDER BY page above).

    def _sorter(self, item: OrderItem) -> Callable[[list[Record]], list[Record]]:
        name, kind = self._usable(item.field, "sorted")
        nulls_first = item.nulls_first is not False

        def sort(rows: list[Record]) -> list[Record]:
            present = [r for r in rows if _key(kind, r.get(name)) is not None]
            absent = [r for r in rows if _key(kind, r.get(name)) is None]
            present.sort(key=lambda r: _key(kind, r.get(name)), reverse=item.descending)
            return absent + present if nulls_first else present + absent

        return sort

    # the whole pipeline

    def rows(self, records: Iterable[Record]) -> list[Record]:
        """The matching records, sorted, then cut by OFFSET and LIMIT."""
        rows = [r for r in records if self.predicate(r)]
        for sort in reversed(self.sorts):  # stable sorts, last key first
            rows = sort(rows)
        start = self.query.offset or 0
        stop = None if self.query.limit is None else start + self.query.limit
        return rows[start:stop]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def run(
    query: Query, records: Iterable[Record], field_types: Mapping[str, str], now: datetime
) -> list[dict[str, object]]:
    """The records the query returns, each cut to the selected fields under their canonical names
    (in SELECT order). Empty for COUNT(), whose number comes from `count`."""
    evaluator = _Evaluator(query, field_types, now)
    if query.is_count:
        return []
    return [{name: row.get(name) for name in evaluator.selected} for row in evaluator.rows(records)]


def count(
    query: Query, records: Iterable[Record], field_types: Mapping[str, str], now: datetime
) -> int:
    """How many records the query yields after WHERE, OFFSET and LIMIT: COUNT()'s answer, and
    `totalSize` for any query."""
    return len(_Evaluator(query, field_types, now).rows(records))


__all__ = [
    "And", "Compare", "Expr", "FieldRef", "InList", "Like", "Not", "Or", "OrderItem", "Query",
    "RelativeDate", "SoqlError", "Value", "count", "no_such_object", "parse", "parse_datetime",
    "run",
]  # fmt: skip
