"""The guard in front of analysts' SQL: one SELECT over the audit views, nothing else.

Analysts may send any SELECT they like (CTEs, joins, subqueries, GROUP BY, window functions),
but only over the views we publish (`audit_log`, `audit_daily`), and only with functions that
compute on values. Everything else — other tables (including `audit_records`, the storage
table behind the views: the views are the stable interface, so its layout may change), DuckDB's
catalog (`duckdb_settings()`, `information_schema`, `pragma_*`), table functions that read
files or run SQL (`read_csv`, `query`, `glob`, ...), replacement scans (`FROM 'file.csv'`),
configuration and environment functions (`getenv`, `current_setting`), and every statement that
is not a SELECT — is refused with a message naming what was refused.

The decision is made on DuckDB's own parse tree (`json_serialize_sql`), never on the text, and
it is an allow-list: every node kind, table name, function name and type name must be known to
be harmless, so a construct added in a later DuckDB release is refused until someone looks at
it. `json_serialize_sql` itself only serialises SELECT statements, which refuses COPY, ATTACH,
PRAGMA, SET, INSERT, ... before we even walk.

This module asks DuckDB to parse and does nothing else: no I/O, no trio. The audit database is
also opened with external access disabled (`zas.auth.audit`), so a hole here still cannot read or
write files; the guard is what keeps analysts on the views and off the configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from zas.protocol.errors import InvalidRequest

# The views analysts may read; `zas.auth.audit` creates them.
AUDIT_VIEWS = frozenset({"audit_log", "audit_daily"})

# Longest query text accepted: a guard against pathological parse trees, not a usability limit.
MAX_QUERY_CHARS = 20_000

# Query nodes: plain SELECTs and UNION/EXCEPT/INTERSECT. Recursive CTEs are left out: they
# are the one way to make rows out of nothing without a bound, and audit analysis needs none.
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE"})
# FROM-clause items. TABLE_FUNCTION (read_csv, query, duckdb_settings, ...), SHOW_REF
# (DESCRIBE/SUMMARIZE) and PIVOT are deliberately absent.
_TABLE_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"})
# Other typed containers in the tree (result modifiers and ORDER BY items).
_CONTAINERS = frozenset(
    {
        "ORDER_MODIFIER",
        "LIMIT_MODIFIER",
        "LIMIT_PERCENT_MODIFIER",
        "DISTINCT_MODIFIER",
        "ORDER_DEFAULT",
        "ASCENDING",
        "DESCENDING",
    }
)
# Expression classes. PARAMETER is absent: there is nothing to bind it to.
_EXPRESSION_CLASSES = frozenset(
    {
        "BETWEEN",
        "CASE",
        "CAST",
        "COLLATE",
        "COLUMN_REF",
        "COMPARISON",
        "CONJUNCTION",
        "CONSTANT",
        "FUNCTION",
        "LAMBDA",
        "OPERATOR",
        "POSITIONAL_REFERENCE",
        "STAR",
        "SUBQUERY",
        "TYPE",
        "WINDOW",
    }
)

# Functions that compute on values. Operators appear in the tree as functions named by their
# symbol (`~~` is LIKE, `~~*` ILIKE, `~~~` GLOB); INTERVAL literals become to_days(trunc(...)).
_OPERATORS = frozenset(
    {"+", "-", "*", "/", "//", "%", "**", "^", "||", "~~", "!~~", "~~*", "!~~*", "~~~"}
)
_SCALAR = frozenset(
    {
        # strings
        "lower", "upper", "lcase", "ucase", "length", "strlen", "substring", "substr", "left",
        "right", "trim", "ltrim", "rtrim", "replace", "split_part", "starts_with", "ends_with",
        "prefix", "suffix", "contains", "position", "strpos", "instr", "concat", "concat_ws",
        "regexp_matches", "regexp_extract", "regexp_replace", "regexp_full_match",
        "string_split", "str_split", "lpad", "rpad", "reverse", "repeat", "format", "printf",
        "md5", "sha256", "hash", "ascii", "chr", "like_escape", "ilike_escape",
        # conditionals (coalesce and ifnull parse as OPERATOR_COALESCE)
        "nullif", "if", "greatest", "least",
        # time (stored as UTC TIMESTAMP)
        "date_trunc", "datetrunc", "date_part", "datepart", "date_diff", "datediff",
        "date_sub", "datesub", "date_add", "strftime", "strptime", "epoch", "epoch_ms",
        "to_timestamp", "make_timestamp", "make_date", "time_bucket", "now",
        "get_current_timestamp", "today", "current_date", "year", "month", "day", "hour",
        "minute", "second", "dayofweek", "dayofyear", "dayname", "monthname", "week",
        "weekofyear", "isodow", "last_day", "age", "to_years", "to_months", "to_weeks",
        "to_days", "to_hours", "to_minutes", "to_seconds", "to_milliseconds",
        "to_microseconds",
        # numbers
        "abs", "round", "floor", "ceil", "ceiling", "trunc", "sqrt", "ln", "log", "log10",
        "log2", "pow", "power", "exp", "sign", "mod",
        # lists and structs
        "list_value", "struct_pack", "row", "array_extract", "list_extract", "list_contains",
        "list_has", "array_contains", "len", "array_length", "list_transform", "list_filter",
        "list_sort", "list_distinct", "list_unique", "list_aggregate", "unnest",
    }
)  # fmt: skip
_AGGREGATE = frozenset(
    {
        "count", "count_star", "sum", "avg", "mean", "min", "max", "median", "quantile",
        "quantile_cont", "quantile_disc", "mode", "approx_count_distinct", "approx_quantile",
        "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance",
        "string_agg", "group_concat", "listagg", "array_agg", "list", "first", "last",
        "any_value", "arg_max", "arg_min", "argmax", "argmin", "max_by", "min_by", "bool_and",
        "bool_or", "count_if", "countif", "histogram", "product", "fsum", "favg",
    }
)  # fmt: skip
_WINDOW = frozenset(
    {
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag",
        "lead", "first_value", "last_value", "nth_value",
    }
)  # fmt: skip
ALLOWED_FUNCTIONS = _OPERATORS | _SCALAR | _AGGREGATE | _WINDOW

# Types a CAST may name: the built-in scalar types.
ALLOWED_TYPES = frozenset(
    {
        "boolean", "bool", "tinyint", "smallint", "integer", "int", "int4", "int8", "bigint",
        "hugeint", "utinyint", "usmallint", "uinteger", "ubigint", "float", "real", "double",
        "decimal", "numeric", "varchar", "text", "string", "date", "time", "timestamp",
        "datetime", "timestamp with time zone", "timestamptz", "interval", "uuid",
    }
)  # fmt: skip

# Operator expression kinds (class OPERATOR).
_OPERATOR_TYPES = frozenset(
    {
        "OPERATOR_NOT",
        "OPERATOR_IS_NULL",
        "OPERATOR_IS_NOT_NULL",
        "OPERATOR_COALESCE",
        "OPERATOR_TRY",
        "COMPARE_IN",
        "COMPARE_NOT_IN",
        "ARRAY_EXTRACT",
        "ARRAY_SLICE",
        "STRUCT_EXTRACT",
        "GROUPING_FUNCTION",
    }
)


class AuditQueryError(InvalidRequest):
    """An analyst query the guard refused, or one that failed or ran too long (400)."""


class AuditQueryTimeout(AuditQueryError):
    """The query ran past its time limit and was interrupted."""


def parse_tree(connection: Any, sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of `sql` as JSON, or AuditQueryError for anything that is not
    SELECT statements (json_serialize_sql refuses every other statement kind)."""
    if not isinstance(sql, str) or not sql.strip():
        raise AuditQueryError("audit query refused: the query is empty")
    if len(sql) > MAX_QUERY_CHARS:
        raise AuditQueryError(f"audit query refused: longer than {MAX_QUERY_CHARS} characters")
    row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0])
    if tree.get("error"):
        message = str(tree.get("error_message", "unparseable"))
        if "Only SELECT statements" in message:
            # Named for the message only; the decision was DuckDB's parser's.
            first = sql.split(None, 1)[0].upper().strip(";(")
            if first in {"SELECT", "WITH", "FROM", "VALUES", ""}:
                raise AuditQueryError(
                    "audit query refused: exactly one SELECT statement is allowed, and the "
                    "query holds another kind of statement"
                )
            raise AuditQueryError(
                f"audit query refused: only a SELECT statement is allowed, not {first}"
            )
        raise AuditQueryError(f"audit query refused: {message}")
    return tree


def check_tree(tree: Mapping[str, Any], views: Iterable[str] = AUDIT_VIEWS) -> None:
    """Raise AuditQueryError unless `tree` (from parse_tree) is exactly one SELECT that reads
    only `views` and calls only allowed functions."""
    statements = tree.get("statements")
    if not isinstance(statements, list) or len(statements) != 1:
        count = len(statements) if isinstance(statements, list) else 0
        raise AuditQueryError(
            f"audit query refused: exactly one SELECT statement is allowed, got {count}"
        )
    statement = statements[0]
    if not isinstance(statement, dict) or not isinstance(statement.get("node"), dict):
        raise AuditQueryError("audit query refused: unrecognised statement")
    _Walker(frozenset(v.lower() for v in views)).query_node(statement["node"], frozenset())


def check_query(connection: Any, sql: str, views: Iterable[str] = AUDIT_VIEWS) -> None:
    """Parse `sql` with DuckDB (on `connection`) and apply check_tree."""
    check_tree(parse_tree(connection, sql), views)


def _refuse(what: str) -> AuditQueryError:
    return AuditQueryError(f"audit query refused: {what}")


class _Walker:
    """Walks the JSON tree; `scope` is the set of CTE names visible at that point, because a
    CTE name shadows a catalog table only where the CTE is in scope."""

    def __init__(self, views: frozenset[str]) -> None:
        self.views = views

    def walk(self, value: Any, scope: frozenset[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self.walk(item, scope)
        elif isinstance(value, dict):
            kind = value.get("type")
            if "class" in value:
                self.expression(value, scope)
            elif isinstance(kind, str):
                if kind in _QUERY_NODES or kind.endswith("_NODE"):
                    self.query_node(value, scope)
                elif kind in _TABLE_REFS or kind in {"TABLE_FUNCTION", "SHOW_REF", "PIVOT"}:
                    self.table_ref(value, scope)
                elif kind in _CONTAINERS:
                    self.children(value, scope)
                else:
                    raise _refuse(f"unsupported construct {kind}")
            else:
                # Untyped containers: CTE map entries, literals, function arguments, ...
                self.children(value, scope)

    def children(self, node: Mapping[str, Any], scope: frozenset[str], skip: str = "") -> None:
        for key, child in node.items():
            if key != skip and isinstance(child, (dict, list)):
                self.walk(child, scope)

    def query_node(self, node: Mapping[str, Any], scope: frozenset[str]) -> None:
        kind = node.get("type")
        if kind == "RECURSIVE_CTE_NODE":
            raise _refuse("recursive CTEs are not allowed")
        if kind not in _QUERY_NODES:
            raise _refuse(f"unsupported query {kind}")
        ctes = node.get("cte_map", {}).get("map", [])
        if not isinstance(ctes, list):
            raise _refuse("unrecognised WITH clause")
        # Each CTE sees the ones defined before it; the body sees them all.
        for entry in ctes:
            self.walk(entry.get("value"), scope)
            scope = scope | {str(entry.get("key", "")).lower()}
        self.children(node, scope, skip="cte_map")

    def table_ref(self, ref: Mapping[str, Any], scope: frozenset[str]) -> None:
        kind = ref["type"]
        if kind == "TABLE_FUNCTION":
            function = ref.get("function") or {}
            name = function.get("function_name", "?") if isinstance(function, dict) else "?"
            raise _refuse(f"table function {name}() is not allowed; read the audit views")
        if kind == "SHOW_REF":
            raise _refuse("DESCRIBE/SUMMARIZE are not allowed")
        if kind == "PIVOT":
            raise _refuse("PIVOT/UNPIVOT are not allowed")
        if kind == "BASE_TABLE":
            name = str(ref.get("table_name", ""))
            qualifier = ".".join(
                part for part in (ref.get("catalog_name"), ref.get("schema_name")) if part
            )
            allowed = ", ".join(sorted(self.views))
            if qualifier:
                raise _refuse(
                    f"table {qualifier}.{name} is not allowed; use the view names alone ({allowed})"
                )
            if ref.get("at_clause"):
                raise _refuse("AT (time travel) is not allowed")
            if name.lower() not in self.views and name.lower() not in scope:
                raise _refuse(f"table {name!r} is not an audit view; allowed: {allowed}")
        self.children(ref, scope)

    def expression(self, node: Mapping[str, Any], scope: frozenset[str]) -> None:
        cls = node["class"]
        if cls not in _EXPRESSION_CLASSES:
            what = "parameters" if cls == "PARAMETER" else f"expression {cls}"
            raise _refuse(f"{what} not allowed")
        if cls in {"FUNCTION", "WINDOW"}:
            name = str(node.get("function_name", ""))
            qualifier = ".".join(part for part in (node.get("catalog"), node.get("schema")) if part)
            if qualifier:
                raise _refuse(
                    f"function {qualifier}.{name}() is not allowed; call functions unqualified "
                    "(method-call syntax x.f() is not supported)"
                )
            if name.lower() not in ALLOWED_FUNCTIONS:
                raise _refuse(f"function {name}() is not allowed")
        elif cls == "OPERATOR" and node.get("type") not in _OPERATOR_TYPES:
            raise _refuse(f"operator {node.get('type')} is not allowed")
        elif cls == "TYPE":
            name = str(node.get("type_name", ""))
            if node.get("schema") or node.get("catalog") or name.lower() not in ALLOWED_TYPES:
                raise _refuse(f"type {name} is not allowed")
        self.children(node, scope)
