"""GET /api/v1/usage/: the organization's usage and cost over a range of days, per day or per
assistant. Money follows integrations/pricing.py: US dollars as six-decimal strings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from assistants.api.fields import StrictSerializer
from assistants.api.views_base import OrganizationScopedAPIView, validated
from sessions.models import Session
from sessions.selectors import usage_report, usage_report_totals

MAX_DAYS = 366
DEFAULT_DAYS = 30


class UsageQuerySerializer(StrictSerializer):
    # "from" is a keyword in Python: the field is declared through the class namespace.
    locals()["from"] = serializers.DateField(
        required=False,
        help_text=f"First day (UTC, YYYY-MM-DD), included. Default: {DEFAULT_DAYS - 1} days "
        "before `to`.",
    )
    to = serializers.DateField(
        required=False, help_text="Last day (UTC, YYYY-MM-DD), included. Default: today."
    )
    group_by = serializers.ChoiceField(
        choices=["day", "assistant"], default="day", help_text="One row per day or per assistant."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        last = attrs.get("to") or timezone.now().date()
        first = attrs.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if last >= date.max:  # the range ends at midnight after `to`
            raise serializers.ValidationError({"to": f"Must be before {date.max}."})
        if first > last:
            raise serializers.ValidationError({"from": "Must be on or before `to`."})
        if (last - first).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"to": f"At most {MAX_DAYS} days after `from`."})
        return {**attrs, "from": first, "to": last}


class CostSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="Always USD.")
    llm = serializers.CharField(help_text="Decimal string, six places, e.g. 0.000228.")
    tts = serializers.CharField(help_text="Decimal string, six places.")
    stt = serializers.CharField(help_text="Decimal string, six places.")
    total = serializers.CharField(help_text="llm + tts + stt.")


class UsageFiguresSerializer(serializers.Serializer):
    sessions = serializers.IntegerField(help_text="Sessions created in the group.")
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    tts_characters = serializers.IntegerField()
    stt_audio_seconds = serializers.FloatField()
    cost = CostSerializer()


class UsageGroupSerializer(UsageFiguresSerializer):
    day = serializers.DateField(required=False, help_text="With group_by=day.")
    assistant_id = serializers.UUIDField(required=False, help_text="With group_by=assistant.")
    assistant_name = serializers.CharField(required=False, help_text="With group_by=assistant.")


class UsageReportSerializer(serializers.Serializer):
    # renders {"from", "to", "group_by", "totals", "groups"}
    locals()["from"] = serializers.DateField()
    to = serializers.DateField()
    group_by = serializers.CharField()
    totals = UsageFiguresSerializer()
    groups = UsageGroupSerializer(many=True, help_text="Only groups with sessions, in order.")


class UsageView(OrganizationScopedAPIView[Session]):
    model = Session
    pagination_class = None

    @extend_schema(
        operation_id="usage_retrieve",
        summary="Usage and cost",
        description="The organization's usage (sessions, tokens, characters, audio seconds) and "
        f"cost over at most {MAX_DAYS} days, per day or per assistant. A session counts on the "
        "day (UTC) it was created; its cost is priced when each message is stored.",
        parameters=[UsageQuerySerializer],
        responses=UsageReportSerializer,
    )
    def get(self, request):
        query = validated(UsageQuerySerializer, request.query_params)
        groups = usage_report(
            sessions=self.get_queryset(),
            first_day=query["from"],
            last_day=query["to"],
            group_by=query["group_by"],
        )
        report = {**query, "totals": usage_report_totals(groups), "groups": groups}
        return Response(UsageReportSerializer(report).data)
