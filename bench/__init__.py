"""Benchmarks: commands that measure and print figures; never tests."""
