"""Mentoring (Đại sứ số): mentors, their mentees, and the flags that keep nobody forgotten.

See docs/mentoring.md. Phase 1: models, rules (``services``), who may do what (``access``)
and the scoped loaders (``queries``); the pages and meetings come in phase 2.
"""
