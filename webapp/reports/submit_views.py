"""Periodic reports: submitting a period's figures, the list, a report, reopening by the province; populations and indicator targets."""

from flask import Blueprint

bp = Blueprint("reports_submit", __name__)
