"""The systemd side: one small interface, one implementation on pystemd."""
