"""CQL2 filters on the public venues (OGC API – Features Part 3): text or JSON read by ``cql2`` (the maintained
parser of the standard), its JSON tree turned into an SQLAlchemy condition whose values are bound parameters,
the same on SpatiaLite and PostGIS. What is not supported is an ``InvalidInput`` on ``filter`` saying so.

Supported: AND, OR, NOT; =, <>, <, <=, >, >= (property with literal or property of the same type); LIKE (CQL2's
``%`` and ``_``, case-sensitive), BETWEEN, IN, IS NULL; CASEI; S_INTERSECTS, S_WITHIN, S_CONTAINS, S_DISJOINT,
S_EQUALS, S_TOUCHES, S_CROSSES, S_OVERLAPS on ``geometry`` and a geometry literal (WKT, GeoJSON or BBOX);
A_EQUALS, A_CONTAINS, A_CONTAINEDBY, A_OVERLAPS on the list properties.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import cql2
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Text,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from registry import crs, spatial, standard
from registry.db import is_sqlite
from registry.errors import InvalidInput
from registry.models import PublicVenue
from registry.wording import french_number

STRING, NUMBER, DATE, ARRAY_, GEOMETRY = "string", "number", "date", "array", "geometry"
#: The properties a filter may name, with their type: the standard's fields of a venue and its drawn point.
QUERYABLES: dict[str, str] = {
    **{name: ARRAY_ if name in standard.LIST_FIELDS else STRING for name in standard.VENUE_FIELDS},
    "latitude": NUMBER, "longitude": NUMBER, "date_maj": DATE, "geometry": GEOMETRY,
}
#: ``cql-text``: the name CQL2 text had in the drafts, which GDAL before 3.7 sends (read as CQL2 text).
LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
COMPARISONS = {"=": "__eq__", "<>": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
SPATIAL = {"s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
           "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
           "s_crosses": "ST_Crosses", "s_overlaps": "ST_Overlaps"}
#: Spatial predicates that hold only where the venue's point meets the literal (the index may narrow them).
_MEETING = {"s_intersects", "s_within", "s_equals", "s_touches"}
ARRAYS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
MAX_LENGTH = 20_000  # characters of a filter: a national outline simplified to a few thousand points fits
#: Levels of parentheses, NOT and functions (CQL2 JSON: of arrays and objects). The parser recurses once a level:
#: 1,900 parentheses overflowed its stack and killed the worker (SIGSEGV), before any exception could be raised.
MAX_DEPTH = 32
#: Conditions of a filter, and values of its lists (IN, A_…; a geometry's coordinates are not counted): SQLite
#: compiles an expression at most 1,000 deep (1,500 OR'ed conditions were a 500), and 3,000 values took seconds.
MAX_TERMS = 200
MAX_VALUES = 200
#: CQL2 text's geometry literals: what their parentheses hold are coordinates, not operations.
_GEOMETRY_WORDS = {"point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
                   "geometrycollection", "bbox", "envelope"}
_TYPES = {STRING: Text, NUMBER: Float, DATE: Date}


def parse(text: str, language: str | None) -> dict[str, Any]:
    """The CQL2 JSON tree of a ``filter`` in ``language`` (``cql2-text`` by default); ``InvalidInput`` with the
    parser's message when it is not CQL2, and when it is too deep or too large to be read and run safely."""
    language = language or "cql2-text"
    if language not in LANGUAGES:
        raise InvalidInput.on("filter-lang", f"« {language} » : {' ou '.join(LANGUAGES)} attendu.")
    if len(text) > MAX_LENGTH:
        raise InvalidInput.on("filter", f"Filtre trop long (au plus {french_number(MAX_LENGTH)} caractères).")
    if language == "cql2-json":
        _check_json_depth(text)
    else:
        _check_text(text)
    try:
        expression = cql2.parse_json(text) if language == "cql2-json" else cql2.parse_text(text)
        tree = expression.to_json()
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises (it also raises a bare Exception) is the
        # filter's fault: a 400, never a 500
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InvalidInput.on("filter", f"Filtre {language} illisible : {reason}") from None
    _check_size(tree)
    return tree


def _too_deep() -> InvalidInput:
    return _error(f"Filtre trop imbriqué : au plus {MAX_DEPTH} niveaux de parenthèses, de NOT ou de fonctions.")


def _too_many_terms() -> InvalidInput:
    return _error(f"Filtre trop long : au plus {MAX_TERMS} conditions (reliées par AND ou OR).")


def _check_text(text: str) -> None:
    """Bounds CQL2 text before the parser reads it: the nesting of parentheses (functions and geometries
    included) and NOT, and the number of AND, OR and arithmetic operators (a chain of ``+`` nests as deep)."""
    bounds = _TextBounds()
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"":  # a string, or a quoted property name
            i = _after_quoted(text, i)
        elif char.isalpha() or char == "_":
            end = _word_end(text, i)
            bounds.word(text[i:end].lower())
            i = end
        else:
            bounds.symbol(text, i)
            i += 1


def _after_quoted(text: str, i: int) -> int:
    """Where the string or quoted name opening at ``i`` ends (a doubled quote stays inside; unclosed: the end)."""
    quote, end = text[i], i + 1
    while True:
        end = text.find(quote, end)
        if end == -1 or end + 1 >= len(text) or text[end + 1] != quote:
            break
        end += 2
    return len(text) if end == -1 else end + 1


def _word_end(text: str, i: int) -> int:
    """Where the word (a keyword, a property or function name) starting at ``i`` ends."""
    while i < len(text) and (text[i].isalnum() or text[i] in "_:."):
        i += 1
    return i


class _TextBounds:
    """What ``_check_text`` counts while it reads: NOTs and parentheses open, operators, geometry literals."""

    def __init__(self) -> None:
        self.nots = [0]  # NOTs not yet closed, at each level of parentheses (NOT a AND b: the AND closes the NOT)
        self.operators = 0
        self.geometry_level: int | None = None  # the level where a geometry literal's parentheses opened
        self.pending_geometry = False

    def word(self, word: str) -> None:
        """A word, outside a geometry literal's coordinates: NOT opens a level, AND and OR close the NOTs."""
        if self.geometry_level is not None or (self.pending_geometry and word in ("z", "m", "zm")):
            return
        if word == "not":
            self.nots[-1] += 1
        elif word in ("and", "or", "div"):
            self.operators += 1
            if word != "div":
                self.nots[-1] = 0
        self.pending_geometry = word in _GEOMETRY_WORDS
        self._check_depth()

    def symbol(self, text: str, i: int) -> None:
        """Any other character: a parenthesis, an arithmetic operator, a digit, a space…"""
        char = text[i]
        if char == "(":
            if self.pending_geometry and self.geometry_level is None:
                self.geometry_level = len(self.nots)
            self.nots.append(0)
            self._check_depth()
        elif char == ")":
            if len(self.nots) > 1:
                self.nots.pop()
            if self.geometry_level is not None and len(self.nots) <= self.geometry_level:
                self.geometry_level = None
        elif char in "+-*/%^" and self.geometry_level is None and not (char in "+-" and _in_exponent(text, i)):
            self.operators += 1
        if not char.isspace():
            self.pending_geometry = False
        if self.operators > 2 * MAX_TERMS:
            raise _too_many_terms()

    def _check_depth(self) -> None:
        if len(self.nots) + sum(self.nots) > MAX_DEPTH + 1:
            raise _too_deep()


def _in_exponent(text: str, i: int) -> bool:
    """Whether the sign at ``i`` is a number's exponent's (``1e-5``)."""
    return i >= 2 and text[i - 1] in "eE" and text[i - 2].isdigit()


def _check_json_depth(text: str) -> None:
    """Bounds the nesting of CQL2 JSON's arrays and objects before any parser reads it."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep()
        elif char in "]}":
            depth -= 1


def _check_size(tree: Any) -> None:
    """Bounds the conditions of a parsed filter and the values of its lists (a geometry's are not counted)."""
    terms = values = 0
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            values += len(node)
            pending.extend(node)
        elif isinstance(node, dict) and "op" in node:
            args = node.get("args", [])
            args = args if isinstance(args, list) else [args]
            if str(node["op"]).lower() in ("and", "or"):  # each operand a condition (TRUE and FALSE too)
                terms += len(args)
            pending.extend(args)
        if terms > MAX_TERMS:
            raise _too_many_terms()
        if values > MAX_VALUES:
            raise _error(f"Filtre trop long : au plus {MAX_VALUES} valeurs dans ses listes (IN, A_CONTAINS…).")


def condition(session: Session, tree: dict[str, Any],
              filter_crs: str = crs.CRS84) -> tuple[ColumnElement, dict[str, Any]]:
    """The SQL condition of a CQL2 JSON tree on ``Venue`` (geometry literals given in ``filter_crs``) and the
    values of its parameters."""
    translator = _Translator(is_sqlite(session.get_bind()), filter_crs)
    try:
        return translator.boolean(tree), translator.values
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - a tree the translation did not foresee is the filter's fault
        raise _error(f"Filtre non pris en charge ({type(exc).__name__}).") from None


def geometry_condition(sqlite: bool, geometry: BaseGeometry) -> tuple[ColumnElement, dict[str, Any]]:
    """The venue's drawn point within a CRS84 geometry (the OGC ``bbox`` given in another CRS), and the values
    of its parameters."""
    translator = _Translator(sqlite, crs.CRS84, prefix="within")
    return translator.spatial("s_intersects", geometry), translator.values


def bounds(tree: Any, filter_crs: str = crs.CRS84) -> tuple[float, float, float, float] | None:
    """A box (CRS84) holding every venue that a (valid) CQL2 JSON tree lets through, or ``None`` when it does not
    bound them: a spatial predicate that holds only where the point meets its literal bounds them by the literal's
    box; ``AND`` by the smallest of its parts' boxes, ``OR`` by the union of its parts' when each has one."""
    if not isinstance(tree, dict) or not isinstance(tree.get("args"), list):
        return None
    op, args = str(tree.get("op", "")).lower(), tree["args"]
    if op in _MEETING and len(args) == 2 and args[0] == {"property": "geometry"}:
        return sql_bounds(_Translator(False, filter_crs).geometry_literal(args[1]))
    if op not in ("and", "or"):
        return None
    found = [bounds(arg, filter_crs) for arg in args]
    if op == "and" and any(found):
        return min((box_ for box_ in found if box_), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    if op == "or" and found and all(found):
        return (min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found),
                max(b[3] for b in found))
    return None


def spatial_only(tree: Any) -> bool:
    """Whether a CQL2 JSON tree states spatial predicates on the venue's geometry alone (with AND and OR)."""
    if not isinstance(tree, dict) or not isinstance(tree.get("args"), list):
        return False
    op, args = str(tree.get("op", "")).lower(), tree["args"]
    if op in ("and", "or"):
        return all(spatial_only(arg) for arg in args)
    return op in SPATIAL and bool(args) and args[0] == {"property": "geometry"}


def sql_bounds(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """The bounds of a geometry as the SQL reads it: from its WKT, whose coordinates are rounded (``0.1 + 0.2`` is
    written ``0.3``), so that a point on its side is within them."""
    return shapely.from_wkt(geometry.wkt).bounds


def skeleton(tree: Any) -> str:
    """What the SQL of a filter depends on: the tree with its literal values masked (their kinds and the lengths
    of lists kept), so that filters differing only by values share their statements."""
    def mask(node: Any) -> Any:
        if isinstance(node, dict):
            if "property" in node:
                return node
            if "op" in node:
                return {"op": node["op"], "args": [mask(arg) for arg in node.get("args", [])]}
            return sorted(node)  # a literal object: date, timestamp, bbox, GeoJSON geometry
        if isinstance(node, list):
            return [mask(item) for item in node]
        if isinstance(node, bool):  # TRUE and FALSE are conditions of their own, not values
            return node
        return type(node).__name__
    return json.dumps(mask(tree), sort_keys=True)


def _error(message: str) -> InvalidInput:
    return InvalidInput.on("filter", message)


class _Translator:
    """A CQL2 JSON tree to SQLAlchemy, checking the types of what it compares."""

    def __init__(self, sqlite: bool, filter_crs: str, prefix: str = "cql") -> None:
        self.sqlite = sqlite
        self.filter_crs = filter_crs
        self.prefix = prefix
        self.values: dict[str, Any] = {}

    def _bind(self, value: Any, type_, expanding: bool = False) -> ColumnElement:
        """A named parameter for ``value`` (``cql_0``, ``cql_1``… in the order of the tree: the same names for
        every filter of the same skeleton, whose statements are then built once)."""
        name = f"{self.prefix}_{len(self.values)}"
        self.values[name] = value
        return bindparam(name, type_=type_, expanding=expanding)

    # --- conditions -----------------------------------------------------------------------------------------

    def boolean(self, node: Any) -> ColumnElement:
        """The condition a node states: TRUE, FALSE, or an operator of ``_CONDITIONS`` and its arguments."""
        if node is True:
            return true()
        if node is False:
            return false()
        if not isinstance(node, dict) or "op" not in node:
            raise _error(f"Une condition est attendue, pas {_show(node)}.")
        op, args = node["op"].lower(), node.get("args", [])
        handler = _CONDITIONS.get(op)
        if handler is None:
            raise _error(f"Opérateur non pris en charge : {node['op']}.")
        return handler(self, op, args)

    def _and_or(self, op: str, args: list) -> ColumnElement:
        """AND or OR of conditions."""
        parts = [self.boolean(arg) for arg in args]
        return and_(*parts) if op == "and" else or_(*parts)

    def _not(self, op: str, args: list) -> ColumnElement:
        """NOT of one condition."""
        return not_(self.boolean(_one(args, op)))

    def _comparison_node(self, op: str, args: list) -> ColumnElement:
        """=, <>, <, <=, >, >= of two arguments."""
        return self.comparison(op, *_two(args, op))

    def _like_node(self, op: str, args: list) -> ColumnElement:
        """LIKE of a value and a pattern."""
        return self.like(*_two(args, op))

    def _between(self, op: str, args: list) -> ColumnElement:
        """BETWEEN of a value and two bounds of its type, which must be ordered."""
        if len(args) != 3:
            raise _error("BETWEEN : une valeur et deux bornes.")
        value, kind = self.value(args[0])
        where = f"« {_name(args[0])} BETWEEN … »"
        low, high = self.typed(args[1], kind, where), self.typed(args[2], kind, where)
        _ordered(kind, "BETWEEN")
        return value.between(low, high)

    def _in(self, op: str, args: list) -> ColumnElement:
        """IN of a value and a non-empty list of its type."""
        value, options = _two(args, op)
        expression, kind = self.value(value)
        if not isinstance(options, list) or not options:
            raise _error("IN : une liste de valeurs entre parenthèses.")
        return expression.in_([self.typed(option, kind, f"« {_name(value)} IN (…) »") for option in options])

    def _isnull(self, op: str, args: list) -> ColumnElement:
        """IS NULL of one value."""
        return self.is_null(_one(args, op))

    def _spatial_node(self, op: str, args: list) -> ColumnElement:
        """S_… of the venue's geometry and a geometry literal."""
        target, literal_geometry = _two(args, op)
        if target != {"property": "geometry"}:
            raise _error(f"{op.upper()} porte sur la propriété geometry.")
        return self.spatial(op, self.geometry_literal(literal_geometry))

    def _array_node(self, op: str, args: list) -> ColumnElement:
        """A_… of a list property and a list of texts."""
        return self.array(op, *_two(args, op))

    def _accenti(self, op: str, args: list) -> ColumnElement:
        """ACCENTI, refused with a hint."""
        raise _error("ACCENTI n'est pas pris en charge (CASEI l'est).")

    def comparison(self, op: str, left: Any, right: Any) -> ColumnElement:
        if _is_literal(left) and not _is_literal(right):
            left, right, op = right, left, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        expression, kind = self.value(left)
        if kind in (ARRAY_, GEOMETRY):
            raise _error(f"{_name(left)} : une liste ou une géométrie se compare par A_… ou S_….")
        if op not in ("=", "<>"):
            _ordered(kind, op)
        return getattr(expression, COMPARISONS[op])(self.typed(right, kind, f"« {_name(left)} {op} … »"))

    def like(self, value: Any, pattern: Any) -> ColumnElement:
        expression, kind = self.value(value)
        if kind != STRING:
            raise _error(f"LIKE s'applique à du texte, pas à {_name(value)}.")
        folded = isinstance(pattern, dict) and pattern.get("op", "").lower() == "casei"
        text = _one(pattern["args"], "casei") if folded else pattern
        if not isinstance(text, str):
            raise _error("LIKE : le motif est un texte entre apostrophes (% : n'importe quelle suite, _ : un "
                         "caractère).")
        if (len(text) - len(text.rstrip("\\"))) % 2:
            raise _error("LIKE : le motif finit par un \\ qui n'échappe rien (\\\\ pour un \\ littéral).")
        if self.sqlite:  # SQLite's LIKE ignores case: GLOB keeps CQL2's case-sensitive match
            glob = self._bind(_glob(text), Text)
            return expression.op("GLOB", is_comparison=True)(func.unicode_lower(glob) if folded else glob)
        like = self._bind(text, Text)
        return expression.like(func.lower(like) if folded else like, escape="\\")

    def is_null(self, value: Any) -> ColumnElement:
        expression, kind = self.value(value)
        if kind == ARRAY_:  # an empty list says nothing either
            return or_(expression.is_(None), self._length(expression) == 0)
        return expression.is_(None)

    def spatial(self, op: str, geometry: BaseGeometry) -> ColumnElement:
        literal_sql = spatial.from_wkt(self._bind(geometry.wkt, Text))
        predicate = getattr(func, SPATIAL[op])(PublicVenue.geom, literal_sql)
        if not self.sqlite:
            return predicate
        predicate = predicate == 1  # SpatiaLite answers 1, 0 or -1
        if op in _MEETING:  # through the R*Tree: SpatiaLite never uses it by itself
            frame = spatial.from_wkt(self._bind(box(*geometry.bounds).wkt, Text))
            return and_(spatial.rtree_filter(PublicVenue.seq, "public_venues", "geom", frame), predicate)
        return predicate

    def array(self, op: str, left: Any, right: Any) -> ColumnElement:
        if not (isinstance(left, dict) and QUERYABLES.get(left.get("property")) == ARRAY_):
            raise _error(f"{op.upper()} : une propriété liste d'abord ({', '.join(_arrays())}).")
        column = getattr(PublicVenue, left["property"])
        if not isinstance(right, list) or not all(isinstance(item, str) for item in right):
            raise _error(f"{op.upper()} : une liste de textes entre parenthèses, ex. ('Gratuit', 'Payant').")
        if self.sqlite:
            return self._array_sqlite(op, column, right)
        document = type_coerce(column, JSONB)
        values = self._bind(right, JSONB)
        if op == "a_equals":
            return document == values
        if op == "a_contains":
            return document.contains(values)
        if op == "a_containedby":
            return document.contained_by(values)
        return document.has_any(self._bind(right, ARRAY(Text)))

    def _array_sqlite(self, op: str, column, values: list[str]) -> ColumnElement:
        def holding(value: str) -> ColumnElement:
            each = func.json_each(column).table_valued("value")
            return exists(select(literal(1)).select_from(each).where(each.c.value == self._bind(value, Text)))

        if op == "a_equals":
            return func.json(column) == func.json(self._bind(json.dumps(values), Text))
        if op == "a_contains":
            return and_(true(), *[holding(value) for value in values])
        if op == "a_overlaps":
            return or_(false(), *[holding(value) for value in values])
        each = func.json_each(column).table_valued("value")  # a_containedby: no element outside the list
        outside = ~each.c.value.in_(self._bind(values, Text, expanding=True))
        return ~exists(select(literal(1)).select_from(each).where(outside))

    def _length(self, expression: ColumnElement) -> ColumnElement:
        if self.sqlite:
            return func.json_array_length(expression)
        return func.jsonb_array_length(type_coerce(expression, JSONB))

    # --- values -----------------------------------------------------------------------------------------------

    def value(self, node: Any) -> tuple[ColumnElement, str]:
        """A property (or CASEI of one) and its type."""
        if isinstance(node, dict) and "property" in node:
            name = node["property"]
            kind = QUERYABLES.get(name)
            if kind is None:
                raise _error(f"Propriété inconnue : {name} (voir /queryables).")
            return (PublicVenue.geom if kind == GEOMETRY else getattr(PublicVenue, name)), kind
        if isinstance(node, dict) and node.get("op", "").lower() == "casei":
            expression, kind = self.value(_one(node["args"], "casei"))
            if kind != STRING:
                raise _error("CASEI s'applique à du texte.")
            return func.unicode_lower(expression) if self.sqlite else func.lower(expression), STRING
        raise _error(f"Une propriété est attendue, pas {_show(node)}.")

    def typed(self, node: Any, kind: str, where: str) -> ColumnElement:
        """A literal, or a property (or CASEI of either), of type ``kind``."""
        if isinstance(node, dict) and node.get("op", "").lower() == "casei" and \
                isinstance(_one(node["args"], "casei"), str):
            if kind != STRING:
                raise _error("CASEI s'applique à du texte.")
            value = self._bind(node["args"][0], Text)
            return func.unicode_lower(value) if self.sqlite else func.lower(value)
        if not _is_literal(node):
            expression, other = self.value(node)
            if other != kind:
                raise _error(f"{where} : {_name(node)} n'est pas du même type ({_french(other)} et "
                             f"{_french(kind)}).")
            return expression
        if kind == STRING and isinstance(node, str):
            return self._bind(node, Text)
        if kind == NUMBER and isinstance(node, (int, float)) and not isinstance(node, bool):
            return self._bind(float(node), Float)
        if kind == DATE and isinstance(node, dict) and "date" in node:
            try:
                return self._bind(date.fromisoformat(node["date"]), Date)
            except ValueError:
                raise _error(f"Date invalide : {node['date']}.") from None
        raise _error(f"{where} : {_show(node)} n'est pas {_french(kind, article=True)}"
                     + (" (DATE('2025-01-31'))" if kind == DATE else "") + ".")

    def geometry_literal(self, node: Any) -> BaseGeometry:
        """A geometry literal (GeoJSON geometry or BBOX) in ``filter_crs``, as CRS84."""
        try:
            if isinstance(node, dict) and "bbox" in node and all(isinstance(n, (int, float)) for n in node["bbox"]):
                numbers = node["bbox"]
                geometry = box(*(numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])))
            elif isinstance(node, dict) and "type" in node:
                geometry = shape(node)
            else:
                raise ValueError
        except (ValueError, TypeError, IndexError, AttributeError):
            raise _error(f"Une géométrie est attendue (WKT, GeoJSON ou BBOX), pas {_show(node)}.") from None
        if geometry.is_empty or not geometry.is_valid:
            raise _error("Géométrie vide ou invalide (un polygone ne doit pas se recouper).")
        try:
            return crs.to_crs84(self.filter_crs, geometry)
        except ValueError as exc:
            raise _error(f"Géométrie {exc}") from None


#: Each operator a condition may have, with the translator's method that reads its arguments.
_CONDITIONS: dict[str, Callable[[_Translator, str, list], ColumnElement]] = {
    "and": _Translator._and_or, "or": _Translator._and_or, "not": _Translator._not,
    **dict.fromkeys(COMPARISONS, _Translator._comparison_node), "like": _Translator._like_node,
    "between": _Translator._between, "in": _Translator._in, "isnull": _Translator._isnull,
    **dict.fromkeys(SPATIAL, _Translator._spatial_node), **dict.fromkeys(ARRAYS, _Translator._array_node),
    "accenti": _Translator._accenti,
}

def _glob(pattern: str) -> str:
    """A CQL2 LIKE pattern (``%``, ``_``, ``\\`` escaping) as a SQLite GLOB pattern."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(f"[{char}]" if char in "*?[" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


def _is_literal(node: Any) -> bool:
    return not (isinstance(node, dict) and ("property" in node or "op" in node))


def _one(args: list, op: str) -> Any:
    if len(args) != 1:
        raise _error(f"{op.upper()} prend un argument.")
    return args[0]


def _two(args: list, op: str) -> tuple[Any, Any]:
    if len(args) != 2:
        raise _error(f"{op.upper()} prend deux arguments.")
    return args[0], args[1]


def _ordered(kind: str, op: str) -> None:
    if kind not in (STRING, NUMBER, DATE):
        raise _error(f"{op} compare des textes, des nombres ou des dates.")


def _arrays() -> list[str]:
    return [name for name, kind in QUERYABLES.items() if kind == ARRAY_]


def _name(node: Any) -> str:
    """How a person wrote a property (or CASEI of one) in CQL2 text."""
    if isinstance(node, dict) and "property" in node:
        return node["property"]
    if isinstance(node, dict) and str(node.get("op", "")).lower() == "casei" and len(node.get("args", [])) == 1:
        return f"CASEI({_name(node['args'][0])})"
    return _show(node)


def _show(node: Any) -> str:
    text = json.dumps(node, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _french(kind: str, article: bool = False) -> str:
    words = {STRING: ("texte", "un texte"), NUMBER: ("nombre", "un nombre"), DATE: ("date", "une date"),
             ARRAY_: ("liste", "une liste"), GEOMETRY: ("géométrie", "une géométrie")}[kind]
    return words[1] if article else words[0]



def parameter(name: str, text: str) -> dict[str, Any]:
    """A queryable given as a query parameter (``services=Gratuit``), as a CQL2 JSON condition: equality, or
    for a list, holding the value; ``InvalidInput`` on ``name`` for a value of the wrong type."""
    kind = QUERYABLES[name]
    target = {"property": name}
    if kind == ARRAY_:
        return {"op": "a_contains", "args": [target, [text]]}
    if kind == NUMBER:
        try:
            value: Any = float(text)
        except ValueError:
            raise InvalidInput.on(name, f"« {text} » n'est pas un nombre.") from None
    elif kind == DATE:
        try:
            value = {"date": date.fromisoformat(text).isoformat()}
        except ValueError:
            raise InvalidInput.on(name, f"« {text} » n'est pas une date (2025-01-31).") from None
    else:
        value = text
    return {"op": "=", "args": [target, value]}
