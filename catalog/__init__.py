"""The catalog (目录): organizations, certificate types, data resources, items, one-things, search."""
