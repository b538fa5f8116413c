from organizations.api.serializers import WorkspaceSerializer
from organizations.models import Workspace
from rivergen.api.viewsets import ListModelMixin, OrganizationScopedViewSet, RetrieveModelMixin


class WorkspaceViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    """Workspaces of the caller's current organization (read-only), by name."""

    queryset = Workspace.objects.all()
    serializer_class = WorkspaceSerializer
    sort_fields = ("name",)
    default_sort_by = "name"
    default_sort_order = "asc"
