"""Deciding on arrival: the cleaning and rule core shared by the stream scorer and the API."""
