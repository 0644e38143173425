"""(being written)"""

from flask import Blueprint

import webapp.checkin.models  # noqa: F401

bp = Blueprint("checkin_cards", __name__)
