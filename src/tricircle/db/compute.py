"""Queries on what the Nova gateway itself keeps: flavors with their access lists, and keypairs.

Functions take a Session and never commit; callers own the transaction. Errors carry Nova's
wording; the gateway maps NotFoundError to 404 and ConflictError to 409.
"""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tricircle.db.models import Flavor, FlavorAccess, Keypair


class NotFoundError(LookupError):
    """A flavor, keypair or access entry the caller named does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConflictError(Exception):
    """The row clashes with an existing one (same ID or name, access already granted)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FlavorNotFound(NotFoundError):
    """No flavor with this ID (or not visible to the caller)."""

    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")
        self.flavor_id = flavor_id


class KeypairNotFound(NotFoundError):
    """The user has no keypair of this name."""

    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


def _flush(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(message) from exc


def list_flavors(
    session: Session, project_id: str | None, is_public: bool | None = None
) -> list[Flavor]:
    """Flavors ordered by ID; ``project_id`` None sees all, else public ones and its own."""
    query = select(Flavor).order_by(Flavor.id)
    if project_id is not None:
        allowed = select(FlavorAccess.flavor_id).where(FlavorAccess.project_id == project_id)
        query = query.where(or_(Flavor.is_public.is_(True), Flavor.id.in_(allowed)))
    if is_public is not None:
        query = query.where(Flavor.is_public.is_(is_public))
    return list(session.scalars(query))


def get_flavor(session: Session, flavor_id: str, project_id: str | None) -> Flavor:
    """The flavor if visible to ``project_id`` (None: anyone's); raises FlavorNotFound."""
    flavor = session.get(Flavor, flavor_id)
    if flavor is None:
        raise FlavorNotFound(flavor_id)
    if project_id is not None and not flavor.is_public:
        if session.get(FlavorAccess, (flavor_id, project_id)) is None:
            raise FlavorNotFound(flavor_id)
    return flavor


def create_flavor(session: Session, flavor: Flavor) -> Flavor:
    """Add a flavor; Conflict if its ID or name is taken."""
    if session.get(Flavor, flavor.id) is not None:
        raise ConflictError(f"Flavor with ID {flavor.id} already exists.")
    if session.scalars(select(Flavor).where(Flavor.name == flavor.name)).first() is not None:
        raise ConflictError(f"Flavor with name {flavor.name} already exists.")
    session.add(flavor)
    _flush(session, f"Flavor {flavor.id} already exists.")
    return flavor


def delete_flavor(session: Session, flavor_id: str) -> None:
    """Remove a flavor; raises FlavorNotFound."""
    session.delete(get_flavor(session, flavor_id, None))
    session.flush()


def flavor_projects(session: Session, flavor_id: str) -> list[str]:
    """Projects with access to a flavor."""
    query = select(FlavorAccess.project_id).where(FlavorAccess.flavor_id == flavor_id)
    return list(session.scalars(query.order_by(FlavorAccess.project_id)))


def add_flavor_access(session: Session, flavor_id: str, project_id: str) -> None:
    """Let ``project_id`` use a flavor; Conflict if it already can."""
    if session.get(FlavorAccess, (flavor_id, project_id)) is not None:
        raise ConflictError(
            f"Flavor access already exists for flavor {flavor_id} and project {project_id} "
            "combination."
        )
    session.add(FlavorAccess(flavor_id=flavor_id, project_id=project_id))
    _flush(session, f"Flavor access for {project_id} already exists.")


def remove_flavor_access(session: Session, flavor_id: str, project_id: str) -> None:
    """Stop ``project_id`` using a flavor; NotFound if it had no access."""
    result = session.execute(
        delete(FlavorAccess).where(
            FlavorAccess.flavor_id == flavor_id, FlavorAccess.project_id == project_id
        )
    )
    if not result.rowcount:
        raise NotFoundError(f"Flavor access not found for {flavor_id} / {project_id} combination.")


def list_keypairs(session: Session, user_id: str) -> list[Keypair]:
    """A user's keypairs by name."""
    query = select(Keypair).where(Keypair.user_id == user_id).order_by(Keypair.name)
    return list(session.scalars(query))


def count_keypairs(session: Session, user_id: str) -> int:
    """How many keypairs a user holds."""
    query = select(func.count()).select_from(Keypair).where(Keypair.user_id == user_id)
    return int(session.scalar(query) or 0)


def get_keypair(session: Session, user_id: str, name: str) -> Keypair:
    """A user's keypair by name; raises KeypairNotFound."""
    query = select(Keypair).where(Keypair.user_id == user_id, Keypair.name == name)
    keypair = session.scalars(query).one_or_none()
    if keypair is None:
        raise KeypairNotFound(name, user_id)
    return keypair


def create_keypair(session: Session, keypair: Keypair) -> Keypair:
    """Add a keypair; Conflict (Nova's message) if the user has one of that name."""
    message = f"Key pair '{keypair.name}' already exists."
    query = select(Keypair).where(Keypair.user_id == keypair.user_id, Keypair.name == keypair.name)
    if session.scalars(query).first() is not None:
        raise ConflictError(message)
    session.add(keypair)
    _flush(session, message)
    return keypair


def delete_keypair(session: Session, keypair: Keypair) -> None:
    """Remove a keypair."""
    session.delete(keypair)
    session.flush()
