"""Meetings: the calendar, agendas, minutes, the route planner, documents and the importer."""
