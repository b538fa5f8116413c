from organizations.api.views import WorkspaceViewSet
from rivergen.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("workspaces", WorkspaceViewSet, basename="workspace")

urlpatterns = router.urls
