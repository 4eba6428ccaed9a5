"""Tests for guardrails."""
