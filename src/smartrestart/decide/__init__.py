"""smartrestart.decide"""
