from rest_framework import permissions

from assistants.api.auth import ApiKeyUser
from assistants.models import ApiKey


class HasOrganization(permissions.BasePermission):
    """A private key of an organization: full access to that organization's resources."""

    message = "This endpoint needs a private API key."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not isinstance(user, ApiKeyUser):
            return False
        if user.api_key.kind == ApiKey.Kind.PUBLIC:
            return getattr(view, "public_key_allowed", False) and request.method == "POST"
        return True
