"""HTTP API, web pages, CLI, settings and wiring: the only package that knows HTTP."""
