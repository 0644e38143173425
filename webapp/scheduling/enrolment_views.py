"""Enrolment of learners, the waiting list and sign-up requests (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("enrolment", __name__)
