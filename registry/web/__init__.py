"""Flask layer: app factory, API blueprints, pages. Thin: every operation is a call to registry.services."""
