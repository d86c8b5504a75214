"""Use cases of the registry. No Flask here: the API, the pages and the CLI call these functions."""

from registry.services import journal  # noqa: F401  (installs the journal's append-only guards)
