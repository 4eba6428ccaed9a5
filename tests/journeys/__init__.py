"""Tests for journeys."""
