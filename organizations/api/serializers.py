from rest_framework import serializers

from organizations.models import Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    organization_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "organization_id", "name", "created_at", "updated_at"]
        read_only_fields = fields
