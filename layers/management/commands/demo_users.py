"""`manage.py demo_users`: one demo account per role and a demo system token (local use only)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from blueprint import tokens
from blueprint.models import AccessProfile, ApiToken, Interface, Role
from layers.models import Project

# Documented in the README and printed by `make run`; never created on an HTTPS deployment.
DEMO_USERS = [
    # username, password, role, districts, organisation. The passwords meet the password rules
    # (blueprint/passwords.py); the three administrators enrol a TOTP app at their first sign-in.
    ("sysadmin", "Layers-Demo-2025", Role.SYSTEM_ADMIN, [], ""),
    ("secadmin", "Accounts-Demo-2025", Role.SECURITY_ADMIN, [], ""),
    ("auditor", "Records-Demo-2025", Role.AUDIT_ADMIN, [], ""),
    ("city", "Jining-Plan-2025", Role.CITY_PLANNER, [], ""),
    ("county", "Rencheng-Plan-2025", Role.COUNTY_PLANNER, ["370811"], ""),
    ("applicant", "Builder-Demo-2025", Role.APPLICANT, [], ""),
]
DEMO_TOKEN = "bp_demo-approval-system-token"


class Command(BaseCommand):
    requires_system_checks: list = []
    help = "创建演示账号 (create one demo account per role and a demo token; local use only)."

    def add_arguments(self, parser):
        parser.add_argument("--applicant-organisation", default="",
                            help="the demo applicant's organisation (default: the first demo project's)")

    def handle(self, *args, applicant_organisation="", **options):
        if settings.HTTPS:
            raise CommandError("演示账号只用于本机演示，HTTPS 部署下拒绝创建。 (Demo accounts are for local"
                               " demos only: refused with HTTPS=true.)")
        organisation = applicant_organisation or _first_applicant()
        for username, password, role, districts, org in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            if not user.check_password(password):
                validate_password(password, user)
                user.set_password(password)
            user.is_superuser = False  # grants nothing in the policy; the role does
            user.save()
            AccessProfile.objects.update_or_create(user=user, defaults={
                "role": role, "districts": districts,
                "organisation": organisation if role == Role.APPLICANT else org})
            self.stdout.write(f"  {username:10} {password:20} {role}")
        if not ApiToken.objects.filter(name="demo-approval-system").exists():
            tokens.create_token("demo-approval-system", interfaces=list(Interface.values),
                                expires_at=timezone.now() + timedelta(days=365), raw=DEMO_TOKEN,
                                created_by="demo_users")
        self.stdout.write(f"  token      {DEMO_TOKEN}  (all interfaces, public layers)")


def _first_applicant() -> str:
    return Project.objects.order_by("code").values_list("applicant", flat=True).first() or ""
