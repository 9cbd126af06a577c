"""Users' roles, permissions and site isolation (core: no I/O).

One table (:data:`PERMISSIONS`) says which role may do what; a
:class:`Principal` (user, role, assigned sites) is checked against it by
:func:`require` before any use case runs. The accounts themselves (password
hashes, tokens) live in the registry; the web application and the API only
pass the authenticated principal down.
"""

from ._permissions import (
    PERMISSIONS,
    READ_PERMISSIONS,
    AccessDeniedError,
    Permission,
    Principal,
    Role,
    allowed,
    permission_table_markdown,
    require,
    require_sites,
    roles_holding,
)

__all__ = [
    "PERMISSIONS",
    "READ_PERMISSIONS",
    "AccessDeniedError",
    "Permission",
    "Principal",
    "Role",
    "allowed",
    "permission_table_markdown",
    "require",
    "require_sites",
    "roles_holding",
]
