from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="workspace_name_unique_per_organization",
                violation_error_message="A workspace with this name already exists in this organization.",
            ),
            # Target of the data sources' (workspace, organization) foreign key, which
            # keeps every data source in its workspace's organization.
            models.UniqueConstraint(fields=["id", "organization"], name="workspace_id_organization_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Moving a workspace would move its data sources into another tenant.
        if self.pk is not None:
            stored_organization_id = (
                Workspace.objects.filter(pk=self.pk).values_list("organization_id", flat=True).first()
            )
            if stored_organization_id is not None and stored_organization_id != self.organization_id:
                raise ValidationError({"organization": "A workspace cannot move to another organization."})


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"],
                name="membership_unique_per_user_and_organization",
                violation_error_message="This user is already a member of this organization.",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"
