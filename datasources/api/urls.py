from datasources.api.views import DataSourceViewSet
from rivergen.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("data-sources", DataSourceViewSet, basename="data-source")

urlpatterns = router.urls
