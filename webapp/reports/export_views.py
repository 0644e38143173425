"""Exports of the figures: Excel, CSV, the machine-readable aggregates and the printable A4 page."""

from flask import Blueprint

bp = Blueprint("reports_export", __name__)
