"""Benchmarks that print figures (see README.md); an app only so that its stock-viewflow flow can be stored."""
