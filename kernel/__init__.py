"""The kernel: what every domain package stands on — domain errors, the declarative base and
session helpers, the acting party (``Actor``) and the clock. It imports nothing of ours."""
