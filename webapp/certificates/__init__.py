"""Completion certificates: issued as immutable snapshots, printed as PDF, verified at /v/<code>."""
