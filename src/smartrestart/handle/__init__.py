"""smartrestart.handle"""
