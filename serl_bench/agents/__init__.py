"""LLM agents: the action format (think, then one action in tags), its parser, and `LLMAgent`."""

from ._format import ACTION_STOP, FORMATS, GENERIC, ParsedAction, PromptFormat, PromptStyle, format_for, parse_action
from ._llm import LLMAgent, llm_settings

__all__ = ["ACTION_STOP", "FORMATS", "GENERIC", "LLMAgent", "ParsedAction", "PromptFormat", "PromptStyle", "format_for",
           "llm_settings", "parse_action"]
