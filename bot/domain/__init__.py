"""What the campaign talks about (volunteers, tasks, incidents, broadcasts, messages), as
frozen types with real UTC datetimes and enums. Services and handlers use these; storage
converts its rows into them at its edge. Nothing here imports the rest of Relais.
"""
