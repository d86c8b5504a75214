"""Use cases of the registry. No Flask here: the API, the pages and the CLI call these functions."""
