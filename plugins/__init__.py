"""Built-in format and integration plugins (importers, exporters...), found through the ``registry`` entry points.

Empty for now: the national standard, data·inclusion and France services importers and exporters come with the
data exchange work (see the issues).
"""
