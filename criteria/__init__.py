"""Built-in criteria sets, each a plugin found through the ``registry`` entry-point group."""
