"""The rules of the platform's CrossGuard pack, importable without starting the pack's server."""
