"""Ways around each rule of the platform pack, one file per rule: every one must be caught."""
