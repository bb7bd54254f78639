"""Tests of the public page, its open data and donation tracing."""
