"""The platform's CrossGuard policy pack (run by the Pulumi CLI from this directory)."""
