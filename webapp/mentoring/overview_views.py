"""The organiser's view of the mentoring network (/mentoring), the weekly digest and the
Excel export."""

from flask import Blueprint

bp = Blueprint("mentoring_overview", __name__)
