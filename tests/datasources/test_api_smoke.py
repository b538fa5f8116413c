from tests.conftest import DATA_SOURCES_URL, assert_success
from tests.factories import DataSourceFactory


def test_list_returns_the_organizations_data_sources(admin_client_api, workspace):
    source = DataSourceFactory(workspace=workspace)
    data = assert_success(admin_client_api.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    assert [item["id"] for item in data["items"]] == [source.id]
