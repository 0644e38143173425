"""Scheduling: courses, venues, classes (cohorts), their sessions and enrolment."""
