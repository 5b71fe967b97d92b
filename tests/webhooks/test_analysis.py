"""The report's summary and structured data, asked of the (simulated) model; what goes wrong is
said in ``analysis_errors`` and the report still goes out."""

from __future__ import annotations

import pytest

from tests.factories import AssistantFactory
from webhooks.analysis import analysis_settings, analyze_report, wants_analysis

SCHEMA = {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}
REPORT = {"transcript": [{"role": "user", "content": "Can you call me back tomorrow?"}]}


def analyzed(org, analysis) -> dict:
    assistant = AssistantFactory(organization=org, metadata={"analysis": analysis})
    return analyze_report(str(assistant.id), REPORT)


def test_summary_and_structured_data(org, providers):
    providers.script_chat({"text": "A callback was requested."}, {"text": '{"topic": "callback"}'})
    result = analyzed(org, {"summary_prompt": "Summarize.", "structured_data_schema": SCHEMA})
    assert result == {
        "summary": "A callback was requested.",
        "structured_data": {"topic": "callback"},
        "analysis_errors": [],
    }
    summary_request, extract_request = providers.requests(provider="openai")
    assert "Can you call me back tomorrow?" in str(summary_request)
    assert '"required": ["topic"]' in str(extract_request)


def test_an_answer_off_the_schema_is_reported(org, providers):
    providers.script_chat({"text": '{"subject": "callback"}'})
    result = analyzed(org, {"structured_data_schema": SCHEMA})
    assert result["structured_data"] is None and result["summary"] is None
    assert result["analysis_errors"] == [
        "structured data does not match the schema: 'topic' is a required property"
    ]


def test_an_answer_that_is_not_json_is_reported(org, providers):
    providers.script_chat({"text": "Sure! The topic is callbacks."})
    result = analyzed(org, {"structured_data_schema": SCHEMA})
    assert result["analysis_errors"] == ["structured data: the model's answer is not JSON"]


def test_a_failing_model_is_reported(org, providers):
    providers.script_chat({"fault": "503", "times": 3})
    result = analyzed(org, {"summary_prompt": "Summarize."})
    assert result["summary"] is None
    assert result["analysis_errors"] and result["analysis_errors"][0].startswith("openai: ")


@pytest.mark.parametrize(
    "analysis,error",
    [
        ("summarize please", "metadata.analysis must be an object"),
        ({"summary_prompt": 5}, "summary_prompt must be a string"),
        ({"structured_data_schema": []}, "structured_data_schema must be an object"),
        ({"structured_data_schema": {"type": "nonsense"}}, "is not a JSON schema"),
    ],
)
def test_malformed_settings_are_reported_without_calling_the_model(org, providers, analysis, error):
    result = analyzed(org, analysis)
    assert error in result["analysis_errors"][0]
    assert not providers.requests(provider="openai")
    with pytest.raises(ValueError):
        analysis_settings({"analysis": analysis})


def test_who_wants_an_analysis(org):
    assert not wants_analysis(AssistantFactory(organization=org))
    assert not wants_analysis(AssistantFactory(organization=org, metadata={"analysis": {}}))
    asked = {"analysis": {"summary_prompt": "Summarize."}}
    assert wants_analysis(AssistantFactory(organization=org, metadata=asked))
