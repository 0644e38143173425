"""User accounts."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.permissions import MANAGERS, Role
from webapp.timeutil import UTCDateTime


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-case log-in name.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    #: The commune the user works in; None only for province-wide users.
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id"))
    #: For village leads: the only village they see and edit.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    #: Sees every commune of the deployment (a province roll-out).
    province_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Unguessable handle of the user's personal calendar feed (.ics), made on first use.
    calendar_token: Mapped[str | None] = mapped_column(String(43), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The client address of the last sign-in (IPv6 by its /64), shown to managers.
    last_login_address: Mapped[str | None] = mapped_column(String(64))
    #: Written into every session cookie at sign-in and checked on every request: raising it
    #: ends every session issued before (sign-out, new password, disabling).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Who disabled the account, when and why (None while it is active).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))

    commune = relationship("Commune", lazy="joined")
    village = relationship("Village", lazy="joined")
    disabled_by = relationship("User", remote_side="User.id", lazy="select")

    def get_id(self) -> str:
        """The session's handle: id and session generation (Flask-Login's alternative
        tokens), so a cookie issued before the generation was raised loads no user."""
        return f"{self.id}:{self.session_generation or 0}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_manager(self) -> bool:
        """Admins and organisers manage people and users."""
        return self.role in MANAGERS

    def works_in(self, commune_id: int | None) -> bool:
        """True when the user works in that commune (province-wide users work in all)."""
        return self.province_wide or (commune_id is not None and self.commune_id == commune_id)

    @property
    def is_village_lead(self) -> bool:
        return self.role == Role.VILLAGE_LEAD

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username} {self.role}>"
