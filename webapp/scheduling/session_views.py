"""Sessions of a class: one, or a series with preview; edit and cancel (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("sessions", __name__)
