"""Equation strings and the functions that build Brian2 objects from them.

spiking : balanced spiking networks (Bourdoukan & Denève 2015)
"""
