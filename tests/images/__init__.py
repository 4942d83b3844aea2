"""Tests of the platform's container images (`make images`)."""
