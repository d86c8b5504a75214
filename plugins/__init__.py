"""Built-in format and integration plugins, found through the ``registry`` entry points like third-party ones.

- ``ban``: address geocoding with the Base Adresse Nationale (off unless ``REGISTRY_BAN_URL`` is set).
"""
