"""smartrestart.generate"""
