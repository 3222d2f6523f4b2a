"""The catalog (目录): organizations, certificate types, data resources, items, one-things, search.

Also home of the two things every domain package shares: the declarative ``Base`` with its
constraint naming convention (``kernel.db``) and the domain error hierarchy (``kernel.errors``).
They live here because catalog is the lowest layer that knows the database.
"""
