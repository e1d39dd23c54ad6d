from rest_framework.permissions import BasePermission

from peerly.api.exceptions import AccessDenied


class IsActiveMember(BasePermission):
    """Any signed-in, active user (authentication already refused deleted users)."""

    def has_permission(self, request, view) -> bool:
        return request.user is not None


class IsOrgAdmin(IsActiveMember):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.is_org_admin:
            raise AccessDenied()
        return True


class CanModerate(IsActiveMember):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.can_moderate:
            raise AccessDenied()
        return True
