"""一件事 applications: one form, one intake, one task per item routed to its department, automatic
decisions where the rules allow, unified issuance, commitments followed up, ratings (docs/applications.md)."""
