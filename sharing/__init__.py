"""Sharing and reuse (共享复用): consent, lookup, plans, annotated copies, data checks."""
