"""Use cases of the registry. No Flask here: the API, the pages and the CLI call these functions."""

from registry.services.journal import journal  # noqa: F401  (installs the journal's append-only guards)
from registry.services.qualification import read_model  # noqa: F401  (keeps the public read model in step with writes)
