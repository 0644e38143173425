"""Public schedule (no personal data), printable notice and calendar feeds (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("public", __name__)
