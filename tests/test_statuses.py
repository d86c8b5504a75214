"""Every code the registry stores has its French words, and every journal action the code records has its sentence:
read from the source (``ast``), so a new action without a sentence fails here rather than on a person's page."""

from __future__ import annotations

import ast
import importlib.util
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from registry import statuses
from registry.statuses import Coded, JournalAction
from registry.wording import journal_sentence

ROOT = Path(__file__).resolve().parents[1]
VOCABULARIES = [v for v in vars(statuses).values() if isinstance(v, type) and issubclass(v, Coded) and v is not Coded]


def _patterns(node: ast.expr) -> list[str] | None:
    """The actions an argument can be: a text, an f-string's pattern (``qualification\\..+``), either branch of
    a conditional; ``None`` for a name (a parameter: its callers say)."""
    if isinstance(node, ast.Constant):
        return [re.escape(node.value)]
    if isinstance(node, ast.JoinedStr):
        return ["".join(re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in node.values)]
    if isinstance(node, ast.IfExp):
        return [*(_patterns(node.body) or []), *(_patterns(node.orelse) or [])]
    return None


def recorded_actions() -> list[tuple[str, str]]:
    """``(where, pattern)`` for each action passed to ``journal.record`` or ``journal.entry_row``; when it is a
    parameter of the function around the call, the texts that function's callers pass."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted((ROOT / "registry").rglob("*.py"))}
    calls = [(path, node) for path, tree in trees.items() for node in ast.walk(tree) if isinstance(node, ast.Call)]
    found, seen = [], set()
    for path, tree in trees.items():
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] + [tree]:
            for node in ast.walk(function):
                if id(node) in seen or not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("record", "entry_row") and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "journal"):
                    continue
                seen.add(id(node))
                action = node.args[2 if node.func.attr == "record" else 1]
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                patterns = _patterns(action)
                if patterns is None and isinstance(action, ast.Name) and isinstance(function, ast.FunctionDef):
                    names = [a.arg for a in function.args.args]
                    if action.id not in names:
                        continue
                    index = names.index(action.id)
                    patterns = []
                    for _, call in calls:
                        callee = (call.func.attr if isinstance(call.func, ast.Attribute)
                                  else getattr(call.func, "id", ""))
                        if callee == function.name and len(call.args) > index:
                            patterns += _patterns(call.args[index]) or []
                found.extend((where, pattern) for pattern in patterns or [ast.unparse(action)])
    return sorted(set(found))


def test_the_source_records_journal_actions():
    assert len(recorded_actions()) >= 30


@pytest.mark.parametrize(("where", "pattern"), recorded_actions(), ids=lambda v: v)
def test_every_recorded_action_is_a_journal_action(where, pattern):
    assert any(re.fullmatch(pattern, action) for action in JournalAction), \
        f"{where} : action « {pattern} » sans phrase dans registry.statuses.JournalAction"


@pytest.mark.parametrize("action", list(JournalAction), ids=str)
def test_every_journal_action_reads_as_a_french_sentence(action):
    entry = SimpleNamespace(actor="operateur:camille", action=action.value, before={}, after={},
                            at=datetime(2026, 12, 7, tzinfo=UTC))
    text = journal_sentence(entry, {}, {}).text
    assert action.value not in text and "non répertoriée" not in text and not re.search(r"\w_\w|\w\.\w", text), text


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_every_code_has_french_words_and_no_two_codes_share_them(vocabulary):
    labels = vocabulary.labels()
    assert all(label and label != code and "_" not in label for code, label in labels.items()), labels
    assert len(set(labels.values())) == len(labels)



def migration_checks() -> dict:
    spec = importlib.util.spec_from_file_location(
        "status_checks", ROOT / "registry" / "migrations" / "versions" / "0030_status_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHECKS


def test_the_migration_checks_each_vocabulary_as_the_code_has_it():
    vocabularies = {("venues", "publication_status"): statuses.PublicationStatus,
                    ("qualifications", "status"): statuses.QualificationStatus,
                    ("venue_reports", "status"): statuses.ReportStatus,
                    ("venue_proposals", "status"): statuses.ProposalStatus,
                    ("campaign_invitations", "status"): statuses.InvitationStatus}
    assert {key: set(values) for key, values in migration_checks().items()} == \
        {key: set(vocabulary) for key, vocabulary in vocabularies.items()}


def test_the_database_refuses_a_status_outside_its_vocabulary(app, session, create_venue):
    """Whatever writes the row (a service, a script, a hand in ``psql``), the database refuses a publication
    status the registry does not know, and takes every one it knows."""
    venue_id = create_venue().get_json()["id"]
    pk = session.scalar(text("SELECT pk FROM venues"))
    assert venue_id
    for status in statuses.PublicationStatus:
        session.execute(text("UPDATE venues SET publication_status = :s WHERE pk = :pk"), {"s": status, "pk": pk})
        session.commit()
    with pytest.raises(DBAPIError, match="ck_venues_publication_status"):
        session.execute(text("UPDATE venues SET publication_status = 'publie' WHERE pk = :pk"), {"pk": pk})
    session.rollback()


#: Vocabularies of ``registry.statuses`` a bare string may not stand for in the code.
_STATUS_WORDS = {member.value for vocabulary in (statuses.PublicationStatus, statuses.QualificationStatus,
                                                 statuses.ReportStatus, statuses.ProposalStatus,
                                                 statuses.InvitationStatus) for member in vocabulary}
#: Where such words are another vocabulary's, with the reason.
_OTHER_VOCABULARIES = {
    "registry/services/passes": "the pass's own decisions and states (programmes.DECISIONS, redemption verdicts)",
    "registry/statuses.py": "the vocabularies themselves",
    "registry/migrations": "a migration keeps the words of its day",
}


def _bare_statuses(path: Path) -> list[str]:
    """Comparisons, keyword arguments and assignments of a status (a name holding ``status``) to a bare word of
    the vocabularies."""
    found = []

    def bare(node) -> bool:
        return isinstance(node, ast.Constant) and node.value in _STATUS_WORDS

    def bare_in(node) -> bool:
        return bare(node) or (isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(map(bare, node.elts)))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(bare_in, sides)) and any("status" in ast.unparse(side).lower() for side in sides):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.keyword) and node.arg and "status" in node.arg and bare(node.value):
            found.append(f"{node.value.lineno}: {node.arg}={node.value.value!r}")
        elif isinstance(node, ast.Assign) and bare(node.value) and any(
                "status" in ast.unparse(target).lower() for target in node.targets):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".in_") and any(
                map(bare_in, node.args)) and "status" in ast.unparse(node.func).lower():
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "registry").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_statuses_are_named_by_their_vocabulary_not_by_bare_words(path):
    """``PublicationStatus.PUBLISHED``, never ``"published"``: a typo is an error at import, and a reader finds
    every place a status is used from its vocabulary."""
    where = str(path.relative_to(ROOT))
    if where.startswith(tuple(_OTHER_VOCABULARIES)):
        pytest.skip(next(reason for prefix, reason in _OTHER_VOCABULARIES.items() if where.startswith(prefix)))
    assert not _bare_statuses(path), f"{where} : {_bare_statuses(path)}"
