"""The OpenID Connect backend: portal users are matched by their subject and start as applicants."""

from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from blueprint.models import AccessProfile, Role

__all__ = ["PortalOIDCBackend"]


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """Portal users sign in as applicants by default; an administrator gives them other roles."""

    def filter_users_by_claims(self, claims):
        subject = claims.get("sub")
        return self.UserModel.objects.filter(username=f"oidc:{subject}") if subject else \
            self.UserModel.objects.none()

    def get_username(self, claims):
        return f"oidc:{claims['sub']}"

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(self.get_username(claims), email=claims.get("email", ""))
        user.first_name = str(claims.get("name", ""))[:150]
        user.save(update_fields=["first_name"])
        AccessProfile.objects.create(user=user, role=Role.APPLICANT,
                                     organisation=str(claims.get("org_name", ""))[:300])
        return user
