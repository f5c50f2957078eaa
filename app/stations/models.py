"""High-tech parks and service stations: the records applications pick from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation
from app.core import clock
from app.extensions import db
from app.stations.states import StationState


class HighTechPark(db.Model):
    """A provincial high-tech park (高新技术产业园区)."""

    __tablename__ = "high_tech_park"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (CheckConstraint("length(city_code) = 6", name="city_code_length"),)


class Station(db.Model):
    """A society service station (学会服务站) in a park, co-built with a local government."""

    __tablename__ = "station"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("high_tech_park.id"), index=True)
    government_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[StationState] = mapped_column(String(16), default=StationState.PLANNED)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    park: Mapped[HighTechPark] = relationship(lazy="joined")
    government: Mapped[Organisation] = relationship(foreign_keys=[government_id])
    society: Mapped[Organisation] = relationship(foreign_keys=[society_id])

    __table_args__ = (CheckConstraint(StationState.check_sql(), name="state_valid"),)
