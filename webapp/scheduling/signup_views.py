"""The public class page where people ask to join (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("signup", __name__)
