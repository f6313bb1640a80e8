"""LLM agents: the action format (think, then one action in tags), its parser, and `LLMAgent`."""

from ._format import FORMATS, GENERIC, ParsedAction, PromptFormat, PromptStyle, format_for, parse_action
from ._llm import LLMAgent, llm_settings

__all__ = ["FORMATS", "GENERIC", "LLMAgent", "ParsedAction", "PromptFormat", "PromptStyle", "format_for",
           "llm_settings", "parse_action"]
