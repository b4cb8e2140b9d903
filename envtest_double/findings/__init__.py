"""docs/findings.md: what the suite reports on the clean sandbox of each revision, generated from the runs."""
