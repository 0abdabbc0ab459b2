"""REST API /api/v1: personal tokens, resources from plugins, OpenAPI, problem+json."""
