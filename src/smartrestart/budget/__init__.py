"""Restart budgets: OTP-style restart policies turned into systemd drop-ins."""
