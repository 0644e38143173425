"""Courses, venues and classes (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("scheduling", __name__)

from webapp.scheduling import models as _models  # noqa: E402,F401  (placeholder: tables known)
