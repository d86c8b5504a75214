"""Public API of the data-exchange plugins: what an importer reads and yields, what an exporter writes.

An importer recognises a file from its ``Sample`` and turns it into ``SourceRow`` values named as the national
standard v1.0 names its fields; the core repairs, validates and stores them (``registry.services.exchange.imports``).
An exporter writes ``ExportRecord`` values to a text stream. Both are returned by the ``registry_importers``
and ``registry_exporters`` hooks. A zone reader turns a file of priority zones into ``ZoneRecord`` values
(``registry_zone_readers``). See ``docs/plugins.md``.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO, TypeVar

import ijson
import orjson

from registry.wording import french_number

__all__ = ["Importer", "Exporter", "Sample", "Input", "SourceRow", "Note", "ExportRecord", "ZoneReader", "ZoneRecord",
           "ZoneFields", "split_items", "column_key", "coordinate", "shown", "rejected_row", "SafeCsvWriter",
           "write_json_array", "known_column", "column_reader", "NOT_AN_OBJECT", "DEPARTEMENT_COLUMNS",
           "HINT_DEPARTEMENT"]

T = TypeVar("T")
SAMPLE_BYTES = 64 * 1024
#: Spreadsheets read with python-calamine (first sheet, first row as header): Excel and OpenDocument.
SPREADSHEET_SUFFIXES = ("xlsx", "xlsm", "xls", "ods")
SPREADSHEET = "tableur"
DELIMITERS = (",", ";", "\t")
#: How many JSON records detection looks at (within the first ``SAMPLE_BYTES``).
SAMPLE_RECORDS = 50


#: Names of a column that gives the département (code or name), normalised by ``column_key``: read as a hint
#: (``SourceRow.departement``), never stored.
DEPARTEMENT_COLUMNS = frozenset({
    "departement", "dept", "dep", "code_departement", "code_dept", "code_dep", "insee_dep", "cod_dep", "num_dep",
    "num_departement", "numero_departement", "nom_departement", "departement_code", "departement_nom", "lib_dep",
    "libelle_departement"})
#: How the import report names a column read as the département hint.
HINT_DEPARTEMENT = "indice département (départage les communes du code postal)"

#: How close a misspelt column name must be to a known one to be read as it (edits: insertions, deletions,
#: substitutions, transpositions), and how long it must be for a slip to be told from another word.
SLIP_EDITS = 2
SLIP_MIN_LENGTH = 6


def known_column(key: str, known: Iterable[str]) -> str | None:
    """The known column name a normalised ``key`` is a slip of (``conditions_access`` → ``conditions_acces``):
    the only one within ``SLIP_EDITS`` edits, with the same digits (``adresse_2`` is another column, not a slip
    of ``adresse``); ``None`` otherwise."""
    from rapidfuzz.distance import DamerauLevenshtein

    if len(key) < SLIP_MIN_LENGTH:
        return None
    digits = re.sub(r"\D", "", key)
    close = [name for name in known if len(name) >= SLIP_MIN_LENGTH and re.sub(r"\D", "", name) == digits
             and DamerauLevenshtein.distance(key, name, score_cutoff=SLIP_EDITS) <= SLIP_EDITS]
    return close[0] if len(close) == 1 else None


def column_reader(by_name: Mapping[str, T]) -> Callable[[str], tuple[T | None, str | None]]:
    """How an importer reads its source's column names: a function giving, for a column name, the target its
    normalised name (``column_key``) has in ``by_name`` — several names may lead to one target (an importer's names
    over the years: ``lib_fs``, ``lib_france_services``) — or the target of the known name it is a slip of, with the
    report's reason (« nom proche de … »); ``(None, None)`` for a column it does not know. Kept per name."""

    @lru_cache(maxsize=1024)
    def read(name: str) -> tuple[T | None, str | None]:
        key = column_key(name)
        if key in by_name:
            return by_name[key], None
        slip = _alias(key, by_name)
        return (None, None) if slip is None else (by_name[slip], f"nom proche de {slip} : lue comme {slip}")

    return read


def _alias(key: str, by_name: Mapping[str, Any]) -> str | None:
    """The closest known name a normalised ``key`` is a slip of, when every close name leads to the same target;
    ``None`` otherwise."""
    from rapidfuzz.distance import DamerauLevenshtein

    if len(key) < SLIP_MIN_LENGTH or key in by_name:
        return None
    digits = re.sub(r"\D", "", key)
    close = sorted((DamerauLevenshtein.distance(key, name, score_cutoff=SLIP_EDITS), name) for name in by_name
                   if len(name) >= SLIP_MIN_LENGTH and re.sub(r"\D", "", name) == digits)
    close = [(distance, name) for distance, name in close if distance <= SLIP_EDITS]
    return close[0][1] if close and len({str(by_name[name]) for _, name in close}) == 1 else None


def column_key(name: str) -> str:
    """A column name as mappings compare it: no case, accents, spaces, dots or dashes
    (``COMPLEMENT.D.ADRESSE`` → ``complement_d_adresse``, ``Code postal`` → ``code_postal``)."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return "_".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))


@dataclass(frozen=True)
class Sample:
    """What importers see of a file to recognise it: its name, its first characters and their shape."""

    filename: str
    text: str
    header: tuple[str, ...] = ()
    #: The keys of the first ``SAMPLE_RECORDS`` JSON records (properties of GeoJSON features), as written.
    json_keys: frozenset[str] = frozenset()
    json_shape: str | None = None  # "array", "features" (GeoJSON FeatureCollection) or "object"
    #: Whether the file is a spreadsheet (``header`` is then its first row).
    spreadsheet: bool = False

    @property
    def columns(self) -> frozenset[str]:
        """The sample's column names (CSV header or JSON keys), normalised by ``column_key``."""
        return frozenset(column_key(name) for name in (self.header or self.json_keys))

    @property
    def suffix(self) -> str:
        """The file's extension, lower case, without the dot (``csv``, ``json``, ``geojson``)."""
        return Path(self.filename).suffix.lower().lstrip(".")


@dataclass
class Note:
    """Something said about one value of one row: a repair, a value set aside, or why the row is rejected."""

    field: str
    value: Any
    message: str


@dataclass
class SourceRow:
    """One venue as read from a file: values under the standard v1.0 names (``id`` is the source's own id).

    Multi-valued fields are lists of strings; other values are strings or numbers as read. ``facts`` are audit
    facts the file states (e.g. ``accepts_pass_numerique``); ``notes`` say what the importer converted;
    ``set_aside`` names the source values it could not read (each is reported, none is stored); ``errors``
    reject the row. ``departement`` is the département another column gives (a code or a name, as written): not
    stored, a hint that places a venue whose postcode serves several communes (reported when it contradicts them);
    ``other_departements`` the ``(column, value)`` of further columns that write one otherwise: the importer reports
    those naming another département (« 03 » and « Allier » name the same one).
    """

    line: int
    values: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)
    set_aside: list[Note] = field(default_factory=list)
    departement: Any = None
    other_departements: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class ColumnUse:
    """How one source column is read: the field its values go to (``None``: not read, with ``reason``), how
    many non-empty values it held and the first of them."""

    column: str
    field: str | None
    reason: str = ""
    values: int = 0
    example: Any = None


SHOWN_MAX = 200


def shown(value: Any) -> str:
    """A structured value (object, list) as short JSON text for a report line, however deep it is nested."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: nested deeper than 254 levels, or not JSON at all
        text = "(valeur imbriquée trop profondément pour être montrée)"
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 1] + "…"


def rejected_row(line: int, message: str, field: str = "") -> SourceRow:
    """A row that cannot be read at all (e.g. a JSON element that is not an object), rejected with ``message``."""
    return SourceRow(line, {}, errors=[Note(field, None, message)])


NOT_AN_OBJECT = "Élément du tableau JSON qui n'est pas un objet."


class Input:
    """A file to import, with its detected encoding and CSV delimiter (``UnicodeError`` if it is not text)."""

    def __init__(self, path: Path, filename: str | None = None, encoding: str | None = None,
                 delimiter: str | None = None) -> None:
        self.path = Path(path)
        self.filename = filename or self.path.name
        #: How each source column was read, filled by the importer through ``tally`` as it reads.
        self.columns: dict[str, ColumnUse] = {}
        if _is_spreadsheet(self.path, self.filename):
            self.encoding, self.delimiter = SPREADSHEET, None
            header = next(self._sheet_rows(), [])
            self.sample = Sample(self.filename, "", header=tuple(_unique_names([_cell_text(c) for c in header])),
                                 spreadsheet=True)
            return
        self.encoding = encoding or detect_encoding(self.path)
        with self.path.open(encoding=self.encoding, newline="") as stream:
            text = stream.read(SAMPLE_BYTES)
        text = text.lstrip("\ufeff")
        self.delimiter = delimiter or detect_delimiter(text)
        self.sample = _sample(self.filename, text, self.delimiter)

    def tally(self, record: dict[str, Any], fields: dict[str, str | None],
              reasons: dict[str, str] | None = None, reason: str = "") -> None:
        """Count the non-empty values of ``record`` per column: ``fields`` names the field each column is read
        into (absent or ``None``: not read; ``reasons`` or ``reason`` says why; ``reasons`` may also say how a read
        column was understood, e.g. a misspelt name). The import reports every column not read, with its number
        of values and an example, and every read column with a reason."""
        columns = self.columns
        for column, value in record.items():
            if value.__class__ is str:
                if not value or value.isspace():
                    continue
            elif value is None or value == [] or value == {}:
                continue
            use = columns.get(column)
            if use is None:
                target = fields.get(column)
                why = (reasons or {}).get(column, "" if target else reason)
                use = columns[column] = ColumnUse(column, target, why, 0, value)
            use.values += 1

    def open_text(self) -> TextIO:
        """The file as text (byte-order mark skipped)."""
        return self.path.open(encoding="utf-8-sig" if self.encoding == "utf-8" else self.encoding, newline="")

    def csv_records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """``(line, {column: cell})`` for each data row; ``line`` is the row's first line in the file."""
        with self.open_text() as stream:
            reader = csv.reader(stream, delimiter=self.delimiter)
            try:
                header = _unique_names([name.strip() for name in next(reader, [])])
                last = reader.line_num
                for cells in reader:
                    line, last = last + 1, reader.line_num
                    if not any(cell.strip() for cell in cells):
                        continue
                    record = dict(zip(header, cells, strict=False))
                    for index in range(len(header), len(cells)):  # cells past the header: kept, unnamed
                        record[f"(colonne {index + 1} sans en-tête)"] = cells[index]
                    yield line, record
            except csv.Error as exc:  # a NUL byte, a field past the size limit: the file cannot be read on
                raise ValueError(f"CSV illisible ligne {reader.line_num} : {exc}") from None

    def records(self) -> Iterator[tuple[int, Any]]:
        """``(line or position, record)`` of any container: CSV rows, spreadsheet rows (their row number), JSON
        array items, GeoJSON features (their properties, with the feature's ``geometry`` under that key). A JSON
        element that is not an object is yielded as it is (the importer rejects it)."""
        if self.sample.spreadsheet:
            yield from self.spreadsheet_records()
        elif self.sample.json_shape == "features":
            for position, feature in self.json_items("features.item"):
                if isinstance(feature, dict) and isinstance(feature.get("properties") or {}, dict):
                    record = dict(feature.get("properties") or {})
                    if feature.get("geometry") is not None:
                        record.setdefault("geometry", feature["geometry"])
                    yield position, record
                else:
                    yield position, feature
        elif self.sample.json_shape:
            yield from self.json_items()
        else:
            yield from self.csv_records()

    def spreadsheet_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(row number, {column: cell})`` of the first sheet's rows under its header row (blank rows skipped)."""
        rows = self._sheet_rows()
        header = list(self.sample.header)
        next(rows, None)
        for number, cells in enumerate(rows, start=2):
            if not any(_cell_text(cell) for cell in cells):
                continue
            record = {name: ("" if cell is None else cell) for name, cell in zip(header, cells, strict=False)}
            for index in range(len(header), len(cells)):
                if _cell_text(cells[index]):
                    record[f"(colonne {index + 1} sans en-tête)"] = cells[index]
            yield number, record

    def _sheet_rows(self) -> Iterator[list[Any]]:
        from python_calamine import CalamineError, CalamineWorkbook

        check_spreadsheet_bounds(self.path)
        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            yield from workbook.get_sheet_by_index(0).iter_rows()
        except (CalamineError, OSError, ValueError, IndexError) as exc:
            raise ValueError(f"tableur illisible ({type(exc).__name__} : {exc})") from None

    def json_items(self, prefix: str = "item") -> Iterator[tuple[int, Any]]:
        """``(position, item)`` for each element under ``prefix`` (ijson syntax), streamed; positions from 1."""
        position = 0
        with self.path.open("rb") if self.encoding == "utf-8" else self.open_text() as stream:
            if self.encoding == "utf-8" and stream.read(3) != codecs.BOM_UTF8:
                stream.seek(0)
            reader = stream if self.encoding == "utf-8" else _Utf8Reader(stream)
            try:
                for position, item in enumerate(ijson.items(reader, prefix, use_float=True), start=1):
                    yield position, item
            except ijson.JSONError as exc:
                raise ValueError(f"JSON invalide après l'élément {position} : {str(exc).splitlines()[0]}") from None


def _is_spreadsheet(path: Path, filename: str) -> bool:
    """An Excel or OpenDocument file, from its name or its first bytes (a ZIP or OLE container)."""
    if Path(filename).suffix.lower().lstrip(".") in SPREADSHEET_SUFFIXES:
        return True
    with path.open("rb") as stream:
        head = stream.read(8)
    return head.startswith(b"\xd0\xcf\x11\xe0") or (head.startswith(b"PK\x03\x04") and _zip_is_spreadsheet(path))


#: What a spreadsheet may hold before it is read: its reader lays a sheet out as a dense table, so one cell at
#: ``XFD1048576`` in a 2 KB file asked for 512 GB, and its members' unpacked size bounds the reading's memory.
MAX_SHEET_ROWS = 200_000
MAX_SHEET_COLUMNS = 1_000
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
_CELL_REFERENCE = re.compile(rb'<c[^>]*? r="([A-Z]{1,3})([0-9]{1,7})"')
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]{1,3}[0-9]{1,7}:([A-Z]{1,3})([0-9]{1,7})"')


def check_spreadsheet_bounds(path: Path) -> None:
    """Refuse (``ValueError``, in French) a spreadsheet whose unpacked size or sheets' extent (the cells an Excel
    file places, read from its XML without laying them out) exceed what an import reads."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return  # an old binary Excel file (OLE): bounded by the upload's size
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValueError(f"tableur trop grand : {unpacked // 1024 // 1024} Mo une fois décompressé "
                             f"({MAX_UNPACKED_BYTES // 1024 // 1024} Mo au plus)")
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                _check_sheet_extent(archive, name)


def _check_sheet_extent(archive, name: str) -> None:
    rows = columns = 0
    tail = b""
    with archive.open(name) as stream:
        while chunk := stream.read(1 << 20):
            text = tail + chunk
            for letters, number in (*_DIMENSION.findall(text), *_CELL_REFERENCE.findall(text)):
                columns = max(columns, _column_number(letters))
                rows = max(rows, int(number))
            if rows > MAX_SHEET_ROWS or columns > MAX_SHEET_COLUMNS:
                raise ValueError(f"tableur trop étendu : sa feuille va jusqu'à la ligne {rows} et la colonne "
                                 f"{columns} ({french_number(MAX_SHEET_ROWS)} lignes et "
                                 f"{french_number(MAX_SHEET_COLUMNS)} colonnes au plus)")
            tail = text[-64:]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _zip_is_spreadsheet(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return "xl/workbook.xml" in names or "content.xml" in names


def _cell_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _unique_names(header: list[str]) -> list[str]:
    """Header names made unique (``nom``, ``nom (2)``): a repeated column must not hide the other's values."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


class _Utf8Reader:
    """A text stream read as UTF-8 bytes (ijson reads bytes)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size).encode("utf-8")


#: Byte-order marks of the encodings read from them alone (UTF-32 before UTF-16: their marks begin alike).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
#: The 8-bit encodings of files in the wild (Windows, then old Macs' Mac Roman), told apart by the French letters
#: each decoding gives (a Mac Roman « é » read as Windows-1252 is « Ž »); Latin-1 reads anything.
_EIGHT_BIT = ("cp1252", "mac_roman")
_FRENCH_LETTERS = frozenset("éèàçêôîûùâëïüœ’")


def detect_encoding(path: Path) -> str:
    """The file's encoding: the one its byte-order mark names (UTF-16, UTF-32), else ``utf-8`` when the whole
    file decodes as UTF-8, else the 8-bit encoding whose reading gives the most French letters (``cp1252``,
    ``mac_roman``), else ``latin-1``. Read in chunks."""
    with path.open("rb") as stream:
        head = stream.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as stream:
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _eight_bit(path)
    return "utf-8"


def _eight_bit(path: Path) -> str:
    with path.open("rb") as stream:
        sample = stream.read(1 << 20)
    scores = []
    for encoding in _EIGHT_BIT:
        text = sample.decode(encoding, errors="replace")
        scores.append((sum(1 for char in text if char in _FRENCH_LETTERS) - 10 * text.count("\ufffd"), encoding))
    best = max(scores)[1]
    return best if _decodes(path, best) else "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as stream:
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    return True


def detect_delimiter(text: str) -> str:
    """The CSV delimiter of the header line: the most frequent of ``,`` ``;`` and tab outside quotes."""
    header = first_line(text)
    unquoted = "".join(part for index, part in enumerate(header.split('"')) if index % 2 == 0)
    return max(DELIMITERS, key=unquoted.count)


_LINE_END = re.compile(r"\r\n|\r|\n")


def first_line(text: str) -> str:
    """The first line of a text, whatever its line ends (``\\r\\n``, ``\\n``, or old Macs' ``\\r`` alone)."""
    return _LINE_END.split(text, 1)[0]


def _sample(filename: str, text: str, delimiter: str) -> Sample:
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        shape, keys = _json_head(text)
        return Sample(filename, text, json_keys=keys, json_shape=shape)
    header = next(csv.reader([first_line(text)], delimiter=delimiter), [])
    return Sample(filename, text, header=tuple(name.strip() for name in header))


def _json_head(text: str) -> tuple[str | None, frozenset[str]]:
    """The shape of a JSON document and the keys of its first ``SAMPLE_RECORDS`` records, from its beginning."""
    stripped = text.lstrip()
    prefixes = ("item", "features.item.properties", "item.properties")
    found: dict[str, set[str]] = {prefix: set() for prefix in prefixes}
    is_collection = False
    records = 0
    try:
        for prefix, event, value in ijson.parse(stripped.encode("utf-8")):
            if prefix == "type" and value == "FeatureCollection":
                is_collection = True
            if event == "map_key" and prefix in found:
                found[prefix].add(value)
            if event == "end_map" and prefix in ("item", "features.item"):
                records += 1
                if records >= SAMPLE_RECORDS:
                    break
    except (ijson.JSONError, ijson.IncompleteJSONError):
        pass
    if is_collection or found["features.item.properties"]:
        return "features", frozenset(found["features.item.properties"])
    if stripped.startswith("["):
        return "array", frozenset(found["item"])
    return "object", frozenset()


class Importer(ABC):
    """Reads one format. ``name`` is what ``--format`` takes; ``title`` is shown to users (French)."""

    name: str = ""
    title: str = ""
    #: The source (``origin``) of every row when the user gives no ``--source`` (else each row's ``source``).
    default_source: str | None = None
    #: Whether the rows' ``id`` are France services matricules (the national list's importer, a profile mapping
    #: the matricule): the duplicate finder pairs such venues by matricule, whatever the dataset's name.
    matricule_ids: bool = False
    #: The importer whose datasets this one completes (``None``: it reads venues): its rows add to venues
    #: already in the registry, found by their ``id`` (a data·inclusion service's ``structure_id``), and create
    #: none (``registry.services.exchange.import_completions``).
    completes: str | None = None

    @abstractmethod
    def matches(self, sample: Sample) -> int:
        """How well this importer recognises the file: 0 not at all; the highest score wins."""

    @abstractmethod
    def rows(self, source: Input) -> Iterator[SourceRow]:
        """The file's rows, streamed (never the whole file in memory)."""


@dataclass(frozen=True)
class ExportRecord:
    """A venue to export: the standard v1.0 fields (``id`` is the registry's id; lists as lists), the
    labels it holds today (criteria set ids) and the day the registry first recorded it (ISO), the date a format
    that requires ``date_maj`` writes when the source gave none (``dated``)."""

    values: dict[str, Any]
    labels: tuple[str, ...] = ()
    recorded_on: str | None = None

    def dated(self) -> dict[str, Any]:
        """``values`` with a ``date_maj`` for formats that require one: the source's, else ``recorded_on``."""
        if self.values.get("date_maj") or not self.recorded_on:
            return self.values
        return {**self.values, "date_maj": self.recorded_on}


class Exporter(ABC):
    """Writes one format. ``name`` is what ``registry export --format`` takes."""

    name: str = ""
    title: str = ""
    media_type: str = "text/plain"
    extension: str = "txt"

    @abstractmethod
    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        """Write every record to ``out``, streaming."""


LIST_SEPARATORS = re.compile(r"[|;]")


def split_items(value: Any) -> list[str]:
    """A multi-valued cell of either version of the standard as a list: ``|`` (v1.0) and ``;`` (v0.1) both
    separate; a JSON list is kept; blanks dropped."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item).strip() for item in value if item is not None and str(item).strip()]
    return [item.strip() for item in LIST_SEPARATORS.split(str(value)) if item.strip()]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s.,]+$")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula: text starting with ``=`` ``+`` ``-`` ``@``, a
    tab or a carriage return gets a leading apostrophe (OWASP's advice), unless it is a plain number
    (``+33565123456``, ``-1.5``: nothing to run, and the national standard's phone pattern stays met)."""
    if isinstance(value, str) and value[:1] in _FORMULA_START and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose cells go through ``spreadsheet_safe``: every CSV the registry writes uses it."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose cells go through ``spreadsheet_safe``."""

    def _dict_to_list(self, rowdict):
        return [spreadsheet_safe(cell) for cell in super()._dict_to_list(rowdict)]


def coordinate(value: Any) -> float | None:
    """A coordinate as written (decimal comma accepted), to 6 decimals, for comparing two sources of a point;
    ``None`` when it is not a number."""
    try:
        return round(float(str(value).replace(",", ".")), 6)
    except ValueError:
        return None


def write_json_array(items: Iterable[Any], out: TextIO) -> None:
    """A JSON array written item by item (one per line), never held whole in memory."""
    out.write("[")
    for index, item in enumerate(items):
        out.write(",\n" if index else "\n")
        out.write(json.dumps(item, ensure_ascii=False, default=str))
    out.write("\n]\n")


@dataclass(frozen=True)
class ZoneFields:
    """Where a file of zones holds each zone's code, name and population (the user's ``--*-field`` options)."""

    code: str = "code"
    name: str = "nom"
    population: str | None = None


@dataclass
class ZoneRecord:
    """A priority zone as its file gives it; the core checks and stores it (``registry.services.territories.zones``).

    ``place`` names where it was read (« ligne 3 », « entité 2 ») for messages; ``communes`` are commune codes
    as given (a former code is read as its commune today); ``geometry`` a GeoJSON geometry, kept as given;
    ``population`` the file's value, unchecked (``None``: not given)."""

    place: str
    code: str
    name: str
    communes: list[str] = field(default_factory=list)
    geometry: Any = None
    population: Any = None


class ZoneReader(ABC):
    """Reads one format of priority-zone files (lists of communes, polygons). ``name`` is what
    ``registry zones import --format`` takes; ``title`` is shown to users (French)."""

    name: str = ""
    title: str = ""

    @abstractmethod
    def matches(self, path: Path) -> int:
        """How well this reader recognises the file (from its name or first bytes): 0 not at all; the highest
        score wins."""

    @abstractmethod
    def read(self, path: Path, kind: str, fields: ZoneFields) -> tuple[list[ZoneRecord], list[str]]:
        """The file's zones and the names of the columns or properties it holds that are not kept. A file that
        cannot be read raises ``registry.errors.InvalidInput`` naming the file, the line and the field."""
