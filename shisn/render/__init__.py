"""Pictures and documents from data: charts, maps, text alternatives, reports, briefs, templates."""
